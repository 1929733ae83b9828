#!/usr/bin/env bash
# The distributed L3 router (ARP-learning, VLCP's default) on two simulated servers, where packets
# come from the "physical" side and where the switch goes away. A routed first packet from a local
# port reaches its destination through the controller. One that comes in over the VLAN uplink
# (from a machine on the physical switch, to the router MAC) is resolved and its flow learned,
# but the packet itself is lost today (asserted as a KNOWN BUG below). A bridge deleted
# (ovs-vsctl del-br) and re-added with the same ports and iface-ids is reprogrammed: exactly the
# flows and groups it had; routed pings on one server and across servers, and a routed first
# packet, work again. Prints the time from re-adding the bridge to its reconcile.
vlcpctl=${VLCP_VLCPCTL:?set VLCP_VLCPCTL}
. "$(dirname "$0")/../lib/system.sh"
rmac=1a:23:67:59:63:33

setup() {
  sb_zk_start 1 &&
    sb_ovs_start hv1 && sb_ovs_start hv2 &&
    sb_vsctl hv1 set Open_vSwitch . external_ids:system-id=hv1 &&
    sb_vsctl hv2 set Open_vSwitch . external_ids:system-id=hv2 &&
    sb_mgmt_attach hv1 11 && sb_mgmt_attach hv2 12 &&
    sb_underlay hv1 192.168.99.1/24 hv2 192.168.99.2/24 &&
    sb_bridge hv1 br-int 0000000000000001 && sb_vxlan_port hv1 br-int vxlan0 flow &&
    sb_bridge hv2 br-int 0000000000000002 && sb_vxlan_port hv2 br-int vxlan0 flow
}
check "ZooKeeper, two servers, an underlay" setup || { finish; exit 1; }
sb_physwitch phys
phys1=$(sb_physport hv1 br-int phys)
phys2=$(sb_physport hv2 br-int phys)

conf() {
  sb_vlcpd_server_conf "$SB_DIR/$1.conf" "$1" "server.loglevel = 'info'" \
    "module.openflowmanager.apps = ['ioprocessing', 'l2switch', 'vxlancast', 'arpresponder', 'dhcpserver', 'icmpresponder', 'l3router']"
}
conf hv1
conf hv2
api() { sb_exec "$1" curl -sf --max-time 5 "http://127.0.0.1:8081$2"; }
ctl() {
  local hv=$1
  shift
  sb_exec "$hv" "$vlcpctl" --api http://127.0.0.1:8081 "$@"
}
status() {
  api "$1" /ioprocessing/status | python3 -c "
import json, sys
d = json.load(sys.stdin)['result']
s = d['switches'][0] if d['switches'] else {}
print($2)"
}
synced() { [ "$(status "$1" "s.get('attached') and s.get('synced')")" = True ]; }
up() { api "$1" /manager/modules >/dev/null; }
sb_vlcpd_start hv1 "$SB_DIR/hv1.conf" hv1
sb_vlcpd_start hv2 "$SB_DIR/hv2.conf" hv2
check "vlcpd on both servers serves its API" sb_wait 30 up hv1 && sb_wait 30 up hv2
db_up() { ctl "$1" call viperflow listphysicalnetworks >/dev/null 2>&1; }
check "both reach ZooKeeper" sb_wait 30 db_up hv1 && sb_wait 30 db_up hv2

model() {
  ctl hv1 call viperflow createphysicalnetwork id=vx type=vxlan 'vnirange=[[10000,10100]]' >/dev/null &&
    ctl hv1 call viperflow createphysicalnetwork id=pv type=vlan 'vlanrange=[[100,200]]' >/dev/null &&
    ctl hv1 call viperflow createphysicalport name=vxlan0 physicalnetwork=vx >/dev/null &&
    ctl hv1 call viperflow createphysicalport name="$phys1" physicalnetwork=pv >/dev/null &&
    ctl hv1 call viperflow createphysicalport name="$phys2" physicalnetwork=pv >/dev/null &&
    for n in "na vx sa 10.1.0" "nb vx sb 10.2.0" "nc pv sc 10.3.0"; do
      set -- $n
      ctl hv1 call viperflow createlogicalnetwork id="$1" physicalnetwork="$2" >/dev/null &&
        ctl hv1 call viperflow createsubnet id="$3" logicalnetwork="$1" cidr="$4.0/24" gateway="$4.1" >/dev/null ||
        return 1
    done &&
    for p in "a1 na sa 02:00:00:0a:00:0b 10.1.0.11" "b1 nb sb 02:00:00:0b:00:0b 10.2.0.11" \
      "c1 nc sc 02:00:00:0c:00:0b 10.3.0.11" "a2 na sa 02:00:00:0a:00:0c 10.1.0.12" \
      "b2 nb sb 02:00:00:0b:00:0c 10.2.0.12" "c2 nc sc 02:00:00:0c:00:0c 10.3.0.12"; do
      set -- $p
      ctl hv1 call viperflow createlogicalport id="$1" logicalnetwork="$2" subnet="$3" mac_address="$4" \
        ip_address="$5" >/dev/null || return 1
    done &&
    ctl hv1 call vrouterapi createvirtualrouter id=r1 >/dev/null &&
    for s in sa sb sc; do ctl hv1 call vrouterapi addrouterinterface router=r1 subnet=$s >/dev/null || return 1; done
}
check "three networks (A, B over VXLAN; C over VLAN), six ports, a router joining them" model

host() {  # host NAME SERVER ADDR MAC PORT GATEWAY
  sb_host "$1" "$2" br-int "$3/24" mac="$4" iface_id="$5" &&
    sb_exec "$1" ip route add default via "$6"
}
check "hosts: a1, b1, c1 on hv1; a2, b2, c2 on hv2" host a1 hv1 10.1.0.11 02:00:00:0a:00:0b a1 10.1.0.1 &&
  host b1 hv1 10.2.0.11 02:00:00:0b:00:0b b1 10.2.0.1 &&
  host c1 hv1 10.3.0.11 02:00:00:0c:00:0b c1 10.3.0.1 &&
  host a2 hv2 10.1.0.12 02:00:00:0a:00:0c a2 10.1.0.1 &&
  host b2 hv2 10.2.0.12 02:00:00:0b:00:0c b2 10.2.0.1 &&
  host c2 hv2 10.3.0.12 02:00:00:0c:00:0c c2 10.3.0.1
check "both switches in sync" sb_wait 30 synced hv1 && sb_wait 30 synced hv2

mgmt() { echo "unix:$(sb_ovs_dir "$1")/run/br-int.mgmt"; }
table() { ctl "$1" dump-flows "$(mgmt "$1")" --names --table "$2" --no-stats; }
metric() {
  sb_exec "$1" curl -sf --max-time 5 http://127.0.0.1:9464/metrics | awk -v m="$2" '$1 == m {print int($2)}'
}
test_ge() { [ "$(metric "$1" "$2")" -ge "$3" ] 2>/dev/null; }  # test_ge SERVER METRIC MIN
# once HOST DST: one echo request, answered (no retry: the first packet must get through).
once() { sb_exec "$1" ping -c 1 -W 3 "$2" >/dev/null; }
# The hosts know their gateways (the ARP responder, in the switch) before the first routed packet.
for h in a1 b1 c1 a2 b2 c2; do sb_exec "$h" ping -c 1 -W 2 "$(sb_exec "$h" ip route | awk '/default/ {print $3}')" >/dev/null; done

# --- a routed first packet ------------------------------------------------------------------
# From a local port: c2 (C, hv2) -> b1 (B, hv1). hv2 has no flow for b1 until this packet.
check_fails "hv2 has no flow for b1 before a packet is routed to it" \
  bash -c '[[ "$1" == *nw_dst=10.2.0.11* ]]' _ "$(table hv2 l3output)"
first0=$(metric hv2 vlcp_l3_first_packets_resolved_total)
check "routed first packet from a local port arrives (c2 -> b1, one echo request answered)" once c2 10.2.0.11
check_output "  hv2 learned b1's flow" "nw_dst=10.2.0.11" table hv2 l3output
check "  through the controller (vlcp_l3_first_packets_resolved_total + 1)" \
  sb_wait 5 test_ge hv2 vlcp_l3_first_packets_resolved_total $((first0 + 1))

# From the VLAN uplink: x, a machine on the physical switch in C's VLAN (a port of the model,
# 10.3.0.50, bound to no switch of the model), routes through the router MAC. (No VLAN devices in
# this kernel: x's frames are tagged by a standalone OVS bridge br-x, an access port of that VLAN
# and a trunk to the physical switch.) The physical switch sends frames for the router MAC to hv2
# only (a static entry), so only hv2 routes them: in on its uplink (the tag popped), to a1 (A, on
# hv1), for which it has no flow yet. The reply comes back through hv1.
vlan=$(ctl hv1 --json logicalnetwork list | python3 -c "import json,sys; print([n['vlanid'] for n in json.load(sys.stdin) if n['id']=='nc'][0])")
xmac=02:00:00:0c:00:50
physical_host() {
  local acc trunk sw ns
  acc=$(sb_ifname xa) trunk=$(sb_ifname xt) sw=$(sb_ifname sx) ns=$(sb_ns hv1)
  ctl hv1 call viperflow createlogicalport id=x logicalnetwork=nc subnet=sc mac_address=$xmac \
    ip_address=10.3.0.50 >/dev/null &&
    sb_netns x &&
    ip -n "$ns" link add "$acc" type veth peer name eth0 netns "$(sb_ns x)" && sb_record link "$acc" &&
    ip -n "$ns" link add "$trunk" type veth peer name "$sw" netns "$(sb_ns phys)" && sb_record link "$trunk" &&
    ip -n "$(sb_ns phys)" link set "$sw" master sw up &&
    ip -n "$ns" link set "$acc" up && ip -n "$ns" link set "$trunk" up &&
    ip netns exec "$ns" ethtool -K "$trunk" tx off >/dev/null 2>&1 &&
    sb_vsctl hv1 add-br br-x -- set bridge br-x datapath_type=netdev fail_mode=standalone \
      -- add-port br-x "$acc" tag="$vlan" -- add-port br-x "$trunk" &&
    sb_exec x ip link set eth0 address $xmac && sb_exec x ip addr add 10.3.0.50/24 dev eth0 &&
    sb_exec x ip link set eth0 up && sb_exec x ethtool -K eth0 tx off >/dev/null 2>&1 &&
    sb_exec x ip route add default via 10.3.0.1 &&
    sb_exec x ip neigh replace 10.3.0.1 lladdr $rmac dev eth0 nud permanent &&
    sb_exec phys bridge fdb add $rmac dev "$(sb_ifname shv2)" master static
}
check "a physical host x in C's VLAN ($vlan), its gateway the router MAC, reached through hv2" physical_host
check_fails "hv2 has no flow for a1 yet" bash -c '[[ "$1" == *nw_dst=10.1.0.11* ]]' _ "$(table hv2 l3output)"
first0=$(metric hv2 vlcp_l3_first_packets_resolved_total)
sb_exec a1 timeout 4 tcpdump -c 2 -nn -e -i eth0 icmp and src host 10.3.0.50 >"$SB_DIR/uplink-first.txt" 2>/dev/null &
capture=$!
sleep 0.5
once x 10.1.0.11
first_ok=$?
wait $capture
echo "first packet from the uplink (x -> a1), as a1 saw it:"
cat "$SB_DIR/uplink-first.txt"
# KNOWN BUG, asserted as it is so that the fix shows: the packet-in carries the packet as the
# ingress left it (VLAN tag popped), and router.cc's packet_in sends it back with PACKET_OUT
# in_port=<the uplink>, output:TABLE. Table 0 then sees an untagged frame from the uplink, which
# only matches in_port=uplink,dl_vlan=VID: the priority-0 drop takes it (ofproto/trace). A
# first packet that came in by tunnel would be too (the ingress matches tun_id; a PACKET_OUT
# carries none), not exercised here: nothing routes frames arriving by tunnel yet. When packet_in
# re-injects with the registers (L3_FLOWS.md 4.3's PACKET_OUT in_port=CONTROLLER ... resubmit),
# turn these two into `check` / `check_output`.
check_fails "KNOWN BUG: routed first packet from the VLAN uplink is lost (x -> a1, one echo request unanswered)" \
  test $first_ok = 0
check_fails "KNOWN BUG:   a1 never saw it" grep -q "10.3.0.50 > 10.1.0.11: ICMP echo request" "$SB_DIR/uplink-first.txt"
check "  through hv2's controller (vlcp_l3_first_packets_resolved_total + 1)" \
  sb_wait 5 test_ge hv2 vlcp_l3_first_packets_resolved_total $((first0 + 1))
check_output "  hv2 learned a1's flow" "nw_dst=10.1.0.11" table hv2 l3output
check "  the next packets are routed by the flow (x -> a1)" sb_ping x 10.1.0.11 3

# --- the bridge deleted and re-added --------------------------------------------------------
# hv2's flows and groups, learned ones (cookie bit 63) aside, as text.
flows() {
  ctl hv2 dump-flows "$(mgmt hv2)" --names --no-stats | grep -v '^#\|cookie=0x[89a-f]' | sed 's/^ *//' | sort
}
groups() { sb_ofctl hv2 dump-groups br-int | sed 1d | sort; }
l3count() { flows | grep -c 'cookie=0x6[0-9a-f]\{12\}[,/ ]'; }
flows >"$SB_DIR/flows-before.txt"
groups >"$SB_DIR/groups-before.txt"
n_l3=$(l3count)
check "hv2 holds the router's flows (cookie app 6: $n_l3)" test "$n_l3" -gt 0
ports=("$(sb_host_port a2)" "$(sb_host_port b2)" "$(sb_host_port c2)" "$phys2" vxlan0)
declare -A ofport
for p in "${ports[@]}"; do ofport[$p]=$(sb_ofport hv2 "$p"); done

sb_vsctl hv2 del-br br-int
detached() { [ "$(status hv2 "bool(s.get('attached'))")" = False ]; }
check "hv2's bridge deleted (ovs-vsctl del-br): vlcpd lets it go" sb_wait 20 detached
unreachable() { ! sb_ping "$1" "$2" 1; }
check "  routed traffic through hv2 stops (b2 -> a1)" unreachable b2 10.1.0.11
sb_neigh_flush b2

readd() {
  local h mac
  sb_bridge hv2 br-int 0000000000000002 &&
    sb_vxlan_port hv2 br-int vxlan0 flow "${ofport[vxlan0]}" &&
    sb_vsctl hv2 add-port br-int "$phys2" -- set interface "$phys2" ofport_request="${ofport[$phys2]}" || return 1
  for h in a2:02:00:00:0a:00:0c b2:02:00:00:0b:00:0c c2:02:00:00:0c:00:0c; do
    mac=${h#*:} h=${h%%:*}
    sb_vsctl hv2 add-port br-int "$(sb_host_port "$h")" -- set interface "$(sb_host_port "$h")" \
      ofport_request="${ofport[$(sb_host_port "$h")]}" external_ids:iface-id="$h" \
      external_ids:attached-mac="$mac" || return 1
  done
}
t0=$(date +%s%N)
check "the bridge re-added with the same ports, ofports and iface-ids" readd
check "  vlcpd takes it over and reconciles it" sb_wait 30 synced hv2
t1=$(date +%s%N)
echo "bridge re-added -> reconciled: $(((t1 - t0) / 1000000)) ms"
check_output "  its controller is vlcpd again" "controller.sock" sb_vsctl hv2 get-controller br-int
same_flows() { flows | diff "$SB_DIR/flows-before.txt" - >"$SB_DIR/flows-diff.txt"; }
check "  exactly the flows it had (learned ones aside)" sb_wait 10 same_flows
[ -s "$SB_DIR/flows-diff.txt" ] && head -20 "$SB_DIR/flows-diff.txt"
check "  the router's flows among them ($n_l3)" test "$(l3count)" -eq "$n_l3"
same_groups() { groups | diff "$SB_DIR/groups-before.txt" - >/dev/null; }
check "  and exactly the groups" same_groups
check "  a routed first packet on the new bridge arrives (a2 -> c1: one echo request answered)" once a2 10.3.0.11
check "routed on hv2 again (b2 -> c2, c2 -> a2)" sb_wait 10 sb_ping b2 10.3.0.12 1 && sb_ping c2 10.1.0.12 3
check "routed across servers again, both ways (b2 -> a1, a1 -> b2, c2 -> b1, c1 -> a2)" \
  sb_wait 10 sb_ping b2 10.1.0.11 1 && sb_ping a1 10.2.0.12 3 && sb_ping c2 10.2.0.11 3 && sb_ping c1 10.1.0.12 3
finish
