#!/usr/bin/env bash
# The ARP and ICMP responders (docs/L3_FLOWS.md §2, §3) end to end on two simulated servers
# running the full L3 pipeline (ioprocessing l2switch vxlancast arpresponder dhcpserver
# icmpresponder l3router), sharing one ObjectDB on ZooKeeper: the operator builds a VXLAN network
# with a subnet, a router and its interface through vlcpctl; hosts in namespaces still switch on
# one server and across; their ARP requests — for a host here, for a host on the other server,
# for a port no host answers for, for the gateway — are answered by the switch they ask (the
# right MAC in `ip neigh`, the request never reaching the other host, no PACKET_IN at vlcpd); a
# ping to the gateway is answered with TTL 64 from the router MAC; removing the router interface
# takes both answers away and adding it back restores them; a restart of vlcpd sends no FLOW_MOD
# (the responders' flows are the ones OVS reports back).
. "$(dirname "$0")/../lib/system.sh"
. "$(dirname "$0")/../lib/l3_servers.sh"
RMAC=1a:23:67:59:63:33 # VLCP's inroutermac (module.l3router and module.icmpresponder)
GW=10.1.0.1

check "ZooKeeper, two servers, an underlay" l3_two_servers || {
  finish
  exit 1
}
l3_conf hv1
l3_conf hv2
# PACKET_INs vlcpd received (Prometheus).
packet_ins() {
  sb_exec "$1" curl -sf http://127.0.0.1:9464/metrics |
    awk '/^vlcp_packet_ins_total/ {s += $2; n++} END {if (n) print s + 0; else print "absent"}'
}

l3_start_vlcpd
table_id() { ctl "$1" tables | awk -v t="$2" '$2 == t {print $1}'; }
check "the pipeline has the responders' tables (vlcpctl tables: arp, l3input)" \
  test -n "$(table_id hv1 arp)" -a -n "$(table_id hv1 l3input)"

# --- the model: a VXLAN network, a subnet with a gateway, four ports, a router on the subnet ----
model() {
  ctl hv1 call viperflow createphysicalnetwork id=vx type=vxlan 'vnirange=[[10000,10100]]' >/dev/null &&
    ctl hv1 call viperflow createlogicalnetwork id=n1 physicalnetwork=vx >/dev/null &&
    ctl hv1 call viperflow createsubnet id=s1 logicalnetwork=n1 cidr=10.1.0.0/24 gateway=$GW >/dev/null &&
    ctl hv1 call viperflow createphysicalport name=vxlan0 physicalnetwork=vx >/dev/null &&
    for p in "p1 02:00:0a:01:00:0b 10.1.0.11" "p2 02:00:0a:01:00:0c 10.1.0.12" \
      "p3 02:00:0a:01:00:0d 10.1.0.13" "p4 02:00:0a:01:00:0e 10.1.0.14"; do
      set -- $p
      ctl hv1 call viperflow createlogicalport id="$1" logicalnetwork=n1 subnet=s1 mac_address="$2" \
        ip_address="$3" >/dev/null || return 1
    done &&
    ctl hv1 call vrouterapi createvirtualrouter id=r1 >/dev/null &&
    ctl hv1 call vrouterapi addrouterinterface router=r1 subnet=s1 >/dev/null
}
check "network, subnet, ports, router and its interface created through vlcpctl" model

# h1, h2 on hv1; h3 on hv2; p4 has no host anywhere (only a responder can answer for it).
hosts() {
  sb_host h1 hv1 br-int 10.1.0.11/24 mac=02:00:0a:01:00:0b iface_id=p1 &&
    sb_host h2 hv1 br-int 10.1.0.12/24 mac=02:00:0a:01:00:0c iface_id=p2 &&
    sb_host h3 hv2 br-int 10.1.0.13/24 mac=02:00:0a:01:00:0d iface_id=p3 || return 1
  local h
  for h in h1 h2 h3; do  # (no router solicitations or MLD reports in the counters)
    sb_exec "$h" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1 || return 1
    sb_neigh_flush "$h"
  done
}
check "hosts h1, h2 (hv1) and h3 (hv2)" hosts
check "both switches reconciled and in sync" sb_wait 30 synced hv1 && sb_wait 30 synced hv2
check "the L2 pipeline still switches on one server (h1 -> h2)" sb_wait 10 sb_ping h1 h2 2
check "  and across servers over VXLAN (h1 -> h3)" sb_wait 10 sb_ping h1 h3 2

# --- ARP answered by the switch the asker is on ------------------------------------------------
# neigh HOST IP: the MAC HOST resolved IP to ("" none).
neigh() { sb_exec "$1" ip neigh show "$2" dev eth0 | awk '{for (i = 1; i < NF; i++) if ($i == "lladdr") print $(i + 1)}'; }
# resolve HOST IP: HOST asks for IP afresh (a ping that may go unanswered), prints the MAC.
resolve() {
  sb_exec "$1" ip neigh flush all
  sb_exec "$1" ping -c1 -W1 "$2" >/dev/null 2>&1
  neigh "$1" "$2"
}
is_mac() { [ "$(resolve "$1" "$2")" = "$3" ]; }
pi1_before=$(packet_ins hv1)
pi2_before=$(packet_ins hv2)
echo "PACKET_INs before: hv1 $pi1_before, hv2 $pi2_before"
# Requests from h1 seen by h3 (on the other server) while h1 resolves h3, and by h2 meanwhile.
sb_exec h3 timeout 6 tcpdump -nn -l -i eth0 "arp and arp[6:2] = 1 and ether src 02:00:0a:01:00:0b" \
  >"$SB_DIR/h3-arp.txt" 2>/dev/null &
tcpd3=$!
sb_exec h2 timeout 6 tcpdump -nn -l -i eth0 "arp and arp[6:2] = 1 and ether src 02:00:0a:01:00:0b" \
  >"$SB_DIR/h2-arp.txt" 2>/dev/null &
tcpd2=$!
sleep 1
check "h1's ARP for h2 (same server) gets h2's MAC" sb_wait 5 is_mac h1 10.1.0.12 02:00:0a:01:00:0c
check "h1's ARP for h3 (other server) gets h3's MAC" sb_wait 5 is_mac h1 10.1.0.13 02:00:0a:01:00:0d
check "h1's ARP for p4 (no host anywhere) gets p4's MAC from the model" \
  sb_wait 5 is_mac h1 10.1.0.14 02:00:0a:01:00:0e
check "h1's ARP for its gateway gets the router MAC" sb_wait 5 is_mac h1 $GW $RMAC
check "h3's ARP for h1 (other server) gets h1's MAC" sb_wait 5 is_mac h3 10.1.0.11 02:00:0a:01:00:0b
wait $tcpd3 $tcpd2
check_fails "  h1's requests never reached h3 on the other server" grep -q "Request" "$SB_DIR/h3-arp.txt"
check_fails "  nor h2 beside it (answered, not flooded)" grep -q "Request" "$SB_DIR/h2-arp.txt"
arp_table_hits() {
  sb_ofctl "$1" dump-flows br-int "table=$(table_id "$1" arp)" |
    grep -o 'n_packets=[0-9]*' | cut -d= -f2 | awk '{s += $1} END {print s + 0}'
}
check "  the arp table's flows counted them" sb_wait 5 test "$(arp_table_hits hv1)" -gt 0

# --- ping to the gateway answered by the switch ------------------------------------------------
sb_exec h1 timeout 8 tcpdump -c1 -nn -e -l -i eth0 "icmp[icmptype] = icmp-echoreply" >"$SB_DIR/echo.txt" 2>/dev/null &
tcpd=$!
sleep 1
sb_exec h1 ping -c3 -i 0.2 -W2 $GW >"$SB_DIR/gw-ping.txt" 2>&1
wait $tcpd
check_output "h1's ping -c3 to its gateway: 3 replies" "3 received" cat "$SB_DIR/gw-ping.txt"
check_output "  with ttl=64" "ttl=64" cat "$SB_DIR/gw-ping.txt"
check_output "  from the router MAC" "$RMAC > 02:00:0a:01:00:0b" cat "$SB_DIR/echo.txt"
check "a ping to the gateway from the other server (h3) is answered there" sb_ping h3 $GW 2
sleep 1
pi1_after=$(packet_ins hv1)
pi2_after=$(packet_ins hv2)
echo "PACKET_INs after: hv1 $pi1_after, hv2 $pi2_after"
check "no PACKET_IN reached vlcpd for any of it (hv1 $pi1_before -> $pi1_after, hv2 $pi2_before -> $pi2_after)" \
  test "$pi1_before" != absent -a "$pi1_after" = "$pi1_before" -a "$pi2_after" = "$pi2_before"
metric() { sb_exec "$1" curl -sf http://127.0.0.1:9464/metrics | awk -v m="$2" 'index($0, m) == 1 {print $2}'; }
check_output "hv1's /metrics: one router address answered by ARP" "1" metric hv1 'vlcp_arp_addresses{dpid="1",kind="router"}'
check_output "  and by ICMP" "1" metric hv1 'vlcp_icmp_addresses{dpid="1"}'
families_once() {  # (two families of one name break Prometheus's parser)
  local m
  m=$(sb_exec hv1 curl -sf http://127.0.0.1:9464/metrics) && [ -n "$m" ] &&
    [ -z "$(printf '%s\n' "$m" | awk '/^# HELP/ {print $3}' | sort | uniq -d)" ]
}
check "  each metric family once" families_once

# --- a VLAN router network: the physical side, and free ARP -------------------------------------
# n2 (VLAN 100 through the shared switch) with subnet s2 on the router too; g1 on hv1, g2 on hv2.
vlan() {
  sb_physwitch phys &&
    phys1=$(sb_physport hv1 br-int phys) && phys2=$(sb_physport hv2 br-int phys) &&
    ctl hv1 call viperflow createphysicalnetwork id=pv type=vlan 'vlanrange=[[100,100]]' >/dev/null &&
    ctl hv1 call viperflow createphysicalport name="$phys1" physicalnetwork=pv >/dev/null &&
    ctl hv1 call viperflow createphysicalport name="$phys2" physicalnetwork=pv >/dev/null &&
    ctl hv1 call viperflow createlogicalnetwork id=n2 physicalnetwork=pv >/dev/null &&
    ctl hv1 call viperflow createsubnet id=s2 logicalnetwork=n2 cidr=10.2.0.0/24 gateway=10.2.0.1 >/dev/null &&
    ctl hv1 call viperflow createlogicalport id=q1 logicalnetwork=n2 subnet=s2 mac_address=02:00:0a:02:00:0b \
      ip_address=10.2.0.11 >/dev/null &&
    ctl hv1 call viperflow createlogicalport id=q2 logicalnetwork=n2 subnet=s2 mac_address=02:00:0a:02:00:0c \
      ip_address=10.2.0.12 >/dev/null &&
    ctl hv1 call vrouterapi addrouterinterface router=r1 subnet=s2 >/dev/null &&
    sb_host g1 hv1 br-int 10.2.0.11/24 mac=02:00:0a:02:00:0b iface_id=q1 &&
    sb_host g2 hv2 br-int 10.2.0.12/24 mac=02:00:0a:02:00:0c iface_id=q2 &&
    sb_exec g1 sysctl -qw net.ipv6.conf.all.disable_ipv6=1 && sb_exec g2 sysctl -qw net.ipv6.conf.all.disable_ipv6=1
}
check "a VLAN network on the router, hosts g1 (hv1) and g2 (hv2)" vlan
check "  switched across servers through the shared switch (g1 -> g2)" sb_wait 15 sb_ping g1 g2 1
# arp_req HOST SRC_IP SRC_MAC TARGET_IP: a broadcast ARP request from HOST's eth0 (its own
# address as the target: a gratuitous ARP).
arp_req() {
  sb_exec "$1" python3 - "$2" "$3" "$4" <<'EOF2'
import socket, sys
ip, mac, target = socket.inet_aton(sys.argv[1]), bytes.fromhex(sys.argv[2].replace(":", "")), socket.inet_aton(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
s.send(b"\xff" * 6 + mac + b"\x08\x06" + b"\x00\x01\x08\x00\x06\x04\x00\x01" + mac + ip + b"\x00" * 6 + target)
EOF2
}
# on_wire FILTER CMD...: what hv1's cable to the shared switch carries (3 s at most) during CMD.
on_wire() {
  local filter=$1
  shift
  ip netns exec "$(sb_ns phys)" timeout 3 tcpdump -c1 -nn -e -l -i "$(sb_ifname shv1)" "$filter" \
    >"$SB_DIR/wire.txt" 2>/dev/null &
  local pid=$!
  sleep 0.5
  "$@" >/dev/null 2>&1
  wait $pid
  cat "$SB_DIR/wire.txt"
}
check_output "g1's gratuitous ARP goes on to the physical network (VLAN: free ARP passes)" "vlan 100" \
  on_wire "vlan and arp and ether src 02:00:0a:02:00:0b" arp_req g1 10.2.0.11 02:00:0a:02:00:0b 10.2.0.11
sb_exec h2 timeout 3 tcpdump -c1 -nn -l -i eth0 "arp and ether src 02:00:0a:01:00:0b" >"$SB_DIR/garp-h2.txt" 2>/dev/null &
tcpd=$!
sleep 0.5
arp_req h1 10.1.0.11 02:00:0a:01:00:0b 10.1.0.11
wait $tcpd
check_fails "h1's gratuitous ARP stops at its switch (VXLAN: h2 beside it never sees it)" \
  grep -q "Request" "$SB_DIR/garp-h2.txt"
check_fails "g1's ARP for g2 (other server, VLAN) is answered before the wire" \
  grep -q Request <(on_wire "vlan and arp and ether src 02:00:0a:02:00:0b" resolve g1 10.2.0.12)
check_output "  with g2's MAC" "02:00:0a:02:00:0c" neigh g1 10.2.0.12
# A request from the physical side for g1 (a router network: VLCP's proxy ARP) is rewritten on hv1
# into g1's reply, back to the uplink (delivered once egress has the uplink's IN_PORT twin, §2.2).
from_outside() {
  sb_appctl hv1 ofproto/trace br-int "in_port=$(sb_ofport hv1 "$phys1"),dl_vlan=100,dl_src=02:00:0a:02:00:63,\
dl_dst=ff:ff:ff:ff:ff:ff,arp,arp_op=1,arp_spa=10.2.0.99,arp_sha=02:00:0a:02:00:63,arp_tpa=10.2.0.11"
}
from_outside >"$SB_DIR/trace-outside.txt"
check_output "a request from the physical side for g1 meets hv1's proxy answer" "reg7=0/0x4000,arp_tpa=10.2.0.11" \
  cat "$SB_DIR/trace-outside.txt"
check_output "  rewritten into g1's reply" "set_field:02:00:0a:02:00:0b->arp_sha" cat "$SB_DIR/trace-outside.txt"
echo "trace from the physical side: $(tail -1 "$SB_DIR/trace-outside.txt")"

# --- the router interface removed: no answer for the gateway; added back: answered again -------
check_output "removerouterinterface answers OK" '"status": "OK"' \
  ctl hv1 --json call vrouterapi removerouterinterface router=r1 subnet=s1
no_ping() { ! sb_ping h1 $GW 1; }
check "  h1's ping to the gateway is no longer answered" sb_wait 10 no_ping
check_fails "  (and stays unanswered)" sb_ping h1 $GW 2
no_arp() { [ -z "$(resolve h1 $GW)" ]; }
check "  nor its ARP for the gateway" sb_wait 10 no_arp
check "  while h1 -> h3 still works" sb_ping h1 h3 2
ctl hv1 call vrouterapi addrouterinterface router=r1 subnet=s1 >/dev/null
answered() { sb_neigh_flush h1 && sb_ping h1 $GW 1; }
check "the interface added back: the gateway answers again" sb_wait 10 answered
check_output "  from the router MAC" "$RMAC" neigh h1 $GW

# --- a restart sends nothing: the responders' flows are what OVS reports back ------------------
sb_stop_pid "$(sb_vlcpd_pid hv1)"
sb_vlcpd_start hv1 "$SB_DIR/hv1.conf" hv1
check "vlcpd on hv1 started again and in sync" sb_wait 30 synced hv1
check_output "  the reconcile sent no FLOW_MOD" "0 0" status hv1 "s['last_reconcile_flow_mods'], s['group_mods']"
check "  and the gateway still answers" sb_ping h1 $GW 2
finish
