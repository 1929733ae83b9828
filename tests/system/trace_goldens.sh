#!/usr/bin/env bash
# Captures the goldens of trace_parse_test: real `ofproto/trace` output of OVS 3.1 (the pinned
# userspace OVS of the sandbox) over VLCP's flow layout. Two servers joined by a VXLAN underlay
# carry the flows and groups that tests/system/l3_flows_proof proved (flows-hv*.txt,
# groups-hv*.txt: the full L3 pipeline, tables 0..11), plus a few flows marked EXTRA below for
# the shapes those never reach (a resubmit chain, a 3-digit table, a nonexistent output port, an
# unroutable VTEP). No controller: nothing answers a punt. Not a ctest; run as root by hand:
#   tests/system/trace_goldens.sh [OUT_DIR]   (default: tests/unit/trace/golden)
# Each golden is the unixctl reply text exactly as ovs-vswitchd sent it (ovs-appctl prints it as is).
. "$(dirname "$0")/../lib/system.sh"
OUT=${1:-$(cd "$(dirname "$0")/../unit/trace/golden" && pwd)}
PROOF=$(cd "$(dirname "$0")/l3_flows_proof" && pwd)

setup() {
  sb_ovs_start hv1 && sb_ovs_start hv2 &&
    sb_underlay hv1 192.168.99.1/24 hv2 192.168.99.2/24 &&
    sb_bridge hv1 br-int 0000000000000001 && sb_bridge hv2 br-int 0000000000000002 &&
    sb_vxlan_port hv1 br-int vxlan0 flow 100 && sb_vxlan_port hv2 br-int vxlan0 flow 100 || return 1
  local hv p
  for hv in hv1 hv2; do
    for p in 1 2 3 4; do
      sb_vsctl $hv add-port br-int "p$p" -- set interface "p$p" type=internal ofport_request=$p || return 1
    done
    # EXTRA: a bridge of its own for shapes VLCP's flows never take.
    sb_bridge $hv br-x 00000000000000aa || return 1
    sb_vsctl $hv add-port br-x x1 -- set interface x1 type=internal ofport_request=1 || return 1
    sb_ofctl $hv add-groups br-int "$PROOF/groups-$hv.txt" || return 1
    sb_ofctl $hv add-flows br-int "$PROOF/flows-$hv.txt" || return 1
  done
  # EXTRA on hv2: a unicast MAC whose VTEP no route reaches (native tunnel routing fails).
  sb_ofctl hv2 add-flow br-int "table=9,priority=40000,cookie=0x3000000000002,reg5=2,reg6=0,dl_dst=02:00:0a:02:00:99,actions=set_field:10.99.0.1->tun_dst,set_field:100->reg6,goto_table:11" &&
    # EXTRA on br-x: resubmit chains (children), a 3-digit table, a nonexistent port, No match.
    sb_ofctl hv1 add-flows br-x - <<'FLOWS'
table=0,priority=10,cookie=0x2000000000001,in_port=1,actions=resubmit(,3),resubmit(,200),goto_table:5
table=3,priority=10,cookie=0x2000000000001,ip,actions=set_field:0x7->reg6,resubmit(,4)
table=4,priority=10,cookie=0x2000000000001,actions=output:77
table=5,priority=5,cookie=0x2000000000001,icmp,actions=drop
FLOWS
}
check "two servers with VLCP's L3 flows" setup || {
  finish
  exit 1
}

A1=02:00:0a:01:00:0b B2=02:00:0a:02:00:0c B3=02:00:0a:02:00:0d RMAC=1a:23:67:59:63:33
trace() {  # trace NAME SERVER BRIDGE FLOW
  sb_appctl "$2" ofproto/trace "$3" "$4" >"$OUT/$1.txt" 2>&1
  echo "== $1 ($2 $3 $4): $(wc -l <"$OUT/$1.txt") lines" >&2
}
# Routed h1 (A) -> h3 (B) on hv2: l3 tables, the tunnel, the underlay bridge br-phy.
trace routed-vxlan hv1 br-int "icmp,in_port=1,dl_src=$A1,dl_dst=$RMAC,nw_src=10.1.0.11,nw_dst=10.2.0.13,nw_ttl=64,icmp_type=8,icmp_code=0"
# Hop 2 of it: the VXLAN arrival on hv2, delivered to port 1.
trace vxlan-arrival hv2 br-int "icmp,in_port=100,tun_id=0x138a,tun_src=192.168.99.1,tun_dst=192.168.99.2,dl_src=f8:e2:e6:be:09:4f,dl_dst=$B3,nw_src=10.1.0.11,nw_dst=10.2.0.13,nw_ttl=63,icmp_type=8,icmp_code=0"
# Routed on the same server: A -> B's h2, out of port 2.
trace routed-local hv1 br-int "icmp,in_port=1,dl_src=$A1,dl_dst=$RMAC,nw_src=10.1.0.11,nw_dst=10.2.0.12,nw_ttl=64,icmp_type=8,icmp_code=0"
# A broadcast in B from h2: group 2's buckets (a local port and the tunnel).
trace flood-group hv1 br-int "udp,in_port=2,dl_src=$B2,dl_dst=ff:ff:ff:ff:ff:ff,nw_src=10.2.0.12,nw_dst=10.2.0.255,udp_src=49152,udp_dst=33434"
# ARP for the router's address: answered by the flows, back out of IN_PORT.
trace arp-router hv1 br-int "arp,in_port=1,dl_src=$A1,dl_dst=ff:ff:ff:ff:ff:ff,arp_op=1,arp_spa=10.1.0.11,arp_tpa=10.1.0.1,arp_sha=$A1"
# ICMP echo to the router: answered by the flows.
trace icmp-router hv1 br-int "icmp,in_port=1,dl_src=$A1,dl_dst=$RMAC,nw_src=10.1.0.11,nw_dst=10.1.0.1,nw_ttl=64,icmp_type=8,icmp_code=0"
# A DHCP DISCOVER: punted to the controller (dhcp's flow in l3input).
trace dhcp-punt hv1 br-int "udp,in_port=1,dl_src=$A1,dl_dst=ff:ff:ff:ff:ff:ff,nw_src=0.0.0.0,nw_dst=255.255.255.255,nw_ttl=64,udp_src=68,udp_dst=67"
# A first packet to an address with no host flow: l3output's default punt (dynamic cookie).
trace l3output-miss hv1 br-int "icmp,in_port=1,dl_src=$A1,dl_dst=$RMAC,nw_src=10.1.0.11,nw_dst=10.2.0.99,nw_ttl=64,icmp_type=8,icmp_code=0"
# TTL 1 through the router: dec_ttl's exception.
trace ttl-expired hv1 br-int "icmp,in_port=1,dl_src=$A1,dl_dst=$RMAC,nw_src=10.1.0.11,nw_dst=10.2.0.12,nw_ttl=1,icmp_type=8,icmp_code=0"
# No route: the external network has no default route; l3router's default drops.
trace no-route hv1 br-int "icmp,in_port=4,dl_src=da:1f:c4:70:88:ba,dl_dst=5c:0c:e2:ce:40:09,nw_src=198.51.100.1,nw_dst=203.0.113.9,nw_ttl=64,icmp_type=8,icmp_code=0"
# An interface no logical port binds: ingress's default drop.
trace ingress-drop hv1 br-int "icmp,in_port=9,dl_src=02:00:00:00:00:09,dl_dst=$A1,nw_src=10.1.0.9,nw_dst=10.1.0.11,nw_ttl=64,icmp_type=8,icmp_code=0"
# An unknown unicast MAC in A from h1: flooded to group 1, whose only bucket is the input port.
trace unknown-unicast hv1 br-int "icmp,in_port=1,dl_src=$A1,dl_dst=02:00:0a:01:00:99,nw_src=10.1.0.11,nw_dst=10.1.0.99,nw_ttl=64,icmp_type=8,icmp_code=0"
# A VLAN arrival on hv2's uplink (net C, VLAN 100) to h4.
trace vlan-arrival hv2 br-int "icmp,in_port=3,dl_vlan=100,dl_src=1c:e9:f7:d5:d4:3f,dl_dst=02:00:0a:03:00:0e,nw_src=10.1.0.11,nw_dst=10.3.0.14,nw_ttl=63,icmp_type=8,icmp_code=0"
# EXTRA: a VTEP no route reaches.
trace tunnel-no-route hv2 br-int "icmp,in_port=1,dl_src=$B3,dl_dst=02:00:0a:02:00:99,nw_src=10.2.0.13,nw_dst=10.2.0.99,nw_ttl=64,icmp_type=8,icmp_code=0"
# EXTRA: resubmits, a 3-digit table with no flow, a nonexistent output port, an explicit drop.
trace resubmit-chain hv1 br-x "icmp,in_port=1,dl_src=$A1,dl_dst=$B3,nw_src=10.1.0.11,nw_dst=10.2.0.13,nw_ttl=64,icmp_type=8,icmp_code=0"
finish
