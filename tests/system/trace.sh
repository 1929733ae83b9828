#!/usr/bin/env bash
# vlcpctl trace (issue 21, docs/TRACE_DESIGN.md §13.2): two simulated servers with the full L3
# pipeline on one ObjectDB (ZooKeeper), the three-network model with router r1. First the cases
# hv1 answers with hv2 hosting nothing (1, 5, 6, 7, 9, 12 on one node), then across servers (2,
# 3, 4, 8, 10, 11, 12, 13, 14): hv2 hosts a3, b1 and c2, each hop runs on its own server and the
# servers reach each other through ObjectDB only. Each case checks vlcpctl's exit code and
# verdict.code in --json, and where it matters the hops' servers and the step that decided:
# behaviour, not flow text. The trace runs ofproto/trace without a packet: a traced DHCP DISCOVER
# never reaches the port's namespace.
. "$(dirname "$0")/../lib/system.sh"
. "$(dirname "$0")/../lib/l3_servers.sh"

l3_servers_up
l3_conf hv1
l3_conf hv2
l3_start_vlcpd

model() {
  l3_three_networks "a1 na sa 02:00:00:0a:00:0b 10.1.0.11" "a2 na sa 02:00:00:0a:00:0c 10.1.0.12" \
    "a3 na sa 02:00:00:0a:00:0d 10.1.0.13" "a4 na sa 02:00:00:0a:00:0e 10.1.0.14" \
    "b1 nb sb 02:00:00:0b:00:0b 10.2.0.11" "c1 nc sc 02:00:00:0c:00:0b 10.3.0.11" \
    "c2 nc sc 02:00:00:0c:00:0c 10.3.0.12"
}
check "three networks, subnets, ports a1-a4, b1, c1, c2, router r1 with three interfaces" model
check "hosts a1 and a2 on hv1" l3_host a1 hv1 10.1.0.11 02:00:00:0a:00:0b a1 10.1.0.1 &&
  l3_host a2 hv1 10.1.0.12 02:00:00:0a:00:0c a2 10.1.0.1
check "hv1's switch reconciled and in sync" sb_wait 30 synced hv1
check "module trace answers /trace/status" sb_wait 10 api hv1 /trace/status

OUT=$SB_DIR/trace
mkdir -p "$OUT"
# run NAME ARGS...: vlcpctl trace ARGS on hv1 (run_on SERVER NAME ARGS...: on SERVER), --json into
# $OUT/NAME.json and its exit code into $OUT/NAME.rc; the text form into $OUT/NAME.txt.
run_on() {
  local hv=$1 name=$2
  shift 2
  ctl "$hv" --json trace "$@" >"$OUT/$name.json" 2>"$OUT/$name.err"
  echo $? >"$OUT/$name.rc"
  ctl "$hv" trace "$@" >"$OUT/$name.txt" 2>&1
}
run() { run_on hv1 "$@"; }
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

# Across servers. hv2 hosts a3 (na, VXLAN), b1 (nb) and c2 (nc, VLAN); hv1 hosts c1 too.
check "hosts a3, b1, c2 on hv2 and c1 on hv1" l3_host a3 hv2 10.1.0.13 02:00:00:0a:00:0d a3 10.1.0.1 &&
  l3_host b1 hv2 10.2.0.11 02:00:00:0b:00:0b b1 10.2.0.1 && l3_host c2 hv2 10.3.0.12 02:00:00:0c:00:0c c2 10.3.0.1 &&
  l3_host c1 hv1 10.3.0.11 02:00:00:0c:00:0b c1 10.3.0.1
check "both switches in sync" sb_wait 30 synced hv1 && sb_wait 30 synced hv2
nodes() { api hv1 /trace/nodes | python3 -c "import json, sys; print(sorted(n['systemid'] for n in json.load(sys.stdin)['result'] if n['live']))"; }
both_live() { [ "$(nodes)" = "['hv1', 'hv2']" ]; }
check "hv1 sees both node records live (/trace/nodes)" sb_wait 40 both_live
net() { ctl hv1 call viperflow listlogicalnetworks id="$1" | python3 -c "import json, sys; print(json.load(sys.stdin)[0]['$2'])"; }
vni=$(net na vni)
vlan=$(net nc vlanid)
servers() { field "$1" "' '.join(h['server'] for h in r['hops'])"; }

# 2. VXLAN: delivered on hv2, two hops, hop 2 arriving by VXLAN with na's VNI
delivered_vxlan() {
  run vxlan a1 a3
  code_is vxlan delivered 0
}
check "case 2: trace a1 a3: delivered on hv2, exit 0" sb_wait 20 delivered_vxlan
show vxlan
check_output "  hops hv1 hv2" "hv1 hv2" servers vxlan
check_output "  hop 2 arrives by vxlan, VNI $vni, from hv1's VTEP to hv2's" "vxlan $vni 192.168.99.1 192.168.99.2" field vxlan \
  "' '.join(str(r['hops'][1]['arrival'][k]) for k in ('via', 'vni', 'tun_src', 'tun_dst'))"
check_output "  the verdict names hv2" "hv2" field vxlan "r['verdict']['server']"

# 3. VLAN: c1 -> c2 over the uplinks
run vlan c1 c2
show vlan
check "case 3: trace c1 c2: delivered on hv2, exit 0" code_is vlan delivered 0
check_output "  hops hv1 hv2, hop 2 by vlan $vlan" "hv1 hv2 vlan $vlan" field vlan \
  "' '.join([h['server'] for h in r['hops']] + [r['hops'][1]['arrival']['via'], str(r['hops'][1]['arrival'].get('vlan'))])"

# 4. routed: a1 -> 10.2.0.11 (b1 on hv2), TTL 63 in hop 2's flow, routed by r1 on hv1. l3output
# places a remote host on its first packet (to-controller-first-packet): a real ping first.
sb_exec a1 ping -c 2 -W 2 10.2.0.11 >/dev/null
routed() {
  run routed a1 10.2.0.11 --raw
  code_is routed delivered 0
}
check "case 4: trace a1 10.2.0.11 (after a ping placed b1): delivered to b1 on hv2, exit 0" sb_wait 10 routed
show routed
check_output "  to port b1, hops hv1 hv2" "b1 hv1 hv2" field routed "r['to']['id'] + ' ' + ' '.join(h['server'] for h in r['hops'])"
check_output "  hop 2's flow has TTL 63" True field routed "'nw_ttl=63' in r['hops'][1]['flow']"
check_output "  an l3router step on hv1 owned by l3, naming router r1" True field routed \
  "any(s['table_name'] == 'l3router' and s['owner']['app'] == 'l3' and 'router r1' in s['explained'] for s in r['hops'][0]['steps'])"
field routed "r['hops'][0]['raw']" >"$OUT/routed-hv1.raw"
field routed "r['hops'][1]['raw']" >"$OUT/routed-hv2.raw"

# 8. the same trace from hv2's CLI: hv2 asks hv1 for hop 1 through ObjectDB
run_on hv2 from_hv2 a1 a3
show from_hv2
check "case 8: trace a1 a3 run on hv2: delivered, exit 0" code_is from_hv2 delivered 0
check_output "  hops hv1 hv2" "hv1 hv2" servers from_hv2

# 14. from outside (§1, a physical FROM with --network): nc's packet coming in on hv2's uplink
# with nc's VLAN tag, and na's on hv2's VXLAN tunnel with na's VNI; hop 1 runs on hv2 (asked by hv1).
run outside_vlan "hv2/$phys2" c2 --network nc --src-mac 02:00:00:0c:00:99 --src-ip 10.3.0.99
show outside_vlan
check "case 14: trace hv2/$phys2 c2 --network nc: delivered, exit 0" code_is outside_vlan delivered 0
check_output "  one hop on hv2, arriving on $phys2 by vlan $vlan" "1 hv2 $phys2 vlan $vlan" field outside_vlan \
  "' '.join([str(len(r['hops'])), r['hops'][0]['server']] + [str(r['hops'][0]['arrival'].get(k)) for k in ('iface', 'via', 'vlan')])"
run outside_vxlan hv2/vxlan0 a3 --network na --src-mac 02:00:00:0a:00:99 --src-ip 10.1.0.99
show outside_vxlan
check "case 14: trace hv2/vxlan0 a3 --network na: delivered, exit 0" code_is outside_vxlan delivered 0
check_output "  on hv2 by vxlan, VNI $vni, to hv2's VTEP" "hv2 vxlan $vni 192.168.99.2" field outside_vxlan \
  "' '.join([r['hops'][0]['server']] + [str(r['hops'][0]['arrival'][k]) for k in ('via', 'vni', 'tun_dst')])"
refused() {  # refused PATTERN ARGS...: vlcpctl trace ARGS on hv1 exits 1 with PATTERN in its output
  local pattern=$1 out rc
  shift
  out=$(ctl hv1 trace "$@" 2>&1)
  rc=$?
  echo "$out"
  [ $rc -eq 1 ] && [[ $out == *"$pattern"* ]]
}
check "  hv2/vxlan0 is no uplink of nc's physical network: refused, naming what it is" \
  refused "vxlan0 on hv2 (br-int) is a VXLAN tunnel of physical network vx, not an uplink of physical network pv" \
  hv2/vxlan0 c2 --network nc --src-mac 02:00:00:0c:00:99 --src-ip 10.3.0.99
check "  an unknown network: 400" refused "no logical network 'nz'" hv2/vxlan0 a3 --network nz --src-mac 02:00:00:0a:00:99 --src-ip 10.1.0.99
check "  a bad MAC: 400" refused "src_mac: '02:00'" hv2/vxlan0 a3 --network na --src-mac 02:00 --src-ip 10.1.0.99
check "  --network with a logical FROM: 400" refused "network: only with FROM = SERVER/INTERFACE" a1 a2 --network na --src-mac 02:00:00:0a:00:99 --src-ip 10.1.0.99

# 9 again, every node asked: a4 is bound nowhere
run unbound2 a1 a4
check "case 9 with hv2 asked: port-not-bound naming both servers" code_is unbound2 port-not-bound 1
check_output "  the text" "port a4 is not bound on any server that answered (hv1, hv2)" field unbound2 "r['verdict']['text']"

# 10. a deleted network: vd1 on hv2 keeps iface-id d1, whose port, subnet and network are gone
mk_nd() {
  ctl hv1 call viperflow createlogicalnetwork id=nd physicalnetwork=vx >/dev/null &&
    ctl hv1 call viperflow createsubnet id=sd logicalnetwork=nd cidr=10.4.0.0/24 gateway=10.4.0.1 >/dev/null &&
    ctl hv1 call viperflow createlogicalport id=d1 logicalnetwork=nd subnet=sd mac_address=02:00:00:0d:00:0b \
      ip_address=10.4.0.11 >/dev/null
}
rm_nd() {
  ctl hv1 call viperflow deletelogicalport id=d1 >/dev/null && ctl hv1 call viperflow deletesubnet id=sd >/dev/null &&
    ctl hv1 call viperflow deletelogicalnetwork id=nd >/dev/null
}
check "network nd, port d1, host vd1 on hv2; then d1, sd and nd deleted" mk_nd &&
  sb_host vd1 hv2 br-int 10.4.0.11/24 mac=02:00:00:0d:00:0b iface_id=d1 && rm_nd
run orphan "hv2/$(sb_ifname vd1)" a1
show orphan
check "case 10: trace hv2/<vd1's interface> a1: source-iface-orphan, exit 1" code_is orphan source-iface-orphan 1
check_output "  names d1 and hv2" "has iface-id d1, which is no logical port" field orphan "r['verdict']['text']"
echo "--- mailbox: hv1 $(api hv1 /trace/status)"
echo "--- mailbox: hv2 $(api hv2 /trace/status)"
ctl hv1 db get viperflow.tracerequest.hv1.0 viperflow.traceanswer.hv1.0.hv2 viperflow.vlcpnode.hv1 viperflow.vlcpnode.hv2
run oldmac a1 02:00:00:0d:00:0b
check "  trace a1 <d1's old MAC>: unknown-destination" code_is oldmac unknown-destination 1

# 12. the controller not connected on the remote server: hv2 runs the hop and says so
check "module unload openflowserver on hv2" ctl hv2 module unload openflowserver
run noctl2 b1 --proto dhcp
show noctl2
check "case 12: trace b1 --proto dhcp: controller-not-connected on hv2, exit 1" code_is noctl2 controller-not-connected 1
check_output "  names br-int on hv2" "br-int on hv2 is not connected" field noctl2 "r['verdict']['text']"
check "module load openflowserver on hv2 again" ctl hv2 module load openflowserver
check "  hv2's switch in sync again" sb_wait 30 synced hv2
dhcp_hv2() {
  run dhcp2 b1 --proto dhcp
  code_is dhcp2 to-controller-dhcp 0
}
check "  then to-controller-dhcp on hv2" sb_wait 10 dhcp_hv2

# 13. hv2's vlcpd stopped: the trace ends peer-no-answer within its timeout
pid2=$(sb_vlcpd_pid hv2)
kill -STOP "$pid2"
t0=$(date +%s)
run stopped a1 a3 --timeout 8
t1=$(date +%s)
kill -CONT "$pid2"
show stopped
check "case 13: hv2 stopped: trace a1 a3 --timeout 8: peer-no-answer, exit 1" code_is stopped peer-no-answer 1
check_output "  names hv2" "server hv2's vlcpd did not answer" field stopped "r['verdict']['text']"
# (run traces twice: --json and the text form)
check "  each within 8 s" [ $((t1 - t0)) -le 16 ]

# 11. a router interface removed: r1 has no route to b1's subnet
rri() { ctl hv1 call vrouterapi "$1" router=r1 subnet="$2" >/dev/null; }
check "remove r1's interface on sb" rri removerouterinterface sb
noroute() {
  run noroute a1 10.2.0.11
  code_is noroute no-route 1
}
check "case 11: trace a1 10.2.0.11: no-route" sb_wait 10 noroute
show noroute
check "re-add r1's interface on sb" rri addrouterinterface sb

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
