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
vlcpctl=${VLCP_VLCPCTL:?set VLCP_VLCPCTL}
. "$(dirname "$0")/../lib/system.sh"
RMAC=1a:23:67:59:63:33 # VLCP's inroutermac (module.l3router and module.icmpresponder)
GW=10.1.0.1

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
check "ZooKeeper, two servers, an underlay" setup || {
  finish
  exit 1
}
for hv in hv1 hv2; do
  sb_vlcpd_server_conf "$SB_DIR/$hv.conf" "$hv" "server.loglevel = 'info'" \
    "module.openflowmanager.apps = ['ioprocessing', 'l2switch', 'vxlancast', 'arpresponder', 'dhcpserver', 'icmpresponder', 'l3router']"
done
api() { sb_exec "$1" curl -sf --max-time 5 "http://127.0.0.1:8081$2"; }
ctl() {
  local hv=$1
  shift
  sb_exec "$hv" "$vlcpctl" --api http://127.0.0.1:8081 "$@"
}
up() { api "$1" /manager/modules >/dev/null; }
status() {  # status HV EXPR: a Python expression on ioprocessing/status's first switch `s`
  api "$1" /ioprocessing/status | python3 -c "
import json, sys
d = json.load(sys.stdin)['result']
s = d['switches'][0] if d['switches'] else {}
print($2)"
}
synced() { [ "$(status "$1" "s.get('attached') and s.get('synced')")" = True ]; }
# PACKET_INs vlcpd received (Prometheus).
packet_ins() {
  sb_exec "$1" curl -sf http://127.0.0.1:9464/metrics | awk '/^vlcp_packet_ins_total/ {s += $2} END {print s + 0}'
}

sb_vlcpd_start hv1 "$SB_DIR/hv1.conf" hv1
sb_vlcpd_start hv2 "$SB_DIR/hv2.conf" hv2
check "vlcpd serves its API on both servers" sb_wait 30 up hv1 && sb_wait 30 up hv2
db_up() { ctl "$1" call viperflow listphysicalnetworks >/dev/null; }
check "both reach ZooKeeper" sb_wait 30 db_up hv1 && sb_wait 30 db_up hv2
check_output "the responders run (vlcpctl tables: arp and l3input)" "l3input" ctl hv1 tables

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
  sb_ofctl "$1" dump-flows br-int "table=$(ctl "$1" tables | awk '$2 == "arp" {print $1}')" |
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
  test "$pi1_after" = "$pi1_before" -a "$pi2_after" = "$pi2_before"
metric() { sb_exec "$1" curl -sf http://127.0.0.1:9464/metrics | awk -v m="$2" 'index($0, m) == 1 {print $2}'; }
check_output "hv1's /metrics: one router address answered by ARP" "1" metric hv1 'vlcp_arp_addresses{dpid="1",kind="router"}'
check_output "  and by ICMP" "1" metric hv1 'vlcp_icmp_addresses{dpid="1"}'

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
