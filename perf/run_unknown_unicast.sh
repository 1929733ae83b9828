#!/usr/bin/env bash
# Unknown unicast in a VXLAN network (issue 17; docs/PACKET_IN_DESIGN.md §3.2-3.3): two servers
# (userspace OVS, vlcpd, one ZooKeeper), one VXLAN network with PORTS logical ports of which
# BOUND are bound (half per server, each a host namespace) and the rest bound nowhere. A prober
# on hv1 (perf/prober, static neighbours) sends an ICMP echo to every port's address every 10 ms
# for SECONDS s; LATE unbound ports are bound during the run (alternating servers, one every
# 0.5 s from t = 3 s). Per mode and round: ovs-vswitchd's CPU (% of one core, /proc/PID/stat
# utime + stime over the window t = 2 s .. SECONDS - 1 s) and netdev_sent per second
# (coverage/show) on each server, first-reply times of the bound ports (from the prober's start)
# and of the late ones (from their `ovs-vsctl add-port`).
# Modes (alternated within each round):
#   flood    module.vxlancast.unknownunicast = flood (VLCP's behaviour)
#   today    no key (a vlcpd from before the key: flooding)
#   tunnels  module.vxlancast.unknownunicast = tunnels (fix B)
#   dropA    fix A emulated: flood, plus a drop in vxlanoutput for each never-bound MAC, added by
#            hand with a dynamic cookie (the installer leaves those alone); late ports have none,
#            so A's real cost for them (waiting for the location through ZooKeeper) is not in
#            its first-reply figures: the run prints that wait (bind -> pushed flow on hv1).
# Usage: perf/run_unknown_unicast.sh [BUILD_DIR] [PORTS] [BOUND] [SECONDS] [ROUNDS] [MODES]
#   (PROBER=path: another prober binary than BUILD_DIR/perf/prober)
set -uo pipefail
build=$(cd "${1:-build/release}" && pwd)
ports=${2:-500}
bound=${3:-100}
seconds=${4:-20}
rounds=${5:-3}
modes=${6:-flood tunnels dropA}
late=10
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/sandbox/lib.sh"
. "$here/lib.sh"
export VLCP_VLCPD=$build/src/vlcpd
prober=${PROBER:-$build/perf/prober}
[ -x "$prober" ] || {
  echo "no $prober: cmake --build $build --target prober"
  exit 1
}
sb_init || exit 1
trap sb_down EXIT
pct() {  # pct P < numbers: the P-th percentile (nearest rank), "-" when there are none
  sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int(p/100*NR+0.999); if (i<1) i=1; print (NR ? a[i] : "-")}'
}
ip_of() { echo "10.1.$(($1 / 250)).$(($1 % 250 + 1))"; }
mac_of() { printf '02:00:00:01:%02x:%02x' $(($1 / 256)) $(($1 % 256)); }
hv_of() { echo "hv$(($1 % 2 + 1))"; }  # bound ports alternate servers
api1() { sb_exec hv1 curl -sf --max-time 60 "http://127.0.0.1:8081$1"; }
status() {
  sb_exec "$1" curl -sf http://127.0.0.1:8081/ioprocessing/status | python3 -c "
import json, sys
s = json.load(sys.stdin)['result']['switches']
s = s[0] if s else {}
print($2)"
}
synced() { [ "$(status "$1" "bool(s.get('attached') and s.get('synced'))")" = True ]; }
cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
vswitchd() { cat "$(sb_ovs_dir "$1")/run/ovs-vswitchd.pid"; }
netdev_sent() { sb_appctl "$1" coverage/show | awk '$1 == "netdev_sent" {print $NF}'; }
# Packets the datapath sent, all ports (netdev_sent counts send calls, a batch each).
tx_packets() { sb_appctl "$1" dpctl/show -s | sed -n 's/.*TX packets:\([0-9]*\).*/\1/p' | awk '{n += $1} END {print n + 0}'; }
conf() {  # conf HV MODE
  local m=$2 key=()
  [ "$m" = dropA ] && m=flood
  [ "$m" = today ] || key=("module.vxlancast.unknownunicast = '$m'")
  sb_vlcpd_server_conf "$SB_DIR/$1.conf" "$1" "server.loglevel = 'warn'" "${key[@]}" \
    "module.objectdb.path = '$SB_DIR/objectdb-$1.mdb'"
}

echo "== setup: $ports ports on one VXLAN network, $bound bound ($((bound / 2)) per server), $late bound during each run"
sb_zk_start 1 >/dev/null || exit 1
for n in 1 2; do
  sb_ovs_start "hv$n" && sb_vsctl "hv$n" set Open_vSwitch . "external_ids:system-id=hv$n" &&
    sb_mgmt_attach "hv$n" $((10 + n)) || exit 1
done
sb_underlay hv1 192.168.99.1/24 hv2 192.168.99.2/24 || exit 1
for n in 1 2; do
  sb_bridge "hv$n" br-int "000000000000000$n" && sb_vxlan_port "hv$n" br-int vxlan0 flow || exit 1
  conf "hv$n" "${modes%% *}"
  sb_vlcpd_start "hv$n" "$SB_DIR/hv$n.conf" "hv$n"
done
sb_wait 60 api1 /viperflow/listphysicalnetworks >/dev/null || {
  echo "vlcpd did not come up"
  exit 1
}
{ api1 "/viperflow/createphysicalnetwork?id=vx&type=vxlan&vnirange=%60%5B%5B100,200%5D%5D%60" &&
  api1 "/viperflow/createphysicalport?name=vxlan0&physicalnetwork=vx" &&
  api1 "/viperflow/createlogicalnetwork?id=n1&physicalnetwork=vx" &&
  api1 "/viperflow/createsubnet?id=s1&logicalnetwork=n1&cidr=10.1.0.0/16" &&
  api1 "/viperflow/createlogicalport?id=peer&logicalnetwork=n1&subnet=s1&mac_address=02:00:00:00:ff:ff&ip_address=10.1.255.1"; } \
  >/dev/null || exit 1
python3 - "$ports" >"$SB_DIR/batches" <<'PY'
import json, sys
n = int(sys.argv[1])
ports = [{"id": "c%d" % i, "logicalnetwork": "n1", "subnet": "s1",
          "mac_address": "02:00:00:01:%02x:%02x" % (i // 256, i % 256),
          "ip_address": "10.1.%d.%d" % (i // 250, i % 250 + 1)} for i in range(1, n + 1)]
for k in range(0, n, 100):
    print(json.dumps({"ports": ports[k:k + 100]}))
PY
while read -r batch; do
  echo "$batch" | sb_exec hv1 curl -sf --max-time 60 -H 'Content-Type: application/json' --data-binary @- \
    http://127.0.0.1:8081/viperflow/createlogicalports >/dev/null || exit 1
done <"$SB_DIR/batches"
sb_host peer hv1 br-int 10.1.255.1/16 mac=02:00:00:00:ff:ff iface_id=peer mtu=1450 >/dev/null || exit 1
for i in $(seq $((bound + late))); do
  sb_host "c$i" "$(hv_of "$i")" br-int "$(ip_of "$i")/16" "mac=$(mac_of "$i")" "iface_id=c$i" mtu=1450 >/dev/null || exit 1
  sb_exec "c$i" ip neigh replace 10.1.255.1 lladdr 02:00:00:00:ff:ff dev eth0 nud permanent
done
# The late ones' hosts stay ready (namespace, veth); only their OVS ports come and go.
unplug_late() {
  local i
  for i in $(seq $((bound + 1)) $((bound + late))); do
    sb_vsctl "$(hv_of "$i")" --if-exists del-port "$(sb_host_port "c$i")"
  done
}
plug() {  # plug I: OVS attach of host cI's port with its iface-id
  sb_vsctl "$(hv_of "$1")" add-port br-int "$(sb_host_port "c$1")" -- set interface "$(sb_host_port "c$1")" \
    "external_ids:iface-id=c$1" "external_ids:attached-mac=$(mac_of "$1")"
}
unplug_late
# Static neighbours for every port, as the anchor does: the prober sends no ARP.
for i in $(seq "$ports"); do echo "neigh replace $(ip_of "$i") lladdr $(mac_of "$i") dev eth0 nud permanent"; done |
  sb_exec peer ip -batch - || exit 1
sb_wait 120 synced hv1 && sb_wait 120 synced hv2 || {
  echo "switches not in sync"
  exit 1
}
ctl1() { sb_exec hv1 "$build/src/vlcpctl" --api http://127.0.0.1:8081 "$@"; }
netid=$(ctl1 --json db get viperflow.logicnetworkmap.n1 | python3 -c "
import json, sys
print(json.load(sys.stdin)['viperflow.logicnetworkmap.n1']['value']['netid'])")
vxlanoutput=$(ctl1 tables | awk '{for (i = 1; i < NF; i++) if ($(i + 1) == "vxlanoutput" && $i ~ /^[0-9]+$/) print $i}' | head -1)
echo "n1 netid=${netid:-?} vxlanoutput table=${vxlanoutput:-?}; $(status hv1 "'hv1: %d flows, %d groups' % (s['installed_flows'], s['installed_groups'])")"

# A's drops: every never-bound port's MAC, on both servers (dynamic cookie: not the installer's).
a_flows() {
  local i
  for i in $(seq $((bound + late + 1)) "$ports"); do
    echo "table=$vxlanoutput,priority=32773,cookie=0x8000000000000abc,reg5=$netid,reg6=0,dl_dst=$(mac_of "$i"),actions=drop"
  done >"$SB_DIR/a-flows.txt"
}
[[ " $modes " == *" dropA "* ]] && { [ -n "$netid" ] && [ -n "$vxlanoutput" ] || {
  echo "dropA needs n1's netid and vxlanoutput's table number"
  exit 1
}; } && a_flows

trace_once() {  # the path of one probe to a never-bound port, on each server
  local mac
  mac=$(mac_of "$ports")
  echo "  trace hv1 (from the prober to $mac): $(sb_appctl hv1 ofproto/trace br-int \
    "in_port=$(sb_ofport hv1 "$(sb_host_port peer)"),dl_src=02:00:00:00:ff:ff,dl_dst=$mac,dl_type=0x0800,nw_src=10.1.255.1,nw_dst=$(ip_of "$ports"),nw_proto=1" |
    grep '^Datapath actions' | cut -c1-300)"
}

run() {  # run MODE ROUND
  local mode=$1 r=$2 n
  for n in 1 2; do sb_stop_pid "$(sb_vlcpd_pid "hv$n")"; done
  for n in 1 2; do
    conf "hv$n" "$mode"
    sb_vlcpd_start "hv$n" "$SB_DIR/hv$n.conf" "hv$n"
  done
  sb_wait 120 synced hv1 && sb_wait 120 synced hv2 || {
    echo "$mode/$r: not in sync"
    return 1
  }
  for n in 1 2; do
    sb_ofctl "hv$n" del-flows br-int "cookie=0x8000000000000abc/-1"
    [ "$mode" = dropA ] && sb_ofctl "hv$n" add-flows br-int "$SB_DIR/a-flows.txt"
  done
  [ "$r" = 1 ] && trace_once
  local targets=() i
  for i in $(seq "$ports"); do targets+=("$(ip_of "$i")"); done
  local t0 out=$SB_DIR/probe-$mode-$r.txt
  t0=$(date +%s%N)
  sb_exec peer "$prober" --interval-ms 10 --duration-s "$seconds" --t0-ns "$t0" "${targets[@]}" >"$out" 2>&1 &
  local pid=$!
  # Late binds: one every 0.5 s from t = 3 s, alternating servers; t0 of each after add-port.
  (
    sleep 3
    for i in $(seq $((bound + 1)) $((bound + late))); do
      plug "$i" >/dev/null
      echo "$(ip_of "$i") $((($(date +%s%N) - t0) / 1000000)) $(hv_of "$i") $(mac_of "$i")"
      sleep 0.5
    done
  ) >"$SB_DIR/late-$mode-$r.txt" &
  local binder=$!
  sleep 2
  local c1 c2 s1 s2 w0 w1
  c1=$(cpu_ticks "$(vswitchd hv1)") c2=$(cpu_ticks "$(vswitchd hv2)")
  s1=$(netdev_sent hv1) s2=$(netdev_sent hv2)
  local x1 x2
  x1=$(tx_packets hv1) x2=$(tx_packets hv2)
  w0=$(date +%s%N)
  sleep $((seconds - 3))
  w1=$(date +%s%N)
  local d1 d2 e1 e2 win
  d1=$(($(cpu_ticks "$(vswitchd hv1)") - c1)) d2=$(($(cpu_ticks "$(vswitchd hv2)") - c2))
  e1=$(($(netdev_sent hv1) - s1)) e2=$(($(netdev_sent hv2) - s2))
  x1=$(($(tx_packets hv1) - x1)) x2=$(($(tx_packets hv2) - x2))
  win=$(((w1 - w0) / 1000000))
  wait "$pid" "$binder"
  local tck
  tck=$(getconf CLK_TCK)
  # First replies: the bound ports' from the prober's start; the late ones' from their bind.
  local boundf latef
  boundf=$(for i in $(seq "$bound"); do grep "^target=$(ip_of "$i") " "$out"; done |
    sed -n 's/.*first_reply_ms=\([-0-9.]*\).*/\1/p')
  latef=$(while read -r ip at hv mac; do
    f=$(sed -n "s/^target=$ip first_reply_ms=\([-0-9.]*\).*/\1/p" "$out")
    [ -n "$f" ] && awk -v f="$f" -v a="$at" 'BEGIN {if (f < 0) print "none"; else printf "%.1f\n", f - a}'
  done <"$SB_DIR/late-$mode-$r.txt")
  local sent
  sent=$(sed -n 's/.* sent=\([0-9]*\).*/\1/p' "$out" | awk '{n += $1} END {print n + 0}')
  local unanswered
  unanswered=$(grep -c 'first_reply_ms=-1' <<<"$(for i in $(seq "$((bound + late))"); do grep "^target=$(ip_of "$i") " "$out"; done)")
  printf '%s round %d: probes sent %d/s | cpu%% hv1 %.1f hv2 %.1f | netdev_sent/s hv1 %d hv2 %d | tx packets/s hv1 %d hv2 %d | bound first reply p50 %s p99 %s ms | late (bind -> reply) p50 %s p99 %s max %s ms | unanswered %d of %d\n' \
    "$mode" "$r" $((sent / seconds)) "$(awk -v d="$d1" -v t="$tck" -v w="$win" 'BEGIN {print d / t / (w / 1000) * 100}')" \
    "$(awk -v d="$d2" -v t="$tck" -v w="$win" 'BEGIN {print d / t / (w / 1000) * 100}')" \
    $((e1 * 1000 / win)) $((e2 * 1000 / win)) $((x1 * 1000 / win)) $((x2 * 1000 / win)) \
    "$(grep -v '^-' <<<"$boundf" | pct 50)" "$(grep -v '^-' <<<"$boundf" | pct 99)" \
    "$(grep -v none <<<"$latef" | pct 50)" "$(grep -v none <<<"$latef" | pct 99)" "$(grep -v none <<<"$latef" | pct 100)" \
    "$unanswered" $((bound + late))
  echo "$mode $(awk -v d="$d1" -v t="$tck" -v w="$win" 'BEGIN {print d / t / (w / 1000) * 100}') $(awk -v d="$d2" -v t="$tck" -v w="$win" 'BEGIN {print d / t / (w / 1000) * 100}') $((e1 * 1000 / win)) $((e2 * 1000 / win)) $((x1 * 1000 / win)) $((x2 * 1000 / win)) $(grep -v none <<<"$latef" | pct 50) $(grep -v none <<<"$latef" | pct 99)" >>"$SB_DIR/summary.txt"
  [ -n "${PERF_OUT:-}" ] && mkdir -p "$PERF_OUT" && cp "$out" "$SB_DIR/late-$mode-$r.txt" "$PERF_OUT/"
  # A's real cost for a late port: its location must reach hv1 (pushed flow) before A stops
  # dropping there. Measured on the late ports bound on hv2.
  unplug_late
}

a_floor() {  # bind -> the other server's vxlanoutput flow for the MAC, for ports on hv2
  local i t0 waits=()
  for i in $(seq $((bound + 1)) $((bound + late))); do
    [ "$(hv_of "$i")" = hv2 ] || continue
    plug "$i" >/dev/null
    t0=$(date +%s%N)
    until sb_ofctl hv1 dump-flows br-int "table=$vxlanoutput,dl_dst=$(mac_of "$i")" | grep -q tun_dst; do
      [ $((($(date +%s%N) - t0) / 1000000)) -gt 10000 ] && break
    done
    waits+=($((($(date +%s%N) - t0) / 1000000)))
    unplug_late
  done
  echo "A's floor (OVS attach on hv2 -> hv1 has the MAC's pushed flow; ms, polled with ovs-ofctl): ${waits[*]}; p50 $(printf '%s\n' "${waits[@]}" | pct 50)"
}

: >"$SB_DIR/summary.txt"
for r in $(seq "$rounds"); do
  for m in $modes; do run "$m" "$r"; done
done
[ -n "$vxlanoutput" ] && a_floor
echo "== medians over $rounds rounds (cpu % of a core hv1 hv2, netdev_sent/s hv1 hv2, tx packets/s hv1 hv2, late bind -> first reply p50 p99 ms)"
for m in $modes; do
  line="$m:"
  for col in 2 3 4 5 6 7 8 9; do
    line+=" $(awk -v m="$m" -v c="$col" '$1 == m {print $c}' "$SB_DIR/summary.txt" | median)"
  done
  echo "$line"
done
