#!/usr/bin/env bash
# vlcpctl trace (issue 21, docs/TRACE_DESIGN.md §13.2), the cases a single node answers (§15 step
# 6: 1, 5, 6, 7, 9; hv2's ports are absent, other servers are not asked yet): two simulated
# servers with the full L3 pipeline on one ObjectDB (ZooKeeper), the three-network model with
# router r1; hosts a1, a2 on hv1. Each case checks vlcpctl's exit code and verdict.code in
# --json, and where it matters the step that decided: behaviour, not flow text. The trace runs
# ofproto/trace without a packet: a traced DHCP DISCOVER never reaches the port's namespace.
. "$(dirname "$0")/../lib/system.sh"
. "$(dirname "$0")/../lib/l3_servers.sh"

l3_servers_up
l3_conf hv1
l3_conf hv2
l3_start_vlcpd

model() {
  l3_three_networks "a1 na sa 02:00:00:0a:00:0b 10.1.0.11" "a2 na sa 02:00:00:0a:00:0c 10.1.0.12" \
    "a3 na sa 02:00:00:0a:00:0d 10.1.0.13" "a4 na sa 02:00:00:0a:00:0e 10.1.0.14" \
    "b1 nb sb 02:00:00:0b:00:0b 10.2.0.11"
}
check "three networks, subnets, ports a1-a4 and b1, router r1 with three interfaces" model
check "hosts a1 and a2 on hv1" l3_host a1 hv1 10.1.0.11 02:00:00:0a:00:0b a1 10.1.0.1 &&
  l3_host a2 hv1 10.1.0.12 02:00:00:0a:00:0c a2 10.1.0.1
check "hv1's switch reconciled and in sync" sb_wait 30 synced hv1
check "module trace answers /trace/status" sb_wait 10 api hv1 /trace/status

OUT=$SB_DIR/trace
mkdir -p "$OUT"
# run NAME ARGS...: vlcpctl trace ARGS on hv1, --json into $OUT/NAME.json and its exit code into
# $OUT/NAME.rc; the text form into $OUT/NAME.txt.
run() {
  local name=$1
  shift
  ctl hv1 --json trace "$@" >"$OUT/$name.json" 2>"$OUT/$name.err"
  echo $? >"$OUT/$name.rc"
  ctl hv1 trace "$@" >"$OUT/$name.txt" 2>&1
}
# field NAME EXPR: a Python expression on the result `r`.
field() {
  python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
print($2)" "$OUT/$1.json"
}
code_is() { [ "$(field "$1" "r['verdict']['code']")" = "$2" ] && [ "$(cat "$OUT/$1.rc")" = "$3" ]; }
show() { echo "--- $1: exit $(cat "$OUT/$1.rc")"; cat "$OUT/$1.txt" "$OUT/$1.err"; }

# 1. same server
run same a1 a2
show same
check "case 1: trace a1 a2: delivered, exit 0" code_is same delivered 0
check_output "  one hop, on hv1" "1 hv1" field same "len(r['hops']), r['hops'][0]['server']"
check_output "  an l2output step owned by l2, naming network na and port a2" True field same \
  "any(s['table_name'] == 'l2output' and s['owner']['app'] == 'l2' and 'network na' in s['explained'] and 'port a2' in s['explained'] for s in r['hops'][0]['steps'])"
check_output "  the text ends with the verdict line" "verdict: delivered to port a2 on server hv1" tail -n1 "$OUT/same.txt"

own_view() { api hv1 /trace/status | python3 -c "import json, sys; print(json.load(sys.stdin)['result']['own_model_view'])"; }
check_output "  the trace read the apps' model view (no second set of model watches)" False own_view

# 5. ARP answered by flows: the gateway, and a3 (bound nowhere that answered: the responder
# answers from the model)
run arp_gw a1 10.1.0.1 --proto arp
show arp_gw
check "case 5: trace a1 10.1.0.1 --proto arp: answered-arp, exit 0" code_is arp_gw answered-arp 0
check_output "  is-at the router MAC, back to a1" "10.1.0.1 is-at 1a:23:67:59:63:33" field arp_gw "r['verdict']['text']"
run arp_a3 a1 10.1.0.13 --proto arp
show arp_a3
check "case 5: trace a1 10.1.0.13 --proto arp (a3's): answered-arp" code_is arp_a3 answered-arp 0
check_output "  is-at a3's MAC" "10.1.0.13 is-at 02:00:00:0a:00:0d" field arp_a3 "r['verdict']['text']"

# 6. ICMP to the gateway answered by flows
run icmp_gw a1 10.1.0.1
show icmp_gw
check "case 6: trace a1 10.1.0.1: answered-icmp, exit 0" code_is icmp_gw answered-icmp 0

# 7. DHCP: to vlcpd's DHCP server, and no side effect (no DHCP packet reaches a1's namespace)
sb_exec a1 timeout 6 tcpdump -nn -l -i eth0 "udp port 67 or udp port 68" >"$OUT/a1-dhcp.txt" 2>/dev/null &
tcpd=$!
sleep 1
run dhcp a1 --proto dhcp
show dhcp
wait $tcpd
check "case 7: trace a1 --proto dhcp: to-controller-dhcp, exit 0" code_is dhcp to-controller-dhcp 0
check_output "  the text names a1's address" "it offers 10.1.0.11/24, router 10.1.0.1 (port a1)" field dhcp "r['verdict']['text']"
check_fails "  no DHCP packet reached a1's namespace (no side effects)" grep -q "\.6[78] " "$OUT/a1-dhcp.txt"

# 9. a port bound nowhere
run unbound a1 a4
show unbound
check "case 9: trace a1 a4: port-not-bound, exit 1" code_is unbound port-not-bound 1
check_output "  the exact text" "port a4 is not bound on any server" field unbound "r['verdict']['text']"

# 10's second half: a MAC and an address of na's subnet that no port has
run unknown_mac a1 02:00:00:0a:00:99
show unknown_mac
check "case 10: trace a1 02:00:00:0a:00:99: unknown-destination, exit 1" code_is unknown_mac unknown-destination 1
check_output "  the text" "no logical port of network na has this MAC" field unknown_mac "r['verdict']['text']"
run unknown_ip a1 10.1.0.99
check "  trace a1 10.1.0.99 (in sa, no port): unknown-destination" code_is unknown_ip unknown-destination 1

# 12 (on one node): the controller not connected. openflowserver unloaded (and ioprocessing with
# it): the flows stay in OVS, the DHCP punt has nobody to answer it; loaded again, it has.
mods() { ctl hv1 module "$1" "$2" >/dev/null; }
check "module unload openflowserver on hv1" mods unload openflowserver
run noctl a1 --proto dhcp
show noctl
check "case 12: trace a1 --proto dhcp: controller-not-connected, exit 1" code_is noctl controller-not-connected 1
check_output "  names dhcp's flow and the bridge" "sent to the controller by dhcp's flow in l3input, but br-int on hv1 is not connected" \
  field noctl "r['verdict']['text']"
check_output "  with ioprocessing unloaded, it read its own model view" True own_view
check "module load openflowserver again (and what its unload stopped)" mods load openflowserver
check "  hv1's switch in sync again" sb_wait 30 synced hv1
run reconnected a1 --proto dhcp
check "  then to-controller-dhcp again" code_is reconnected to-controller-dhcp 0

# 2 on one node: a3 bound on hv2, which hv1 does not ask yet: the packet leaves hv1 by VXLAN
# with na's VNI to hv2's VTEP (the arrival the next hop would take), verdict left.
check "host a3 on hv2" l3_host a3 hv2 10.1.0.13 02:00:00:0a:00:0d a3 10.1.0.1
check "hv2's switch in sync" sb_wait 30 synced hv2
vni=$(ctl hv1 call viperflow listlogicalnetworks id=na | python3 -c 'import json, sys; print(json.load(sys.stdin)[0]["vni"])')
left_by_vxlan() {
  run vxlan a1 a3
  code_is vxlan left 1
}
check "case 2 (one node): trace a1 a3: left hv1, exit 1" sb_wait 20 left_by_vxlan
show vxlan
check_output "  out by vxlan0 with na's VNI ($vni) to hv2's VTEP" "vxlan vx $vni 192.168.99.1 192.168.99.2" field vxlan \
  "' '.join(str(o['arrival'][k]) for o in r['hops'][0]['outputs'] if 'arrival' in o for k in ('via', 'physicalnetwork', 'vni', 'tun_src', 'tun_dst'))"

# Before any trace: FROM that is no port.
run unknown p9 a1
check "trace p9 a1: source-unknown, exit 1" code_is unknown source-unknown 1
check_output "  the text" "logical port p9 does not exist" field unknown "r['verdict']['text']"

# --json (§10's keys) and --raw
check_output "the result has §10's keys" "True" field same \
  "all(k in r for k in ('id', 'mode', 'packet', 'from', 'to', 'hops', 'verdict', 'notes'))"
check_output "  raw is null without --raw" "None" field same "r['hops'][0]['raw']"
run raw a1 a2 --raw
check_output "  and OVS's text with --raw" "bridge(\"br-int\")" field raw "r['hops'][0]['raw']"
bad_proto() {
  local out rc
  out=$(ctl hv1 trace a1 a2 --proto sctp 2>&1)
  rc=$?
  echo "$out"
  [ $rc -eq 1 ]
}
check_output "a bad --proto is refused by vlcpd (400, exit 1)" "proto: 'sctp'" bad_proto
finish
