#!/usr/bin/env bash
# L2 benchmarks (issue 7), each on the real components in a sandbox:
#  1. connectivity: a host on server 2 is plugged in (iface-id) before its port exists; the
#     port is created through server 1's WebAPI; time from the API call to the first ping reply
#     from a host on server 1 (VXLAN, ZooKeeper between the two vlcpd). PORTS ports, one at a time.
#  2. reconnect: one server with SCALE bound logical ports (OVS internal ports with iface-ids),
#     vlcpd on the embedded store. vlcpd restarted, and the switch's controller connection
#     dropped and restored: time to reconcile (connect -> in sync) and FLOW_MODs sent.
#  3. controller learning: ofp_swarm's learn mode (emulated switches, a new source MAC per
#     PACKET_IN, packet-in -> FLOW_MOD latency) against vlcpd (workers) and against os-ken
#     (Debian's python3-os-ken, /usr/bin/python3, perf/osken_learning.py), same run, RUNS each.
# Usage: perf/run_l2.sh [BUILD_DIR] [PORTS] [SCALE] [RUNS]
set -uo pipefail
build=$(cd "${1:-build/release}" && pwd)
ports=${2:-100}
scale=${3:-1000}
runs=${4:-3}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/sandbox/lib.sh"
. "$here/lib.sh"
vlcpctl=$build/src/vlcpctl
export VLCP_VLCPD=$build/src/vlcpd
sb_init || exit 1
trap sb_down EXIT
ms() { echo $(($(date +%s%N) / 1000000)); }
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }  # kv NAME: NAME=VALUE from ofp_swarm's lines
pct() {  # pct P < numbers: the P-th percentile (nearest rank)
  sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int(p/100*NR+0.999); if (i<1) i=1; print a[i]}'
}
status() {  # status HV EXPR: on ioprocessing/status's br-int `s`
  sb_exec "$1" curl -sf http://127.0.0.1:8081/ioprocessing/status | python3 -c "
import json, sys
s = [x for x in json.load(sys.stdin)['result']['switches'] if x['bridge'] == 'br-int']
s = s[0] if s else {}
print($2)"
}
synced() { [ "$(status "$1" "s.get('attached') and s.get('synced')")" = True ]; }

echo "== 1. API create of a logical port -> working connectivity across servers ($ports ports)"
sb_zk_start 1 >/dev/null || exit 1
for n in 1 2; do
  sb_ovs_start "hv$n" && sb_vsctl "hv$n" set Open_vSwitch . "external_ids:system-id=hv$n" &&
    sb_mgmt_attach "hv$n" $((10 + n)) || exit 1
done
sb_underlay hv1 192.168.99.1/24 hv2 192.168.99.2/24 || exit 1
for n in 1 2; do
  sb_bridge "hv$n" br-int "000000000000000$n" && sb_vxlan_port "hv$n" br-int vxlan0 flow || exit 1
  sb_vlcpd_server_conf "$SB_DIR/hv$n.conf" "hv$n" "server.loglevel = 'warn'"
  sb_vlcpd_start "hv$n" "$SB_DIR/hv$n.conf" "hv$n"
done
api1() { sb_exec hv1 curl -sf --max-time 30 "http://127.0.0.1:8081$1" >/dev/null; }
sb_wait 60 api1 /viperflow/listphysicalnetworks || { echo "vlcpd did not come up"; exit 1; }
api1 "/viperflow/createphysicalnetwork?id=vx&type=vxlan&vnirange=%60%5B%5B100,200%5D%5D%60" &&
  api1 "/viperflow/createphysicalport?name=vxlan0&physicalnetwork=vx" &&
  api1 "/viperflow/createlogicalnetwork?id=n1&physicalnetwork=vx" &&
  api1 "/viperflow/createsubnet?id=s1&logicalnetwork=n1&cidr=10.1.0.0/16" &&
  api1 "/viperflow/createlogicalport?id=peer&logicalnetwork=n1&subnet=s1&mac_address=02:00:00:00:ff:ff&ip_address=10.1.255.1" ||
  exit 1
sb_host peer hv1 br-int 10.1.255.1/16 mac=02:00:00:00:ff:ff iface_id=peer mtu=1450 >/dev/null
# The peer probes ARP every 50 ms for up to 10 s (the kernel's default: 3 probes 1 s apart):
# the figure is then the time until the flows work, not until the kernel's next retry.
sb_exec peer sysctl -qw net.ipv4.neigh.eth0.retrans_time_ms=50 net.ipv4.neigh.eth0.mcast_solicit=200
for i in $(seq "$ports"); do
  sb_host "c$i" hv2 br-int "10.1.$((i / 250)).$((i % 250 + 1))/16" "mac=$(printf '02:00:00:01:%02x:%02x' $((i / 256)) $((i % 256)))" \
    "iface_id=c$i" mtu=1450 >/dev/null || exit 1
done
sb_wait 60 synced hv1 && sb_wait 60 synced hv2 || { echo "switches not in sync"; exit 1; }
: >"$SB_DIR/connect.ms"
for i in $(seq "$ports"); do
  ip="10.1.$((i / 250)).$((i % 250 + 1))"
  mac=$(printf '02:00:00:01:%02x:%02x' $((i / 256)) $((i % 256)))
  t0=$(ms)
  api1 "/viperflow/createlogicalport?id=c$i&logicalnetwork=n1&subnet=s1&mac_address=$mac&ip_address=$ip" || {
    echo "create c$i failed"
    continue
  }
  if sb_exec peer ping -q -c 1 -w 10 -i 0.005 "$ip" >/dev/null 2>&1; then
    echo $(($(ms) - t0)) >>"$SB_DIR/connect.ms"
  else
    echo "c$i: no connectivity within 10 s"
  fi
done
n=$(wc -l <"$SB_DIR/connect.ms")
echo "ports=$n p50_ms=$(pct 50 <"$SB_DIR/connect.ms") p99_ms=$(pct 99 <"$SB_DIR/connect.ms") max_ms=$(pct 100 <"$SB_DIR/connect.ms")"
for n in 1 2; do sb_stop_pid "$(sb_vlcpd_pid "hv$n")"; done

echo "== 2. reconnect of a switch with $scale bound logical ports (embedded store)"
sb_ovs_start hv3 && sb_vsctl hv3 set Open_vSwitch . external_ids:system-id=hv3 || exit 1
sb_bridge hv3 br-int 0000000000000003 || exit 1
# OpenFlow over TCP in the server's namespace, so the reconnect can kill the connection (ss -K):
# changing the bridge's controller setting instead would make OVS flush its flows.
sb_vlcpd_server_conf "$SB_DIR/hv3.conf" hv3 "server.loglevel = 'warn'" "module.objectdb.backend = 'embedded'" \
  "module.objectdb.path = '$SB_DIR/hv3.mdb'" "module.openflowserver.url = 'tcp://127.0.0.1:6653'" \
  "module.ovsdbmanager.controller = 'tcp:127.0.0.1:6653'"
sb_vlcpd_start hv3 "$SB_DIR/hv3.conf" hv3
api3() { sb_exec hv3 curl -sf --max-time 60 "http://127.0.0.1:8081$1" >/dev/null; }
sb_wait 60 api3 /viperflow/listphysicalnetworks || exit 1
api3 "/viperflow/createphysicalnetwork?id=vl&type=vlan&vlanrange=%60%5B%5B100,200%5D%5D%60" || exit 1
for net in $(seq 10); do api3 "/viperflow/createlogicalnetwork?id=m$net&physicalnetwork=vl" || exit 1; done
python3 - "$scale" >"$SB_DIR/batches" <<'PY'
import json, sys
n = int(sys.argv[1])
ports = [{"id": "b%d" % i, "logicalnetwork": "m%d" % (i % 10 + 1),
          "mac_address": "02:00:%02x:%02x:%02x:01" % (i >> 16 & 255, i >> 8 & 255, i & 255)} for i in range(n)]
for k in range(0, n, 100):
    print(json.dumps({"ports": ports[k:k + 100]}))
PY
while read -r batch; do
  echo "$batch" | sb_exec hv3 curl -sf --max-time 60 -H 'Content-Type: application/json' --data-binary @- \
    http://127.0.0.1:8081/viperflow/createlogicalports >/dev/null || exit 1
done <"$SB_DIR/batches"
t0=$(ms)
args=()
for i in $(seq 0 $((scale - 1))); do
  args+=(-- add-port br-int "b$i" -- set interface "b$i" type=internal "external_ids:iface-id=b$i")
done
sb_vsctl hv3 "${args[@]}" || exit 1
echo "ovs: $scale internal ports added in $(($(ms) - t0)) ms"
wait_all_bound() { [ "$(status hv3 "s.get('logical_ports')")" = "$scale" ] && synced hv3; }
t0=$(ms)
sb_wait 300 wait_all_bound || { echo "not all ports bound: $(status hv3 s)"; exit 1; }
echo "first programming: $(status hv3 "'%d flows, %d groups' % (s['installed_flows'], s['installed_groups'])") in $(($(ms) - t0)) ms (from the last port's creation)"
for r in $(seq "$runs"); do
  sb_stop_pid "$(sb_vlcpd_pid hv3)"
  t0=$(ms)
  sb_vlcpd_start hv3 "$SB_DIR/hv3.conf" hv3
  sb_wait 120 synced hv3 || { echo "restart $r: never in sync"; exit 1; }
  echo "vlcpd restart $r: start -> in sync $(($(ms) - t0)) ms; $(status hv3 "'reconcile %.3f s, flow_mods %d, group_mods %d, installed flows %d' % (s['last_reconcile_seconds'], s['last_reconcile_flow_mods'], s['group_mods'], s['installed_flows'])")"
done
for r in $(seq "$runs"); do
  before=$(status hv3 "s['reconciles']")
  t0=$(ms)
  sb_exec hv3 ss -K dst 127.0.0.1 dport = :6653 >/dev/null 2>&1  # the switch's connection, cut
  reconciled() { [ "$(status hv3 "s['reconciles'] > $before and s['synced']")" = True ]; }
  sb_wait 60 reconciled || { echo "reconnect $r: never reconciled"; exit 1; }
  echo "switch reconnect $r: connection cut -> in sync again $(($(ms) - t0)) ms (OVS retries after 1 s); $(status hv3 "'reconcile %.3f s, flow_mods %d, flows %d' % (s['last_reconcile_seconds'], s['last_reconcile_flow_mods'], s['installed_flows'])")"
done
sb_stop_pid "$(sb_vlcpd_pid hv3)"

echo "== 3. controller learning: packet-in -> flow installed, vlcpd (1 worker lcore) vs os-ken, $runs runs each"
of=$(sb_free_port)
http=$(sb_free_port)
learning_conf "$SB_DIR/learn.conf" "$of" "$http" "$SB_DIR/learn.mdb"
"$VLCP_VLCPD" -c "$SB_DIR/learn.conf" >"$SB_DIR/learn.log" 2>&1 &
vpid=$!
sb_record pid "$vpid" vlcpd:learn
osport=$(sb_free_port)
/usr/bin/python3 /usr/bin/osken-manager "$here/osken_learning.py" --ofp-tcp-listen-port "$osport" >"$SB_DIR/osken.log" 2>&1 &
opid=$!
sb_record pid "$opid" os-ken
sleep 5
for mode in "1 1" "16 4"; do
  set -- $mode
  for who in vlcpd os-ken; do
    port=$of
    [ $who = os-ken ] && port=$osport
    : >"$SB_DIR/runs"
    for r in $(seq "$runs"); do "$build/perf/ofp_swarm" 127.0.0.1 "$port" "$1" "$2" 5 learn >>"$SB_DIR/runs"; done
    echo "$who switches=$1 window=$2: per_s=$(kv responses_per_s <"$SB_DIR/runs" | median) p50_us=$(kv p50_us <"$SB_DIR/runs" | median) p99_us=$(kv p99_us <"$SB_DIR/runs" | median)"
  done
done
