#!/usr/bin/env bash
# The distributed L3 router (ARP-learning, VLCP's default) on two simulated servers, where packets
# come from the "physical" side and where the switch goes away. A routed first packet from a local
# port reaches its destination through the controller, and so does one that comes in over the VLAN
# uplink (from a machine on the physical switch, to the server's own router MAC on that network:
# the shared router MAC is routed only from the server's own ports). A bridge deleted
# (ovs-vsctl del-br) and re-added with the same ports and iface-ids is reprogrammed: exactly the
# flows and groups it had; routed pings on one server and across servers, and a routed first
# packet, work again. Prints the time from re-adding the bridge to its reconcile.
. "$(dirname "$0")/../lib/system.sh"
. "$(dirname "$0")/../lib/l3_servers.sh"

l3_servers_up

l3_conf hv1
l3_conf hv2
l3_start_vlcpd

model() {
  l3_three_networks "a1 na sa 02:00:00:0a:00:0b 10.1.0.11" "b1 nb sb 02:00:00:0b:00:0b 10.2.0.11" \
    "c1 nc sc 02:00:00:0c:00:0b 10.3.0.11" "a2 na sa 02:00:00:0a:00:0c 10.1.0.12" \
    "b2 nb sb 02:00:00:0b:00:0c 10.2.0.12" "c2 nc sc 02:00:00:0c:00:0c 10.3.0.12"
}
check "three networks (A, B over VXLAN; C over VLAN), six ports, a router joining them" model

check "hosts: a1, b1, c1 on hv1; a2, b2, c2 on hv2" l3_host a1 hv1 10.1.0.11 02:00:00:0a:00:0b a1 10.1.0.1 &&
  l3_host b1 hv1 10.2.0.11 02:00:00:0b:00:0b b1 10.2.0.1 &&
  l3_host c1 hv1 10.3.0.11 02:00:00:0c:00:0b c1 10.3.0.1 &&
  l3_host a2 hv2 10.1.0.12 02:00:00:0a:00:0c a2 10.1.0.1 &&
  l3_host b2 hv2 10.2.0.12 02:00:00:0b:00:0c b2 10.2.0.1 &&
  l3_host c2 hv2 10.3.0.12 02:00:00:0c:00:0c c2 10.3.0.1
check "both switches in sync" sb_wait 30 synced hv1 && sb_wait 30 synced hv2

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
# 10.3.0.50, bound to no switch of the model), routes through hv2's own router MAC on C (its
# uplink's MAC XOR the out mask, 0a:00:00:00:00:00). (No VLAN devices in this kernel: x's frames
# are tagged by a standalone OVS bridge br-x, an access port of that VLAN and a trunk to the
# physical switch.) hv2 routes them: in on its uplink (the tag popped), to a1 (A, on hv1), for
# which it has no flow yet. The reply comes back through hv1.
m=$(sb_vsctl hv2 get interface "$phys2" mac_in_use | tr -d '"')
hv2mac=$(printf '%02x' $((0x${m%%:*} ^ 0x0a))):${m#*:}
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
    sb_exec x ip neigh replace 10.3.0.1 lladdr "$hv2mac" dev eth0 nud permanent &&
    sb_exec phys bridge fdb add "$hv2mac" dev "$(sb_ifname shv2)" master static
}
check "a physical host x in C's VLAN ($vlan), its gateway hv2's router MAC ($hv2mac)" physical_host
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
# (The packet-in carries the frame as the ingress left it, its VLAN tag popped: the router sends
# it on with its registers from l2output, never through table 0 again.)
check "routed first packet from the VLAN uplink arrives (x -> a1, one echo request answered)" test $first_ok = 0
check "  a1 saw it" grep -q "10.3.0.50 > 10.1.0.11: ICMP echo request" "$SB_DIR/uplink-first.txt"
check "  through hv2's controller (vlcp_l3_first_packets_resolved_total + 1)" \
  sb_wait 5 test_ge hv2 vlcp_l3_first_packets_resolved_total $((first0 + 1))
check_output "  hv2 learned a1's flow" "nw_dst=10.1.0.11" table hv2 l3output
check "  the next packets are routed by the flow (x -> a1)" sb_ping x 10.1.0.11 3

# --- the bridge deleted and re-added --------------------------------------------------------
# hv2's flows and groups, learned ones (cookie bit 63) aside, as text. A re-created tunnel port
# has a new MAC, and hv2's router MAC on the VXLAN networks derives from it (XOR 0a:...): it is
# named, not compared.
outmac() {
  local m
  m=$(sb_vsctl hv2 get interface vxlan0 mac_in_use | tr -d '"')
  printf '%02x:%s' $((0x${m%%:*} ^ 0x0a)) "${m#*:}"
}
flows() {
  ctl hv2 dump-flows "$(mgmt hv2)" --names --no-stats | grep -v '^#\|cookie=0x[89a-f]' | sed 's/^ *//' |
    sed "s/$(outmac)/OUTMAC(vxlan0)/g" | sort
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
