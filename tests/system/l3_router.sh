#!/usr/bin/env bash
# The distributed L3 router end to end on two simulated servers (each an OVS in its own namespace
# with a vlcpd beside it, one ObjectDB on ZooKeeper): three subnets on three networks — A and B
# over VXLAN, C over VLAN through a shared "physical" switch — joined by one router through the
# vrouterapi. Routed pings between subnets on one server and across servers, both ways, each hop
# decrementing the TTL once (the sender's server routes); frames leaving a server carry that
# server's own router MAC; removing a router interface cuts its subnet off at once; names and
# gateways updated through the API keep traffic flowing; ZooKeeper down, routed traffic
# continues; a vlcpd restart during a 10 ms routed ping loses no packet and sends no FLOW_MOD. The full L3 pipeline
# runs: hosts ARP for their gateway (answered by the ARP responder) and ping it.
#
# L3_STRATEGY: learning (VLCP's default, module.l3router.prepush = False: a remote host's flow
# is installed on the first packet routed to it) or prepush (every host's flow everywhere).
. "$(dirname "$0")/../lib/system.sh"
. "$(dirname "$0")/../lib/l3_servers.sh"
strategy=${L3_STRATEGY:-learning}
rmac=1a:23:67:59:63:33

l3_servers_up

conf() {
  local lines=()
  [ "$strategy" = prepush ] && lines+=("module.l3router.prepush = True")
  l3_conf "$1" "${lines[@]}"
}
conf hv1
conf hv2
l3_start_vlcpd

model() {
  l3_three_networks "a1 na sa 02:00:00:0a:00:0b 10.1.0.11" "b1 nb sb 02:00:00:0b:00:0b 10.2.0.11" \
    "b2 nb sb 02:00:00:0b:00:0c 10.2.0.12" "c2 nc sc 02:00:00:0c:00:0c 10.3.0.12"
}
check "three networks, subnets, ports and a router with three interfaces, through the API" model

check "hosts: a1, b1 on hv1; b2, c2 on hv2" l3_host a1 hv1 10.1.0.11 02:00:00:0a:00:0b a1 10.1.0.1 &&
  l3_host b1 hv1 10.2.0.11 02:00:00:0b:00:0b b1 10.2.0.1 &&
  l3_host b2 hv2 10.2.0.12 02:00:00:0b:00:0c b2 10.2.0.1 &&
  l3_host c2 hv2 10.3.0.12 02:00:00:0c:00:0c c2 10.3.0.1
check "both switches in sync" sb_wait 30 synced hv1 && sb_wait 30 synced hv2
check "ping to the gateway answered (a1 -> 10.1.0.1)" sb_wait 10 sb_ping a1 10.1.0.1 1
check_output "  the gateway's MAC is the router MAC" "$rmac" sb_exec a1 ip neigh show 10.1.0.1

# ttl HOST DST: the TTL of the echo reply (64 from a Linux host, minus one per router hop).
ttl() { sb_exec "$1" ping -c 1 -W 2 "$2" | sed -n 's/.*ttl=\([0-9]*\).*/\1/p'; }

if [ "$strategy" = learning ]; then
  check_fails "learning: hv1 has no flow for b2 (remote) before a packet is routed to it" \
    bash -c '[[ "$1" == *nw_dst=10.2.0.12* ]]' _ "$(table hv1 l3output)"
fi
check "routed on one server (a1 -> b1)" sb_wait 10 sb_ping a1 10.2.0.11 1
check_output "  one hop: the reply's TTL is 63" "63" ttl a1 10.2.0.11
check "routed across servers over VXLAN (a1 -> b2)" sb_wait 10 sb_ping a1 10.2.0.12 1
check_output "  one hop each way (TTL 63)" "63" ttl a1 10.2.0.12
check "  and back (b2 -> a1)" sb_ping b2 10.1.0.11 3
check "routed across servers over VLAN (a1 -> c2)" sb_wait 10 sb_ping a1 10.3.0.12 1
check "  and back (c2 -> a1, c2 -> b1)" sb_ping c2 10.1.0.11 3 && sb_ping c2 10.2.0.11 3
if [ "$strategy" = learning ]; then
  check_output "learning: hv1 installed b2's flow on the first packet" "nw_dst=10.2.0.12" table hv1 l3output
  resolved() {
    sb_exec hv1 curl -sf http://127.0.0.1:9464/metrics | grep -qE '^vlcp_l3_first_packets_resolved_total [1-9]'
  }
  check "  counted (vlcp_l3_first_packets_resolved_total)" resolved
else
  check_output "prepush: hv1 holds b2's flow" "nw_dst=10.2.0.12" table hv1 l3output
fi
# What crossed the VLAN came from hv1's own router MAC (its uplink's MAC XOR 0a:00:00:00:00:00),
# never the shared one.
uplink_mac=$(sb_exec hv1 cat "/sys/class/net/$phys1/address")
own=$(python3 -c "m='$uplink_mac'.split(':'); m[0]='%02x' % (int(m[0],16) ^ 0x0a); print(':'.join(m))")
sb_exec phys timeout 5 tcpdump -c 1 -nn -e -i "$(sb_ifname shv1)" icmp and dst host 10.3.0.12 >"$SB_DIR/vlan.txt" 2>/dev/null &
capture=$!
sleep 0.5
sb_ping a1 10.3.0.12 2 >/dev/null
wait $capture
check_output "  a routed frame leaves hv1 from its own router MAC ($own)" "$own >" cat "$SB_DIR/vlan.txt"
check_fails "  not the shared one" grep -q "$rmac >" "$SB_DIR/vlan.txt"

# Removing an interface cuts its subnet off at once.
ctl hv1 call vrouterapi removerouterinterface router=r1 subnet=sb >/dev/null
unreachable() { ! sb_ping "$1" "$2" 1; }
check "interface on sb removed: a1 -> b1 fails" sb_wait 10 unreachable a1 10.2.0.11
check "  a1 -> c2 still routed" sb_ping a1 10.3.0.12 2
ctl hv1 call vrouterapi addrouterinterface router=r1 subnet=sb >/dev/null
check "  added again: a1 -> b1 routed again" sb_wait 10 sb_ping a1 10.2.0.11 1

# Names and gateways updated through the API: routed traffic keeps flowing.
renamed() {
  ctl hv1 call viperflow updatelogicalnetwork id=nb name=blue-net >/dev/null &&
    ctl hv1 call viperflow updatesubnet id=sb name=blue-subnet >/dev/null &&
    ctl hv1 call vrouterapi updatevirtualrouter id=r1 name=edge >/dev/null
}
check "names of a network, a subnet and the router updated through the API" renamed
check "  routed traffic keeps flowing (a1 -> b2, a1 -> c2)" sb_ping a1 10.2.0.12 3 && sb_ping a1 10.3.0.12 3
regateway() {  # sc's gateway moves from .1 to .254 (its interface takes the subnet's gateway)
  ctl hv1 call vrouterapi removerouterinterface router=r1 subnet=sc >/dev/null &&
    ctl hv1 call viperflow updatesubnet id=sc gateway=10.3.0.254 >/dev/null &&
    ctl hv1 call vrouterapi addrouterinterface router=r1 subnet=sc >/dev/null &&
    sb_exec c2 ip route replace default via 10.3.0.254
}
check "sc's gateway changed to 10.3.0.254 through the API (c2's default route follows)" regateway
check "  c2 -> a1 routed through the new gateway" sb_wait 10 sb_ping c2 10.1.0.11 1
check_output "  the ARP responder answers for the new gateway" "$rmac" sb_exec c2 ip neigh show 10.3.0.254

# ZooKeeper down: routed traffic continues (the flows stay; nothing is withdrawn).
sb_zk_stop_member 1
check "ZooKeeper down: routed traffic continues (a1 -> b2, c2 -> a1)" sb_ping a1 10.2.0.12 3 && sb_ping c2 10.1.0.11 3
sb_zk_start_member 1
check "ZooKeeper back: both servers reach it" sb_wait 30 db_up hv1 && sb_wait 30 db_up hv2

# vlcpd restarted during a 10 ms routed ping: no packet lost, no FLOW_MOD sent.
sb_stop_pid "$(sb_vlcpd_pid hv1)"
check "vlcpd on hv1 stopped: routed traffic continues (a1 -> b2)" sb_ping a1 10.2.0.12 3
sb_exec a1 ping -q -i 0.01 -c 500 -W 1 10.2.0.12 >"$SB_DIR/restart-ping.txt" 2>&1 &
pinger=$!
sleep 0.5
sb_vlcpd_start hv1 "$SB_DIR/hv1.conf" hv1
check "vlcpd on hv1 started again and in sync" sb_wait 30 synced hv1
wait $pinger
check_output "  a 10 ms routed ping across the restart lost no packet" " 0% packet loss" cat "$SB_DIR/restart-ping.txt"
check_output "  the reconcile sent no FLOW_MOD" "0 0" status hv1 "s['last_reconcile_flow_mods'], s['group_mods']"
finish
