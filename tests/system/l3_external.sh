#!/usr/bin/env bash
# External networks and forwarding nodes (VLCP's enable_router_forward), end to end on two
# simulated servers sharing ZooKeeper. Router r1 joins A (VXLAN, host a1 on hv1), B (VXLAN, host
# b2 on hv2) and an external subnet E (172.16.0.0/24 on VLAN 300 of a "physical" switch, gateway
# 172.16.0.254: a namespace with 198.51.100.1 and 203.0.113.1 behind it, routing 10.0.0.0/8 back
# through the forwarding node's external address). hv1 is the forwarding node (it has the
# uplink and enable_router_forward); hv2 is not and sends external traffic to hv1's router.
#   - hv1 takes an address in E and publishes it in viperflow.dvrouterexternaladdressinfo
#     (objectdb/getonce), and its router MAC per physical network in dvrouterforwardinfo;
#   - the gateway's ARP for that address is answered by hv1's flows;
#   - the gateway's MAC is resolved by ARP from vlcpd (the model does not know it) and the very
#     first routed packet is kept meanwhile, not dropped;
#   - a1 reaches the gateway and what is behind it (default route, TTL decremented once by the
#     router), b2 on hv2 too (forwarded over VXLAN to hv1's router), the gateway reaches both
#     (its first packet to b2, in on the uplink and resolved by hv1's controller, arrives);
#   - a static route through a nexthop outside the model (the gateway) is resolved by ARP;
#   - an address nobody answers for is given up after arp_incomplete_timeout and refused by a
#     short-lived flow, counted;
#   - removing the external interface cuts the way out.
. "$(dirname "$0")/../lib/system.sh"
. "$(dirname "$0")/../lib/l3_servers.sh"

check "ZooKeeper, two servers, an underlay" l3_two_servers || { finish; exit 1; }
sb_physwitch phys
phys1=$(sb_physport hv1 br-int phys)

# The external gateway: an access port in VLAN 300 of a physical switch (an OVS in standalone
# mode: this kernel has no 802.1Q devices and no bridge VLAN filtering) trunked to the physical
# switch the servers' uplinks share.
gateway() {
  sb_ovs_start phy &&
    sb_vsctl phy add-br br0 -- set bridge br0 datapath_type=netdev fail_mode=standalone &&
    sb_physport phy br0 phys >/dev/null &&
    sb_host extgw phy br0 172.16.0.254/24 mac=02:00:00:ee:00:fe &&
    sb_vsctl phy set port "$(sb_host_port extgw)" tag=300 &&
    sb_exec extgw ip addr add 198.51.100.1/32 dev lo && sb_exec extgw ip addr add 203.0.113.1/32 dev lo
}
check "an external gateway on VLAN 300 of the physical switch" gateway

timing=("module.l3router.arp_cycle_time = 1" "module.l3router.arp_incomplete_timeout = 3")
l3_conf hv1 "${timing[@]}" "module.l3router.enable_router_forward = True"
l3_conf hv2 "${timing[@]}"
l3_start_vlcpd

model() {
  ctl hv1 call viperflow createphysicalnetwork id=vx type=vxlan 'vnirange=[[10000,10100]]' >/dev/null &&
    ctl hv1 call viperflow createphysicalnetwork id=pv type=vlan 'vlanrange=[[100,400]]' >/dev/null &&
    ctl hv1 call viperflow createphysicalport name=vxlan0 physicalnetwork=vx >/dev/null &&
    ctl hv1 call viperflow createphysicalport name="$phys1" physicalnetwork=pv >/dev/null &&
    ctl hv1 call viperflow createlogicalnetwork id=na physicalnetwork=vx >/dev/null &&
    ctl hv1 call viperflow createlogicalnetwork id=nb physicalnetwork=vx >/dev/null &&
    ctl hv1 call viperflow createlogicalnetwork id=ne physicalnetwork=pv vlanid=300 >/dev/null &&
    ctl hv1 call viperflow createsubnet id=sa logicalnetwork=na cidr=10.1.0.0/24 gateway=10.1.0.1 >/dev/null &&
    ctl hv1 call viperflow createsubnet id=sb logicalnetwork=nb cidr=10.2.0.0/24 gateway=10.2.0.1 >/dev/null &&
    ctl hv1 call viperflow createsubnet id=se logicalnetwork=ne cidr=172.16.0.0/24 gateway=172.16.0.254 \
      isexternal=true allocated_start=172.16.0.10 allocated_end=172.16.0.20 >/dev/null &&
    ctl hv1 call viperflow createlogicalport id=a1 logicalnetwork=na subnet=sa mac_address=02:00:00:0a:00:0b \
      ip_address=10.1.0.11 >/dev/null &&
    ctl hv1 call viperflow createlogicalport id=b2 logicalnetwork=nb subnet=sb mac_address=02:00:00:0b:00:0c \
      ip_address=10.2.0.12 >/dev/null &&
    ctl hv1 call vrouterapi createvirtualrouter id=r1 >/dev/null &&
    for s in sa sb se; do ctl hv1 call vrouterapi addrouterinterface router=r1 subnet=$s >/dev/null || return 1; done
}
check "networks A, B (VXLAN), external E (VLAN 300) and router r1 through the API" model

check "hosts: a1 on hv1, b2 on hv2" l3_host a1 hv1 10.1.0.11 02:00:00:0a:00:0b a1 10.1.0.1 &&
  l3_host b2 hv2 10.2.0.12 02:00:00:0b:00:0c b2 10.2.0.1
check "both switches in sync" sb_wait 30 synced hv1 && sb_wait 30 synced hv2

# hv1's external address, as published in ObjectDB (objectdb/getonce, as an operator reads it).
getonce() { api "$1" "/objectdb/getonce?key=$2"; }
ext_ip() {
  getonce hv2 viperflow.dvrouterexternaladdressinfo | python3 -c '
import json, sys
d = json.load(sys.stdin)["result"]
v = d.get("value") if isinstance(d, dict) and "value" in d else d
for e in (v or {}).get("info", []):
    if e[0] == "hv1" and e[3] == "se":
        print(e[4])'
}
has_ext_ip() { [ -n "$(ext_ip)" ]; }
check "hv1 published its external address (objectdb/getonce dvrouterexternaladdressinfo)" sb_wait 20 has_ext_ip
eip=$(ext_ip)
in_pool() { python3 -c 'import ipaddress,sys; a=ipaddress.ip_address(sys.argv[1]); sys.exit(0 if ipaddress.ip_address("172.16.0.10") <= a <= ipaddress.ip_address("172.16.0.20") else 1)' "$1"; }
check "  taken from the subnet's pool ($eip)" in_pool "$eip"
fwd_info() { getonce hv2 viperflow.dvrouterforwardinfo.vx.pv | grep -q '"hv1"'; }
check "hv1 published its router MAC for VXLAN -> VLAN (dvrouterforwardinfo.vx.pv)" sb_wait 20 fwd_info
gw_route() { sb_exec extgw ip route replace 10.0.0.0/8 via "$eip"; }
check "the gateway routes 10.0.0.0/8 back through it" sb_wait 10 gw_route

metric() { sb_exec "$1" curl -sf http://127.0.0.1:9464/metrics | sed -n "s/^$2 //p"; }
positive() { awk -v v="$(metric "$1" "$2")" 'BEGIN { exit !(v + 0 > 0) }'; }
ttl() { sb_exec "$1" ping -c 1 -W 3 "$2" | sed -n 's/.*ttl=\([0-9]*\).*/\1/p'; }

# The very first routed packet to the gateway is kept while vlcpd ARPs for it (one ping, one
# chance: a dropped first packet fails this).
check "a1 -> the gateway 172.16.0.254: the first packet arrives (kept while its MAC is resolved)" \
  sb_exec a1 ping -c 1 -W 5 172.16.0.254
check "  vlcpd ARPed for it (vlcp_l3_arp_answers_total)" sb_wait 5 positive hv1 vlcp_l3_arp_answers_total
gw_arp() { sb_exec extgw ip neigh show "$eip" | grep -q lladdr; }
check "the gateway's ARP for hv1's external address is answered by hv1's flows" \
  bash -c 'ip netns exec "$1" ping -c 1 -W 2 "$2" >/dev/null 2>&1; true' _ "$(sb_ns extgw)" "$eip"
check "  (the gateway has a neighbour entry for it)" sb_wait 5 gw_arp
check "a1 -> 198.51.100.1 behind the gateway (default route)" sb_wait 10 sb_ping a1 198.51.100.1 1
check_output "  one router hop each way (TTL 63)" "63" ttl a1 198.51.100.1
check "the gateway -> a1 through the forwarding node" sb_wait 10 sb_ping extgw 10.1.0.11 1
# The gateway's first packet to b2 comes in on hv1's VLAN uplink and misses l3output there (b2 is
# on hv2): resolved from the model on hv1's control thread and sent on from l2output (its VLAN
# tag already popped), not lost.
check_fails "hv1 has no flow for b2 yet" bash -c '[[ "$1" == *nw_dst=10.2.0.12* ]]' _ "$(table hv1 l3output)"
check "the gateway -> b2 on hv2: the first packet, from the uplink, arrives" \
  sb_exec extgw ping -c 1 -W 5 10.2.0.12
check "b2 on hv2 (not forwarding) -> 198.51.100.1, through hv1's router" sb_wait 15 sb_ping b2 198.51.100.1 1
check_output "  one router hop each way (TTL 63)" "63" ttl b2 198.51.100.1
check_output "hv2 sends E's traffic to hv1's router on B (a forward route)" "nw_dst=172.16.0.0/24" table hv2 l3router

static_route() {
  ctl hv1 call vrouterapi updatevirtualrouter id=r1 'routes=[["203.0.113.0/24","172.16.0.254"]]' >/dev/null
}
check "a static route 203.0.113.0/24 via 172.16.0.254 (a nexthop outside the model)" static_route
check "  a1 -> 203.0.113.1 through it" sb_wait 10 sb_ping a1 203.0.113.1 1
check_output "  hv1's nexthop flow was learned by ARP (reg3)" "reg3=0xac1000fe" table hv1 l3output

# (a1 keeps asking: the drop flow lives arp_cycle_time, 1 s here, and is installed again)
sb_exec a1 ping -c 30 -i 0.3 -W 1 172.16.0.99 >/dev/null 2>&1 &
asking=$!
check "an address nobody answers for (172.16.0.99): ARPed, given up after 3 s, refused" \
  sb_wait 8 positive hv1 vlcp_l3_arp_refused_total
dropped() { table hv1 l3output | grep -q 'nw_dst=172.16.0.99 actions=drop'; }
check "  by a short-lived drop flow" sb_wait 5 dropped
kill "$asking" 2>/dev/null
wait "$asking" 2>/dev/null

cut() { ctl hv1 call vrouterapi removerouterinterface router=r1 subnet=se >/dev/null; }
check "the external interface removed" cut
gone() { ! sb_ping a1 198.51.100.1 2 >/dev/null 2>&1; }
check "  a1 no longer reaches 198.51.100.1" sb_wait 10 gone
check "  a1 still reaches b2 (the router's other interfaces)" sb_wait 10 sb_ping a1 10.2.0.12 1
if [ "${T_FAILED:-0}" -gt 0 ]; then
  for hv in hv1 hv2; do
    echo "--- $hv: the router's tables and log"
    for t in arp l3input l3router l3output; do table "$hv" "$t"; done
    grep -E 'l3|WARN|ERR' "$SB_DIR/vlcpd-$hv.log" | tail -20
  done
fi
finish
