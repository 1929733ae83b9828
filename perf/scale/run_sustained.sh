#!/usr/bin/env bash
# Sustained port churn on N real nodes (issue 20: "200 create+delete per minute on each of 20 real
# nodes for 10 minutes with no growth of RSS or store"; perf/scale/README.md).
# One ZooKeeper on 127.0.0.1 (its own data dir, stopped by PID), N real vlcpd (root namespace, as
# real_vlcpd.sh runs one), each beside its own OVS in a sandbox namespace (tests/sandbox/lib.sh:
# userspace datapath, br-int, vxlan0 with its own local_ip 172.16.x.y, system-id sK), the defaults
# (interest sync, watch feed) and module.zookeeperdb.compactafter = COMPACT_S. A small shared model
# through server 0's WebAPI: physical network vx (vxlan) and physical port vxlan0, M = 2N/5
# logical networks (server k in networks 2k mod M and 2k+1 mod M: each network on ~5 servers), 2
# standing ports per server and network, plugged on its OVS. Then on every server at once, for T
# minutes, R pairs a minute (paced, at most IN_FLIGHT at once; a loop that falls behind does not
# catch up: done < asked):
# create a logical port through that server's own WebAPI (curl), plug an OVS internal port with
# its iface-id (ofport_request 1000+i), wait for a table-0 flow with that in_port (its switch's
# `ovs-ofctl monitor`), unplug, delete. Every SAMPLE_S seconds: each vlcpd's RSS, fds and CPU,
# each OVS's CPU, ZooKeeper's znodes and data size (mntr), the model's port count; then, after the
# churn, once more past the compaction horizon. sustained_report.py prints the figures.
# Usage: perf/scale/run_sustained.sh [BUILD_DIR]   (root: the sandbox's namespaces)
#   env: N=20 R=200 (pairs/min per server) T=10 (minutes) COMPACT_S=30 SAMPLE_S=30 STANDING=2
#        IN_FLIGHT=4 (pairs in flight per server)
#        OUT=DIR (kept; default /tmp/vlcp-sustained.XXXX)
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build/s20}" && pwd)
N=${N:-20}
R=${R:-200}
T=${T:-10}
compact_s=${COMPACT_S:-30}
sample_s=${SAMPLE_S:-30}
standing=${STANDING:-2}
in_flight=${IN_FLIGHT:-4}
export VLCP_VLCPD=$build/src/vlcpd
[ -x "$VLCP_VLCPD" ] || { echo "no $VLCP_VLCPD (build vlcpd)"; exit 1; }
. "$here/../../tests/sandbox/lib.sh"
WORK=${OUT:-$(mktemp -d /tmp/vlcp-sustained.XXXX)}
mkdir -p "$WORK"
M=$(((2 * N + 4) / 5))
[ "$M" -lt 1 ] && M=1

zk_pid="" sampler_pid=""
loop_pids=() mon_pids=()
cleanup() {
  local p
  sb_stop_pid "$sampler_pid"
  for p in "${loop_pids[@]}"; do sb_stop_pid "$p"; done
  for p in "${mon_pids[@]}"; do sb_stop_pid "$p"; done
  [ -n "${SB_DIR:-}" ] && sb_down
  sb_stop_pid "$zk_pid"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ZooKeeper 3.8 on 127.0.0.1 as run_scale.sh starts it (forceSync=no, every four-letter word).
zk_start() {
  local d=$WORK/zk i
  rm -rf "$d"
  mkdir -p "$d/data"
  zk_port=$(sb_free_port)
  printf '%s\n' tickTime=2000 "dataDir=$d/data" "clientPort=$zk_port" clientPortAddress=127.0.0.1 \
    admin.enableServer=false '4lw.commands.whitelist=*' maxClientCnxns=0 maxSessionTimeout=60000 >"$d/zoo.cfg"
  java -Xms128m -Xmx1g -Dzookeeper.forceSync=no \
    -cp "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar" \
    -Dzookeeper.log.dir="$d" -Dzookeeper.root.logger=WARN,ROLLINGFILE -Dzookeeper.log.file=zookeeper.log \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/zoo.cfg" >"$d/stdout.log" 2>&1 </dev/null &
  zk_pid=$!
  for i in $(seq 600); do
    zk_4lw srvr | grep -q '^Mode: ' && return 0
    sleep 0.1
  done
  echo "ZooKeeper did not start"
  tail -20 "$d/zookeeper.log" "$d/stdout.log"
  return 1
}
zk_4lw() { echo "$1" | nc -w 5 -N 127.0.0.1 "$zk_port" 2>/dev/null; }

ticks() { { sed 's/.*) //' "/proc/$1/stat" | awk '{print $12 + $13}'; } 2>/dev/null || echo null; }
api() { echo "http://127.0.0.1:${https[$1]}"; }
post() {  # post SERVER PATH JSON
  curl -sf -m 20 -o /dev/null -X POST -H 'Content-Type: application/json' -d "$3" "$(api "$1")$2"
}
# The same from the churn loops, without a process: bash's /dev/tcp, HTTP/1.1; true on a 2xx.
# http_post SERVER PATH JSON
http_post() {
  local fd line len=0
  exec {fd}<>"/dev/tcp/127.0.0.1/${https[$1]}" || return 1
  printf 'POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s' \
    "$2" "${#3}" "$3" >&"$fd"
  local status=""
  while IFS= read -r -t 30 line <&"$fd"; do
    line=${line%$'\r'}
    [ -z "$status" ] && status=$line && continue
    [ -z "$line" ] && break
    [[ ${line,,} == content-length:* ]] && len=${line#*:} && len=${len// /}
  done
  [ "$len" -gt 0 ] && read -r -t 30 -N "$len" _ <&"$fd"
  exec {fd}>&-
  [[ $status == "HTTP/1."?" 2"* ]]
}
net_of() { echo "n$(((2 * $1 + $2) % M))"; }  # net_of SERVER 0|1: the server's two networks

echo "machine: nproc $(nproc), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "N=$N servers, R=$R pairs/min each, T=$T min, $M networks, compactafter ${compact_s} s; work dir $WORK"
echo "{\"N\": $N, \"R\": $R, \"T\": $T, \"M\": $M, \"compact_s\": $compact_s, \"standing\": $standing, \"hz\": $(getconf CLK_TCK)}" \
  >"$WORK/params.json"

sb_init >/dev/null || exit 1
zk_start || exit 1
echo 0 >"$SB_DIR/zk-members"  # the sandbox runs no ZooKeeper of its own (ours is on loopback)
t=$SECONDS
https=() vpids=() swpids=() dbpids=()
for ((k = 0; k < N; k++)); do
  h=h$k
  sb_ovs_start "$h" && sb_vsctl "$h" set Open_vSwitch . "external_ids:system-id=s$k" &&
    sb_bridge "$h" br-int "$(printf '%016x' $((k + 1)))" &&
    sb_vsctl "$h" add-port br-int vxlan0 -- set interface vxlan0 type=vxlan options:remote_ip=flow \
      "options:local_ip=172.16.$((k / 250)).$((k % 250 + 1))" options:key=flow || { echo "OVS $h failed"; exit 1; }
  swpids[k]=$(cat "$(sb_ovs_dir "$h")/run/ovs-vswitchd.pid")
  dbpids[k]=$(cat "$(sb_ovs_dir "$h")/run/ovsdb-server.pid")
  https[k]=$(sb_free_port)
  sb_vlcpd_server_conf "$SB_DIR/$h.conf" "$h" "server.loglevel = 'warn'" \
    "module.zookeeperdb.url = 'tcp://127.0.0.1:$zk_port'" "module.httpserver.url = 'tcp://127.0.0.1:${https[k]}'" \
    "module.metrics.url = ''" "module.zookeeperdb.compactafter = $compact_s"
  sb_vlcpd_start "$h" "$SB_DIR/$h.conf"
  vpids[k]=$(sb_vlcpd_pid "$h")
done
api_up() { curl -sf -m 5 -o /dev/null "$(api "$1")/viperflow/listphysicalnetworks"; }
for ((k = 0; k < N; k++)); do
  sb_wait 120 api_up "$k" || { echo "vlcpd h$k: no API"; tail -5 "$SB_DIR/vlcpd-h$k.log"; exit 1; }
done
echo "$N OVS + vlcpd up in $((SECONDS - t)) s"

# The model, through server 0's WebAPI.
post 0 /viperflow/createphysicalnetwork '{"id": "vx", "type": "vxlan", "vnirange": [[10000, 10999]]}' &&
  post 0 /viperflow/createphysicalport '{"name": "vxlan0", "physicalnetwork": "vx"}' || { echo "physical network failed"; exit 1; }
for ((n = 0; n < M; n++)); do
  post 0 /viperflow/createlogicalnetwork "{\"id\": \"n$n\", \"physicalnetwork\": \"vx\", \"mtu\": 1450}" &&
    post 0 /viperflow/createsubnet "{\"id\": \"n$n-s\", \"logicalnetwork\": \"n$n\", \"cidr\": \"10.$n.0.0/16\"}" ||
    { echo "network n$n failed"; exit 1; }
done
for ((k = 0; k < N; k++)); do
  args=()
  for ((j = 0; j < 2 * standing; j++)); do
    net=$(net_of "$k" $((j / standing)))
    post 0 /viperflow/createlogicalport "{\"id\": \"st$k-$j\", \"logicalnetwork\": \"$net\", \"subnet\": \"$net-s\"}" ||
      { echo "standing port st$k-$j failed"; exit 1; }
    args+=(-- add-port br-int "st$j" -- set interface "st$j" type=internal "external_ids:iface-id=st$k-$j" "ofport_request=$((100 + j))")
  done
  sb_vsctl "h$k" "${args[@]:1}" >/dev/null || { echo "plugging h$k's standing ports failed"; exit 1; }
done
standing_bound() {  # every standing port of server K has its table-0 flow
  local flows j
  flows=$(sb_ofctl "h$1" --no-names dump-flows br-int table=0)
  for ((j = 0; j < 2 * standing; j++)); do grep -qE "in_port=$((100 + j))([^0-9]|$)" <<<"$flows" || return 1; done
}
for ((k = 0; k < N; k++)); do
  sb_wait 180 standing_bound "$k" || { echo "h$k: standing ports never bound"; tail -5 "$SB_DIR/vlcpd-h$k.log"; exit 1; }
done
echo "model: $M networks, $((N * 2 * standing)) standing ports bound, $((SECONDS - t)) s from the start"

# The store's znodes by kind (zkCli's ls -R of the store's root): "KIND COUNT" lines in census-PHASE.
census() {
  /usr/share/zookeeper/bin/zkCli.sh -server "127.0.0.1:$zk_port" ls -R /vlcp 2>/dev/null | awk -F/ '
    $2 == "vlcp" {
      if ($3 == "kv" && NF == 5) k = "kv.keys+tombstones"; else if ($3 == "log" && NF == 5) k = "log.entries";
      else if ($3 == "txn" && NF == 5) k = "txn.fences"; else if ($3 == "tomb" && NF == 5) k = "tomb.markers";
      else k = "dirs+other"
      n[k]++
    }
    END { for (k in n) print k, n[k] }' | sort >"$WORK/census-$1"
}
# One sample: a JSON line in samples.jsonl.
sample() {
  local k rss=() fds=() cv=() cs=() cd=() mn pid ports
  for ((k = 0; k < N; k++)); do
    pid=${vpids[k]}
    rss+=("$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status" 2>/dev/null || echo null)")
    fds+=("$(ls "/proc/$pid/fd" 2>/dev/null | wc -l)")
    cv+=("$(ticks "$pid")") cs+=("$(ticks "${swpids[k]}")") cd+=("$(ticks "${dbpids[k]}")")
  done
  mn=$(zk_4lw mntr)
  ports=$(curl -sf -m 20 "$(api 0)/viperflow/listlogicalports" |
    python3 -c 'import json, sys; print(len(json.load(sys.stdin)["result"]))' 2>/dev/null || echo null)
  j() { local IFS=,; echo "[$*]"; }
  echo "{\"t\": $EPOCHREALTIME, \"phase\": \"$1\", \"rss_kb\": $(j "${rss[@]}"), \"fds\": $(j "${fds[@]}"),
 \"cpu_vlcpd\": $(j "${cv[@]}"), \"cpu_vswitchd\": $(j "${cs[@]}"), \"cpu_ovsdb\": $(j "${cd[@]}"),
 \"cpu_zk\": $(ticks "$zk_pid"), \"machine_busy\": $(awk '/^cpu / {print $2 + $3 + $4 + $7 + $8}' /proc/stat),
 \"znodes\": $(awk '$1 == "zk_znode_count" {print $2}' <<<"$mn"), \"zk_data\": $(awk '$1 == "zk_approximate_data_size" {print $2}' <<<"$mn"),
 \"zk_watches\": $(awk '$1 == "zk_watch_count" {print $2}' <<<"$mn"), \"ports\": $ports}" | tr -d '\n' >>"$WORK/samples.jsonl"
  echo >>"$WORK/samples.jsonl"
}

# One create+delete pair on server K (index I, network NET); a line in pairs-K.log:
# id ofport create_us created_us plugged_us seen_us done_us status
pair() {
  local k=$1 i=$2 net=$3 id="c$1-$2" p="c$2" ofp=$((1000 + $2)) tc tr tp=0 ts=0 st=ok off deadline
  local mon=$WORK/mon-$k.log
  off=$(stat -c %s "$mon")
  tc=${EPOCHREALTIME/./}
  if ! http_post "$k" /viperflow/createlogicalport "{\"id\": \"$id\", \"logicalnetwork\": \"$net\", \"subnet\": \"$net-s\"}"; then
    # (a create that timed out here may still commit: delete it, or the model keeps it)
    http_post "$k" /viperflow/deletelogicalport "{\"id\": \"$id\"}" 2>>"$WORK/errors-$k.log"
    echo "$id $ofp $tc 0 0 0 ${EPOCHREALTIME/./} create_failed" >>"$WORK/pairs-$k.log"
    return
  fi
  tr=${EPOCHREALTIME/./}
  if sb_vsctl "h$k" add-port br-int "$p" -- set interface "$p" type=internal "external_ids:iface-id=$id" \
    "ofport_request=$ofp" >/dev/null 2>>"$WORK/errors-$k.log"; then
    tp=${EPOCHREALTIME/./}
    deadline=$((tp + 15000000))  # 15 s from the plug
    until tail -c +$((off + 1)) "$mon" | grep -qE "event=ADDED table=0 .*in_port=$ofp([^0-9]|$)"; do
      [ "${EPOCHREALTIME/./}" -ge "$deadline" ] && { st=no_flow; break; }
      sleep 0.05
    done
    [ "$st" = ok ] && ts=${EPOCHREALTIME/./}
  else
    st=plug_failed
  fi
  sb_vsctl "h$k" --if-exists del-port br-int "$p" 2>>"$WORK/errors-$k.log" || [ "$st" != ok ] || st=unplug_failed
  http_post "$k" /viperflow/deletelogicalport "{\"id\": \"$id\"}" 2>>"$WORK/errors-$k.log" || [ "$st" != ok ] || st=delete_failed
  echo "$id $ofp $tc $tr $tp $ts ${EPOCHREALTIME/./} $st" >>"$WORK/pairs-$k.log"
}
# R pairs a minute on server K for T minutes, paced from the start, at most IN_FLIGHT at once;
# none started after T.
churn_loop() {
  local k=$1 i=0 t0 end due now w interval=$((60000000 / R)) running=0
  t0=${EPOCHREALTIME/./}
  end=$((t0 + T * 60000000))
  : >"$WORK/pairs-$k.log"
  while :; do
    due=$((t0 + i * interval))
    now=${EPOCHREALTIME/./}
    [ "$due" -ge "$end" ] || [ "$now" -ge "$end" ] && break
    if [ "$now" -lt "$due" ]; then
      w=$((due - now))
      sleep "$((w / 1000000)).$(printf '%06d' $((w % 1000000)))"
    fi
    pair "$k" "$i" "n$(((2 * k + i % 2) % M))" &
    i=$((i + 1))
    running=$((running + 1))
    if [ "$running" -ge "$in_flight" ]; then
      wait -n
      running=$((running - 1))
    fi
  done
  wait
  times >"$WORK/times-$k"  # the loop's own and its reaped children's (pairs: curl, ovs-vsctl, polls) CPU
}

for ((k = 0; k < N; k++)); do
  d=$(sb_ovs_dir "h$k")
  : >"$WORK/mon-$k.log"
  OVS_RUNDIR=$d/run OVS_DBDIR=$d/db OVS_LOGDIR=$d/log OVS_SYSCONFDIR=$d/etc \
    stdbuf -oL ovs-ofctl -O OpenFlow13 --no-names --timestamp monitor br-int 'watch:!initial' >"$WORK/mon-$k.log" 2>&1 &
  mon_pids+=($!)
done
sleep 2
census start
sample start
(
  s=""
  trap 'sb_stop_pid "$s"; exit 0' TERM
  while :; do
    sleep "$sample_s" &
    s=$!
    wait "$s"
    sample churn
  done
) &
sampler_pid=$!
echo "churn: $(date -u +%H:%M:%S) UTC, $N loops of $R pairs/min for $T min ($((N * R * T)) pairs asked)"
for ((k = 0; k < N; k++)); do
  churn_loop "$k" &
  loop_pids+=($!)
done
for p in "${loop_pids[@]}"; do wait "$p"; done
loop_pids=()
sample end
census end
echo "churn over: $(date -u +%H:%M:%S) UTC; waiting for the compaction horizon ($compact_s s) and the store to settle"
sleep $((2 * compact_s + 15))
sb_stop_pid "$sampler_pid"
sampler_pid=""
sample after
census after
for ((k = 0; k < N; k++)); do
  kill -0 "${vpids[k]}" 2>/dev/null || echo "vlcpd h$k is gone (crashed?): $(tail -3 "$SB_DIR/vlcpd-h$k.log")"
done
cat "$WORK"/errors-*.log 2>/dev/null | sort | uniq -c | sort -rn | head -5
python3 "$here/sustained_report.py" "$WORK" | tee "$WORK/report.txt"
