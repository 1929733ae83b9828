#!/usr/bin/env bash
# Where a real vlcpd's start -> in sync goes (issue 20, perf/RESULTS.md "Scale (issue 20)", "Start
# of a real vlcpd, timed"): a fresh ZooKeeper on loopback (run_scale.sh's zk_start), the model of
# SIZE ports by scale_build, then server 0's OVS in a sandbox with its 100 ports plugged, and vlcpd
# started 3 times (each killed, GAP s, started again: the first a take-over, the next ones restarts
# beside an OVS that had a connection): start -> its switch synced (ioprocessing/status, polled every
# 20 ms), RSS, vlcpd's and ZooKeeper's CPU; vlcpd's own log (LOGLEVEL, info) is kept in $WORK.
# Usage: [BUILD=build/release] [BIN=$BUILD/perf] [LOGLEVEL=info] [GAP=3] perf/scale/start_probe.sh SIZE
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
build=$(cd "${BUILD:-build/release}" && pwd)
bin=${BIN:-$build/perf}
SIZE=${1:-1000}
WORK=$(mktemp -d /tmp/vlcp-start.XXXX)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
zk_4lw() { echo "$1" | nc -w 5 -N 127.0.0.1 "$zk_port" 2>/dev/null; }
eval "$(cat "$here/run_scale.sh" | sed -n '/^zk_start() {/,/^}/p')"
eval "$(cat "$here/real_vlcpd.sh" | sed -n '/^real_ports_covered() {/,/^}/p;/^real_status() {/,/^}/p;/^real_in_sync() {/,/^}/p')"
. "$root/tests/sandbox/lib.sh"
proc_rss_mb() { awk '/^VmRSS:/ {print $2 / 1024}' "/proc/$1/status"; }
cleanup() { sb_down >/dev/null 2>&1; [ -n "${zk_pid:-}" ] && kill "$zk_pid"; }
trap cleanup EXIT
zk_start || exit 1
servers=$((SIZE / 100)); [ $servers -lt 10 ] && servers=10
common=(--zk "127.0.0.1:$zk_port" --root /vlcp --ports "$SIZE" --servers "$servers" --feed watch --sync interest)
"$bin/scale_build" "${common[@]}" > $WORK/build.jsonl || exit 1
tail -1 $WORK/build.jsonl | cut -c1-200
sb_init >/dev/null
mapfile -t ids < <("$bin/scale_build" "${common[@]}" --list-ports 0)
real_bound=${#ids[@]}
args=(); k=0
for id in "${ids[@]}"; do args+=(-- add-port br-int "lp$k" -- set interface "lp$k" type=internal "external_ids:iface-id=$id"); k=$((k+1)); done
sb_ovs_start hv && sb_vsctl hv set Open_vSwitch . external_ids:system-id=s0000 && sb_bridge hv br-int 0000000000000001 &&
  sb_vsctl hv add-port br-int vxlan0 -- set interface vxlan0 type=vxlan options:remote_ip=flow options:local_ip=172.16.0.1 options:key=flow &&
  sb_vsctl hv "${args[@]:1}" >/dev/null || exit 1
real_http=$(sb_free_port)
echo 0 >"$SB_DIR/zk-members"
sb_vlcpd_server_conf "$SB_DIR/hv.conf" hv "server.loglevel = '${LOGLEVEL:-info}'" \
  "module.zookeeperdb.url = 'tcp://127.0.0.1:$zk_port'" "module.httpserver.url = 'tcp://127.0.0.1:$real_http'" \
  "module.metrics.url = ''" "module.zookeeperdb.feed = 'watch'" ${EXTRA:-}
for run in 1 2 3; do
t0=$(date +%s%N)
echo "t0 $(date +%H:%M:%S.%N)"
VLCP_VLCPD=$build/src/vlcpd sb_vlcpd_start hv "$SB_DIR/hv.conf"
echo "started after $((($(date +%s%N) - t0) / 1000000)) ms"
pid=$(sb_vlcpd_pid hv)
while :; do
  now=$((($(date +%s%N) - t0) / 1000000))
  st=$(curl -sf --max-time 5 "http://127.0.0.1:$real_http/ioprocessing/status" | grep -o '"synced":[a-z]*' | head -1)
  if [ "$st" = '"synced":true' ]; then
    echo "$now ms: synced; covered $(real_ports_covered) of $real_bound"
    break
  fi
  [ $now -gt 60000 ] && break
  sleep 0.02
done
curl -sf "http://127.0.0.1:$real_http/ioprocessing/status" | python3 -m json.tool | head -60 > $WORK/status-$run.json
cp "$SB_DIR/vlcpd-hv.log" $WORK/vlcpd-$run.log
echo "rss $(proc_rss_mb $pid) cpu_ms $(awk -v t=$(getconf CLK_TCK) '{sub(/.*\) /, ""); print ($12 + $13) * 1000 / t}' /proc/$pid/stat) zk_cpu_ms $(awk -v t=$(getconf CLK_TCK) '{sub(/.*\) /, ""); print ($12 + $13) * 1000 / t}' /proc/$zk_pid/stat)"
kill $pid; while kill -0 $pid 2>/dev/null; do sleep 0.1; done; sleep ${GAP:-3}; : > "$SB_DIR/vlcpd-hv.log"
sleep 1
done
echo WORK=$WORK
