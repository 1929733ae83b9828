# The L3 system tests' two simulated servers: ZooKeeper, OVS instances hv1 and hv2 (system ids,
# management sockets, an underlay, br-int with a VXLAN port), vlcpd on each with the full L3
# pipeline, and the helpers every such test uses. Source it after system.sh:
#   . "$(dirname "$0")/../lib/l3_servers.sh"
# shellcheck shell=bash
vlcpctl=${VLCP_VLCPCTL:?set VLCP_VLCPCTL}
L3_APPS="module.openflowmanager.apps = ['ioprocessing', 'l2switch', 'vxlancast', 'arpresponder', 'dhcpserver', 'icmpresponder', 'l3router', 'tracer']"

l3_two_servers() {
  sb_zk_start 1 &&
    sb_ovs_start hv1 && sb_ovs_start hv2 &&
    sb_vsctl hv1 set Open_vSwitch . external_ids:system-id=hv1 &&
    sb_vsctl hv2 set Open_vSwitch . external_ids:system-id=hv2 &&
    sb_mgmt_attach hv1 11 && sb_mgmt_attach hv2 12 &&
    sb_underlay hv1 192.168.99.1/24 hv2 192.168.99.2/24 &&
    sb_bridge hv1 br-int 0000000000000001 && sb_vxlan_port hv1 br-int vxlan0 flow &&
    sb_bridge hv2 br-int 0000000000000002 && sb_vxlan_port hv2 br-int vxlan0 flow
}
# The two servers up (or the test ends there), with the shared "physical" switch phys and each
# server's uplink to it: $phys1, $phys2.
l3_servers_up() {
  check "ZooKeeper, two servers, an underlay" l3_two_servers || {
    finish
    exit 1
  }
  sb_physwitch phys
  phys1=$(sb_physport hv1 br-int phys)
  phys2=$(sb_physport hv2 br-int phys)
}
# l3_conf SERVER [LINE...]: its vlcpd configuration, the full L3 pipeline and these lines.
l3_conf() {
  local hv=$1
  shift
  sb_vlcpd_server_conf "$SB_DIR/$hv.conf" "$hv" "server.loglevel = 'info'" "$L3_APPS" "$@"
}
api() { sb_exec "$1" curl -sf --max-time 5 "http://127.0.0.1:8081$2"; }
ctl() {
  local hv=$1
  shift
  sb_exec "$hv" "$vlcpctl" --api http://127.0.0.1:8081 "$@"
}
up() { api "$1" /manager/modules >/dev/null; }
db_up() { ctl "$1" call viperflow listphysicalnetworks >/dev/null 2>&1; }
status() {  # status SERVER EXPR: a Python expression on ioprocessing/status's first switch `s`
  api "$1" /ioprocessing/status | python3 -c "
import json, sys
d = json.load(sys.stdin)['result']
s = d['switches'][0] if d['switches'] else {}
print($2)"
}
synced() { [ "$(status "$1" "s.get('attached') and s.get('synced')")" = True ]; }
# Starts vlcpd on both servers (l3_conf wrote their configurations) and waits for their API and
# ZooKeeper.
l3_start_vlcpd() {
  sb_vlcpd_start hv1 "$SB_DIR/hv1.conf" hv1
  sb_vlcpd_start hv2 "$SB_DIR/hv2.conf" hv2
  check "vlcpd on both servers serves its API" sb_wait 30 up hv1 && sb_wait 30 up hv2
  check "both reach ZooKeeper" sb_wait 30 db_up hv1 && sb_wait 30 db_up hv2
}
mgmt() { echo "unix:$(sb_ovs_dir "$1")/run/br-int.mgmt"; }
table() { ctl "$1" dump-flows "$(mgmt "$1")" --names --table "$2" --no-stats; }
# The three-network model of the router tests, through the API: physical networks vx (VXLAN) and
# pv (VLAN, uplinks $phys1 and $phys2), networks na, nb over vx and nc over pv with subnets sa
# 10.1.0.0/24, sb 10.2.0.0/24, sc 10.3.0.0/24 (gateways .1), the ports given as "ID NET SUBNET MAC
# IP", and router r1 with an interface on each subnet.
l3_three_networks() {
  local ports=("$@") n p s
  ctl hv1 call viperflow createphysicalnetwork id=vx type=vxlan 'vnirange=[[10000,10100]]' >/dev/null &&
    ctl hv1 call viperflow createphysicalnetwork id=pv type=vlan 'vlanrange=[[100,200]]' >/dev/null &&
    ctl hv1 call viperflow createphysicalport name=vxlan0 physicalnetwork=vx >/dev/null &&
    ctl hv1 call viperflow createphysicalport name="$phys1" physicalnetwork=pv >/dev/null &&
    ctl hv1 call viperflow createphysicalport name="$phys2" physicalnetwork=pv >/dev/null || return 1
  for n in "na vx sa 10.1.0" "nb vx sb 10.2.0" "nc pv sc 10.3.0"; do
    set -- $n
    ctl hv1 call viperflow createlogicalnetwork id="$1" physicalnetwork="$2" >/dev/null &&
      ctl hv1 call viperflow createsubnet id="$3" logicalnetwork="$1" cidr="$4.0/24" gateway="$4.1" >/dev/null ||
      return 1
  done
  for p in "${ports[@]}"; do
    set -- $p
    ctl hv1 call viperflow createlogicalport id="$1" logicalnetwork="$2" subnet="$3" mac_address="$4" \
      ip_address="$5" >/dev/null || return 1
  done
  ctl hv1 call vrouterapi createvirtualrouter id=r1 >/dev/null || return 1
  for s in sa sb sc; do ctl hv1 call vrouterapi addrouterinterface router=r1 subnet=$s >/dev/null || return 1; done
}
# l3_host NAME SERVER ADDR MAC PORT GATEWAY: a namespace host bound to logical port PORT, its
# default route through GATEWAY (the router: the ARP responder answers for it).
l3_host() {
  sb_host "$1" "$2" br-int "$3/24" mac="$4" iface_id="$5" &&
    sb_exec "$1" ip route add default via "$6"
}
