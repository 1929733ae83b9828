#!/usr/bin/env bash
# Proof of the L3 apps' flows (docs/L3_FLOWS.md) on real Open vSwitch, with no controller at all:
# two simulated servers (userspace OVS, each in its own namespace) joined by a VXLAN underlay and
# by a "physical" switch carrying VLAN 100; a third switch carries the native external network
# that only hv1 (the forwarding node) reaches, with an external gateway namespace on it. The L2
# flows are the ones src/apps/l2.cc states (pre-push), the L3 flows the ones the doc proposes,
# installed by hand with ovs-ofctl (OpenFlow 1.3) at the table numbers vlcpd allocates for the
# full L3 pipeline (ioprocessing l2switch vxlancast arpresponder dhcpserver icmpresponder
# l3router). Not a ctest: run it as root by hand. Traces and flow dumps are kept in
# $L3_PROOF_OUT (default /tmp/l3_flows_proof.out).
#
#   hv1 (forwarding node)                                   hv2
#   h1 10.1.0.11 net A (VXLAN 5001)  ofport 1               h3 10.2.0.13 net B (VXLAN 5002) ofport 1
#   h2 10.2.0.12 net B (VXLAN 5002)  ofport 2               h4 10.3.0.14 net C (VLAN 100)   ofport 2
#   vxlan0 ofport 100 <-- underlay 192.168.99.0/24 -->      vxlan0 ofport 100
#   VLAN uplink  <------------ switch "phys" ------------>  VLAN uplink
#   native uplink <-- switch "extsw" -- extgw 172.16.0.254/24 (and 198.51.100.1 behind it)
# One router: interfaces 10.1.0.1 (A), 10.2.0.1 (B), 10.3.0.1 (C) and the external subnet
# 172.16.0.0/24 (net E, gateway 172.16.0.254); hv1's external address is 172.16.0.11.
. "$(dirname "$0")/../lib/system.sh"
OUT=${L3_PROOF_OUT:-/tmp/l3_flows_proof.out}
mkdir -p "$OUT"

# The tables vlcpd allocates for the full L3 app list (`vlcpctl tables` with
# module.openflowmanager.apps = [ioprocessing l2switch vxlancast arpresponder dhcpserver
# icmpresponder l3router]).
T_INGRESS=0 T_L2INPUT=1 T_VXLANINPUT=2 T_ARP=3 T_L3INPUT=4 T_L3ROUTER=5 T_L3OUTPUT=6
T_L2OUTPUT=7 T_VXLANOUTPUT=9 T_EGRESS=11
P=32768
# Cookies: app << 48 | netid (src/flows/cookie.h). l2.cc: 0 base, 1 io, 2 l2, 3 vxlan; proposed:
# 4 arp, 5 icmp, 6 l3 (router), 7 dhcp; bit 62: packet-ins go to the worker lcores.
ck() { printf '0x%x' $((($1 << 48) | $2)); }
APP_IO=1 APP_L2=2 APP_VX=3 APP_ARP=4 APP_ICMP=5 APP_L3=6 APP_DHCP=7
TO_WORKERS=$((1 << 62))

RMAC=1a:23:67:59:63:33 # VLCP's inroutermac: the router's MAC towards local ports, on every server
MASK=0a:00:00:00:00:00 # VLCP's outroutermacmask
DHCP_IP=169.254.169.254
# network: netid type segment cidr gateway
NET_A=(1 vxlan 5001 10.1.0.0/24 10.1.0.1)
NET_B=(2 vxlan 5002 10.2.0.0/24 10.2.0.1)
NET_C=(3 vlan 100 10.3.0.0/24 10.3.0.1)
NET_E=(4 native 0 172.16.0.0/24 172.16.0.254)
H1=(10.1.0.11 02:00:0a:01:00:0b) H2=(10.2.0.12 02:00:0a:02:00:0c)
H3=(10.2.0.13 02:00:0a:02:00:0d) H4=(10.3.0.14 02:00:0a:03:00:0e)
EXT_IP_HV1=172.16.0.11
VTEP1=192.168.99.1 VTEP2=192.168.99.2
TUN=100

xormac() {
  python3 -c 'import sys; a, m = (s.split(":") for s in sys.argv[1:3]); print(":".join("%02x" % (int(x, 16) ^ int(y, 16)) for x, y in zip(a, m)))' "$1" "$MASK"
}
linkmac() { ip -n "$(sb_ns "$1")" -br link show "$2" | awk '{print $3}'; }

setup() {
  sb_ovs_start hv1 && sb_ovs_start hv2 &&
    sb_underlay hv1 $VTEP1/24 hv2 $VTEP2/24 &&
    sb_bridge hv1 br-int 0000000000000001 && sb_bridge hv2 br-int 0000000000000002 &&
    sb_vxlan_port hv1 br-int vxlan0 flow $TUN && sb_vxlan_port hv2 br-int vxlan0 flow $TUN &&
    sb_host h1 hv1 br-int "${H1[0]}/24" mac="${H1[1]}" mtu=1400 ofport=1 &&
    sb_host h2 hv1 br-int "${H2[0]}/24" mac="${H2[1]}" mtu=1400 ofport=2 &&
    sb_host h3 hv2 br-int "${H3[0]}/24" mac="${H3[1]}" mtu=1400 ofport=1 &&
    sb_host h4 hv2 br-int "${H4[0]}/24" mac="${H4[1]}" mtu=1400 ofport=2 &&
    for h in h1 h2 h3 h4; do sb_exec $h sysctl -qw net.ipv6.conf.all.disable_ipv6=1; done &&
    sb_exec h1 ip route add default via "${NET_A[4]}" &&
    sb_exec h2 ip route add default via "${NET_B[4]}" &&
    sb_exec h3 ip route add default via "${NET_B[4]}" &&
    sb_exec h4 ip route add default via "${NET_C[4]}" &&
    sb_physwitch phys && sb_physwitch extsw || return 1
  PHYS1=$(sb_physport hv1 br-int phys) && PHYS2=$(sb_physport hv2 br-int phys) &&
    EXTP1=$(sb_physport hv1 br-int extsw x) || return 1
  # The external gateway: a namespace on extsw, routing the internal subnets back to hv1.
  sb_netns extgw || return 1
  local gwl
  gwl=$(sb_ifname gw)
  ip -n "$(sb_ns extsw)" link add "$gwl" type veth peer name eth0 netns "$(sb_ns extgw)" || return 1
  sb_record link "$gwl"
  ip -n "$(sb_ns extsw)" link set "$gwl" master sw up
  sb_exec extgw ip addr add 172.16.0.254/24 dev eth0 && sb_exec extgw ip link set eth0 up &&
    sb_exec extgw ip addr add 198.51.100.1/32 dev lo &&
    sb_exec extgw ip route add 10.0.0.0/8 via $EXT_IP_HV1 &&
    sb_exec extgw ethtool -K eth0 tx off >/dev/null 2>&1
  OF_PHYS1=$(sb_ofport hv1 "$PHYS1") OF_PHYS2=$(sb_ofport hv2 "$PHYS2") OF_EXT1=$(sb_ofport hv1 "$EXTP1")
  # The per-server router MACs (VLCP: the way out's MAC XOR outroutermacmask): on the VLAN and
  # native uplinks that port's MAC, on VXLAN networks the underlay's.
  OUT_C1=$(xormac "$(linkmac hv1 "$PHYS1")") OUT_C2=$(xormac "$(linkmac hv2 "$PHYS2")")
  OUT_E1=$(xormac "$(linkmac hv1 "$EXTP1")")
  OUT_VX1=$(xormac "$(linkmac hv1 br-phy)") OUT_VX2=$(xormac "$(linkmac hv2 br-phy)")
  GW_MAC=$(sb_exec extgw ip -br link show eth0 | awk '{print $3}')
  [ -n "$OF_PHYS1" ] && [ -n "$OF_PHYS2" ] && [ -n "$OF_EXT1" ] && [ -n "$GW_MAC" ]
}
check "two servers, underlay, VLAN and external switches, four hosts, a gateway" setup || {
  finish
  exit 1
}

# --- L2 (as src/apps/l2.cc states them, pre-push) --------------------------------------------
l2_base() {
  local t
  for t in "$T_L2INPUT:$T_VXLANINPUT" "$T_VXLANINPUT:$T_ARP" "$T_ARP:$T_L3INPUT" "$T_L3INPUT:$T_L2OUTPUT" \
    "$T_L2OUTPUT:$T_VXLANOUTPUT" "$T_VXLANOUTPUT:$T_EGRESS"; do
    echo "table=${t%:*},priority=0,cookie=0x0,actions=goto_table:${t#*:}"
  done
  echo "table=$T_INGRESS,priority=0,cookie=0x0,actions=drop"
  echo "table=$T_EGRESS,priority=0,cookie=0x0,actions=drop"
  echo "table=$T_L2INPUT,priority=$((P + 100)),cookie=$(ck $APP_L2 0),dl_src=01:00:00:00:00:00/01:00:00:00:00:00,actions=drop"
  echo "table=$T_L2INPUT,priority=$((P + 100)),cookie=$(ck $APP_L2 0),dl_dst=01:80:c2:00:00:00/ff:ff:ff:ff:ff:f0,actions=drop"
  echo "table=$T_L2OUTPUT,priority=$((P + 10)),cookie=$(ck $APP_L2 0),dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=goto_table:$T_VXLANOUTPUT"
}
# l2_local NETID OFPORT MAC: a logical port bound here
l2_local() {
  local id=$1 of=$2 mac=$3
  echo "table=$T_INGRESS,priority=$P,cookie=$(ck $APP_IO "$id"),in_port=$of,actions=set_field:$id->reg4,set_field:$id->reg5,set_field:0x4000->reg7,goto_table:$T_L2INPUT"
  echo "table=$T_L2OUTPUT,priority=$((P + 2)),cookie=$(ck $APP_L2 "$id"),reg5=$id,dl_dst=$mac,actions=set_field:$of->reg6,goto_table:$T_VXLANOUTPUT"
  echo "table=$T_EGRESS,priority=$P,cookie=$(ck $APP_IO "$id"),reg6=$of,actions=output:$of"
  echo "table=$T_EGRESS,priority=$((P + 1)),cookie=$(ck $APP_IO "$id"),in_port=$of,reg6=$of,reg7=0x8000/0x8000,actions=IN_PORT"
}
# l2_vxlan NETID VNI: the network's tunnel in and out
l2_vxlan() {
  local id=$1 vni=$2
  echo "table=$T_INGRESS,priority=$P,cookie=$(ck $APP_IO "$id"),in_port=$TUN,tun_id=$vni,actions=set_field:$id->reg4,set_field:$id->reg5,goto_table:$T_L2INPUT"
  echo "table=$T_EGRESS,priority=$P,cookie=$(ck $APP_VX "$id"),reg6=$TUN,reg5=$id,actions=set_field:$vni->tun_id,output:$TUN"
}
# l2_remote NETID MAC VTEP: a MAC on another server (a logical port, or that server's router)
l2_remote() {
  echo "table=$T_VXLANOUTPUT,priority=$((P + 9)),cookie=$(ck $APP_VX "$1"),reg5=$1,reg6=0,dl_dst=$2,actions=set_field:$3->tun_dst,set_field:$TUN->reg6,goto_table:$T_EGRESS"
}
# l2_uplink NETID vlan|native VID OFPORT: a VLAN or native network's physical port
l2_uplink() {
  local id=$1 type=$2 vid=$3 of=$4 in out
  if [ "$type" = vlan ]; then
    in="priority=$P,in_port=$of,dl_vlan=$vid,actions=pop_vlan,"
    out="push_vlan:0x8100,set_field:$((0x1000 | vid))->vlan_vid,"
  else
    in="priority=$((P - 1)),in_port=$of,vlan_tci=0x0000/0x1000,actions="
    out=""
  fi
  echo "table=$T_INGRESS,cookie=$(ck $APP_IO "$id"),${in}set_field:$id->reg4,set_field:$id->reg5,goto_table:$T_L2INPUT"
  echo "table=$T_L2OUTPUT,priority=$((P + 1)),cookie=$(ck $APP_L2 "$id"),reg5=$id,actions=set_field:$of->reg6,goto_table:$T_VXLANOUTPUT"
  echo "table=$T_EGRESS,priority=$P,cookie=$(ck $APP_IO "$id"),reg6=$of,reg5=$id,actions=${out}output:$of"
  # New for L3 (l2.cc has it for logical ports only): an ARP answer to a request that came in
  # on the uplink goes back out of it (OVS drops output:N when N is the in_port).
  echo "table=$T_EGRESS,priority=$((P + 1)),cookie=$(ck $APP_IO "$id"),in_port=$of,reg6=$of,reg5=$id,reg7=0x8000/0x8000,actions=${out}IN_PORT"
}

# l2_flood NETID ALL_BUCKETS INSIDE_BUCKETS: the network's flood groups (in the groups file) and
# the egress flows using them; buckets are ';'-separated action lists.
l2_flood() {
  local id=$1 b
  {
    printf 'group_id=%d,type=all' "$id"
    IFS=';' read -ra bs <<<"$2"
    for b in "${bs[@]}"; do printf ',bucket=actions=%s' "$b"; done
    printf '\ngroup_id=%d,type=all' $((id | 0x1000000))
    IFS=';' read -ra bs <<<"$3"
    for b in "${bs[@]}"; do printf ',bucket=actions=%s' "$b"; done
    printf '\n'
  } >>"$GROUPS_FILE"
  echo "table=$T_EGRESS,priority=$P,cookie=$(ck $APP_IO "$id"),reg6=0,reg5=$id,reg7=0x4000/0x4000,actions=group:$id"
  echo "table=$T_EGRESS,priority=$((P - 1)),cookie=$(ck $APP_IO "$id"),reg6=0,reg5=$id,actions=group:$((id | 0x1000000))"
}

# --- L3 -------------------------------------------------------------------------------------
# arp_answer NETID IP MAC local|physical: ARP requests for IP answered with MAC, back to the asker
arp_answer() {
  local id=$1 ip=$2 mac=$3 reg7=0x4000/0x4000
  [ "$4" = physical ] && reg7=0/0x4000
  echo "table=$T_ARP,priority=$P,cookie=$(ck $APP_ARP "$id"),arp,reg4=$id,reg7=$reg7,arp_op=1,arp_tpa=$ip,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:$mac->eth_src,set_field:2->arp_op,move:NXM_NX_ARP_SHA[]->NXM_NX_ARP_THA[],set_field:$mac->arp_sha,move:NXM_OF_ARP_SPA[]->NXM_OF_ARP_TPA[],set_field:$ip->arp_spa,move:OXM_OF_IN_PORT[]->NXM_NX_REG6[],load:1->NXM_NX_REG7[15],goto_table:$T_VXLANOUTPUT"
}
# arp_free NETID OFPORT IP pass|drop: a port's gratuitous ARP (request for its own address)
arp_free() {
  local act=drop
  [ "$4" = pass ] && act="goto_table:$T_L3INPUT"
  echo "table=$T_ARP,priority=$((P + 10)),cookie=$(ck $APP_ARP "$1"),arp,in_port=$2,reg4=$1,arp_op=1,arp_tpa=$3,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=$act"
}
# arp_filter NETID: broadcast requests from outside the server on a router network are not flooded
arp_filter() {
  echo "table=$T_ARP,priority=$((P - 1)),cookie=$(ck $APP_L3 "$1"),arp,reg4=$1,reg7=0/0x4000,arp_op=1,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=drop"
}
# icmp_echo NETID GATEWAY: pings to the router interface answered by the flow
icmp_echo() {
  echo "table=$T_L3INPUT,priority=$((P + 1)),cookie=$(ck $APP_ICMP "$1"),icmp,reg4=$1,reg7=0x4000/0x4000,dl_dst=$RMAC,nw_dst=$2,icmp_type=8,icmp_code=0,actions=move:NXM_OF_ETH_SRC[]->NXM_OF_ETH_DST[],set_field:$RMAC->eth_src,move:NXM_OF_IP_SRC[]->NXM_OF_IP_DST[],set_field:$2->ip_src,set_field:0->icmp_type,mod_nw_ttl:64,move:OXM_OF_IN_PORT[]->NXM_NX_REG6[],load:1->NXM_NX_REG7[15],goto_table:$T_VXLANOUTPUT"
}
# dhcp_punt NETID: DHCP from local ports to the controller (worker lcores)
dhcp_punt() {
  local c
  c=$(printf '0x%x' $(($(ck $APP_DHCP "$1") | TO_WORKERS)))
  echo "table=$T_L3INPUT,priority=$((P + 2)),cookie=$c,udp,reg4=$1,reg7=0x4000/0x4000,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,tp_dst=67,actions=CONTROLLER:65535"
  echo "table=$T_L3INPUT,priority=$((P + 2)),cookie=$c,udp,reg4=$1,reg7=0x4000/0x4000,nw_dst=$DHCP_IP,tp_dst=67,actions=CONTROLLER:65535"
}
# router_in NETID MAC: IPv4 to the router's MAC is routed
router_in() {
  echo "table=$T_L3INPUT,priority=$P,cookie=$(ck $APP_L3 "$1"),ip,reg4=$1,dl_dst=$2,actions=goto_table:$T_L3ROUTER"
}
# route FROM_NETID CIDR TO_NETID: a directly connected subnet of the router
route() {
  local prefix=${2#*/}
  echo "table=$T_L3ROUTER,priority=$((P + prefix)),cookie=$(ck $APP_L3 "$1"),ip,reg4=$1,nw_dst=$2,actions=set_field:$3->reg5,goto_table:$T_L3OUTPUT"
}
# route_via FROM_NETID CIDR TO_NETID SRC_MAC NEXTHOP_MAC: a route through a nexthop (static
# route, the external gateway)
route_via() {
  local prefix=${2#*/}
  echo "table=$T_L3ROUTER,priority=$((P + prefix)),cookie=$(ck $APP_L3 "$1"),ip,reg4=$1,nw_dst=$2,actions=set_field:$3->reg5,set_field:$4->eth_src,set_field:$5->eth_dst,dec_ttl,goto_table:$T_L2OUTPUT"
}
# route_forward FROM_NETID CIDR FWD_MAC: to the external network through a forwarding node
route_forward() {
  local prefix=${2#*/} prio
  prio=$((P + 33 + prefix))
  [ "${2%/*}" = 0.0.0.0 ] && prio=$((P + prefix))
  echo "table=$T_L3ROUTER,priority=$prio,cookie=$(ck $APP_L3 "$1"),ip,reg4=$1,nw_dst=$2,actions=set_field:$3->eth_dst,goto_table:$T_L2OUTPUT"
}
# host NETID IP MAC SRC_MAC: the last hop to a host of a router network
host() {
  echo "table=$T_L3OUTPUT,priority=$((P + 1)),cookie=$(ck $APP_L3 "$1"),ip,reg5=$1,nw_dst=$2,actions=set_field:$4->eth_src,set_field:$3->eth_dst,dec_ttl,goto_table:$T_L2OUTPUT"
}
l3_base() {
  echo "table=$T_L3ROUTER,priority=0,cookie=$(ck $APP_L3 0),actions=drop"
  # ARP-learning strategy: a miss goes to the controller (cookie app l3, to the workers).
  echo "table=$T_L3OUTPUT,priority=0,cookie=$(printf '0x%x' $(($(ck $APP_L3 0) | TO_WORKERS))),actions=CONTROLLER:65535"
}

flows_hv1() {
  local a=${NET_A[0]} b=${NET_B[0]} c=${NET_C[0]} e=${NET_E[0]}
  l2_base
  l2_local "$a" 1 "${H1[1]}"
  l2_local "$b" 2 "${H2[1]}"
  l2_vxlan "$a" "${NET_A[2]}"
  l2_vxlan "$b" "${NET_B[2]}"
  l2_remote "$b" "${H3[1]}" $VTEP2
  l2_uplink "$c" vlan "${NET_C[2]}" "$OF_PHYS1" # C: reached only through the router here
  l2_uplink "$e" native 0 "$OF_EXT1"             # E: the external network (forwarding node)
  l2_flood "$a" "output:1" "output:1"
  l2_flood "$b" "output:2;set_field:${NET_B[2]}->tun_id,set_field:$VTEP2->tun_dst,output:$TUN" "output:2"
  l3_base
  arp_answer "$a" "${H1[0]}" "${H1[1]}" local
  arp_answer "$b" "${H2[0]}" "${H2[1]}" local
  arp_answer "$b" "${H3[0]}" "${H3[1]}" local
  arp_answer "$a" "${NET_A[4]}" $RMAC local
  arp_answer "$b" "${NET_B[4]}" $RMAC local
  arp_answer "$e" $EXT_IP_HV1 "$OUT_E1" physical
  arp_free "$a" 1 "${H1[0]}" drop
  arp_free "$b" 2 "${H2[0]}" drop
  arp_filter "$a"
  arp_filter "$b"
  arp_filter "$c"
  icmp_echo "$a" "${NET_A[4]}"
  icmp_echo "$b" "${NET_B[4]}"
  dhcp_punt "$a"
  dhcp_punt "$b"
  router_in "$a" $RMAC
  router_in "$b" $RMAC
  router_in "$c" $RMAC
  router_in "$a" "$OUT_VX1"
  router_in "$b" "$OUT_VX1"
  router_in "$c" "$OUT_C1"
  router_in "$e" "$OUT_E1"
  local from to
  for from in "$a" "$b" "$c" "$e"; do
    for to in "$a ${NET_A[3]}" "$b ${NET_B[3]}" "$c ${NET_C[3]}" "$e ${NET_E[3]}"; do
      [ "${to% *}" = "$from" ] || route "$from" "${to#* }" "${to% *}"
    done
    # The external network's default route, on the forwarding node.
    [ "$from" = "$e" ] || route_via "$from" 0.0.0.0/0 "$e" "$OUT_E1" "$GW_MAC"
  done
  host "$a" "${H1[0]}" "${H1[1]}" $RMAC
  host "$b" "${H2[0]}" "${H2[1]}" $RMAC
  host "$b" "${H3[0]}" "${H3[1]}" "$OUT_VX1"
  host "$c" "${H4[0]}" "${H4[1]}" "$OUT_C1"
  host "$e" "${NET_E[4]}" "$GW_MAC" "$OUT_E1" # the gateway, as the controller resolved it
}

flows_hv2() {
  local a=${NET_A[0]} b=${NET_B[0]} c=${NET_C[0]} e=${NET_E[0]}
  l2_base
  l2_local "$b" 1 "${H3[1]}"
  l2_local "$c" 2 "${H4[1]}"
  l2_vxlan "$a" "${NET_A[2]}" # A: reached only through the router here
  l2_vxlan "$b" "${NET_B[2]}"
  l2_remote "$a" "${H1[1]}" $VTEP1
  l2_remote "$b" "${H2[1]}" $VTEP1
  l2_remote "$b" "$OUT_VX1" $VTEP1 # the forwarding node's router on B
  l2_uplink "$c" vlan "${NET_C[2]}" "$OF_PHYS2"
  l2_flood "$b" "output:1;set_field:${NET_B[2]}->tun_id,set_field:$VTEP1->tun_dst,output:$TUN" "output:1"
  l2_flood "$c" "output:2;push_vlan:0x8100,set_field:$((0x1000 | NET_C[2]))->vlan_vid,output:$OF_PHYS2" "output:2"
  l3_base
  arp_answer "$b" "${H3[0]}" "${H3[1]}" local
  arp_answer "$b" "${H2[0]}" "${H2[1]}" local
  arp_answer "$c" "${H4[0]}" "${H4[1]}" local
  arp_answer "$b" "${NET_B[4]}" $RMAC local
  arp_answer "$c" "${NET_C[4]}" $RMAC local
  arp_answer "$c" "${H4[0]}" "${H4[1]}" physical # local port of a VLAN router network: answered here
  arp_free "$b" 1 "${H3[0]}" drop
  arp_free "$c" 2 "${H4[0]}" pass # vlan/native: the announcement goes out to the physical network
  arp_filter "$a"
  arp_filter "$b"
  arp_filter "$c"
  icmp_echo "$b" "${NET_B[4]}"
  icmp_echo "$c" "${NET_C[4]}"
  dhcp_punt "$b"
  dhcp_punt "$c"
  router_in "$b" $RMAC
  router_in "$c" $RMAC
  router_in "$b" "$OUT_VX2"
  router_in "$c" "$OUT_C2"
  local from to
  for from in "$a" "$b" "$c"; do
    for to in "$a ${NET_A[3]}" "$b ${NET_B[3]}" "$c ${NET_C[3]}"; do
      [ "${to% *}" = "$from" ] || route "$from" "${to#* }" "${to% *}"
    done
  done
  # No way to E here: the external subnet and the default route go to hv1's router.
  route_forward "$b" "${NET_E[3]}" "$OUT_VX1"
  route_forward "$b" 0.0.0.0/0 "$OUT_VX1"
  route_forward "$c" "${NET_E[3]}" "$OUT_C1"
  route_forward "$c" 0.0.0.0/0 "$OUT_C1"
  host "$a" "${H1[0]}" "${H1[1]}" "$OUT_VX2"
  host "$b" "${H2[0]}" "${H2[1]}" "$OUT_VX2"
  host "$b" "${H3[0]}" "${H3[1]}" $RMAC
  host "$c" "${H4[0]}" "${H4[1]}" $RMAC
}

install() {
  local hv=$1
  GROUPS_FILE=$OUT/groups-$hv.txt
  : >"$GROUPS_FILE"
  "flows_$hv" >"$OUT/flows-$hv.txt" || return 1
  sb_ofctl "$hv" add-groups br-int "$GROUPS_FILE" && sb_ofctl "$hv" add-flows br-int "$OUT/flows-$hv.txt" &&
    echo "$hv: $(wc -l <"$OUT/flows-$hv.txt") flows, $(wc -l <"$GROUPS_FILE") groups"
}
check "hv1: the flows and groups are accepted by OVS" install hv1
check "hv2: the flows and groups are accepted by OVS" install hv2
no_controller() { [ -z "$(sb_vsctl "$1" get-controller br-int)" ]; }
check "no controller on hv1 (no PACKET_IN can be answered)" no_controller hv1
check "no controller on hv2" no_controller hv2

# n_packets of the flows matching a dump-flows filter, summed: npk HV FILTER
npk() {
  sb_ofctl "$1" dump-flows br-int "$2" | grep -o 'n_packets=[0-9]*' | cut -d= -f2 | awk '{s += $1} END {print s + 0}'
}
ge() { [ "$1" -ge "$2" ]; }
# OVS folds datapath statistics into the flows' n_packets only when its revalidators run (about
# every 500 ms on the userspace datapath): counters are read after they settle.
settle() { sleep 1.2; }
# npk_ge HV FILTER N: the flows' n_packets reach N (polled for 3 s)
npk_ge() {
  local deadline=$((SECONDS + 3))
  until [ "$(npk "$1" "$2")" -ge "$3" ]; do
    [ $SECONDS -ge $deadline ] && return 1
    sleep 0.2
  done
}

# --- ARP responder ------------------------------------------------------------------------------
arp_gw_before=$(npk hv1 "table=$T_ARP,arp,reg4=1,arp_tpa=${NET_A[4]}")
neigh_is() { sb_exec "$1" ip neigh show "$2" | grep -qi "lladdr $3"; }
arp_gw() { sb_exec h1 ping -c1 -W2 "${NET_A[4]}" >/dev/null 2>&1 || true; neigh_is h1 "${NET_A[4]}" $RMAC; }
check "h1's ARP for its gateway is answered with the router MAC" arp_gw
check "... by the arp table's flow (its n_packets grew)" npk_ge hv1 "table=$T_ARP,arp,reg4=1,arp_tpa=${NET_A[4]}" $((arp_gw_before + 1))
# arp_req HOST SRC_IP SRC_MAC TARGET_IP [gratuitous]: a broadcast ARP request from HOST's eth0
arp_req() {
  sb_exec "$1" python3 - "$2" "$3" "$4" <<'EOF2'
import socket, sys
ip, mac, target = socket.inet_aton(sys.argv[1]), bytes.fromhex(sys.argv[2].replace(":", "")), socket.inet_aton(sys.argv[3])
s = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
s.bind(("eth0", 0))
s.send(b"\xff" * 6 + mac + b"\x08\x06" + b"\x00\x01\x08\x00\x06\x04\x00\x01" + mac + ip + b"\x00" * 6 + target)
EOF2
}
# capture NS IFACE FILE FILTER -- CMD...: CMD while tcpdump -c1 (3 s at most) waits for FILTER
capture() {
  local ns=$1 ifc=$2 file=$3 filter=$4
  shift 5
  ip netns exec "$ns" timeout 3 tcpdump -c1 -nn -e -i "$ifc" "$filter" >"$file" 2>&1 &
  local pid=$!
  sleep 0.5
  "$@" >/dev/null 2>&1
  wait $pid
}
tun_b_hv2() { npk hv2 "table=$T_INGRESS,in_port=$TUN,tun_id=${NET_B[2]}"; }
settle
tun_before=$(tun_b_hv2)
check "h2's ARP request for h3 (same network B, on hv2) is answered on hv1 with h3's MAC" \
  capture "$(sb_ns h2)" eth0 "$OUT/arp-h2-h3.txt" "arp[6:2] = 2 and ether src ${H3[1]}" -- \
  arp_req h2 "${H2[0]}" "${H2[1]}" "${H3[0]}"
settle
check "... and nothing of it crossed the tunnel to hv2" [ "$(tun_b_hv2)" -eq "$tun_before" ]

# Gratuitous ARP: on the VLAN network it goes out to the physical network, on VXLAN it stops.
check "gratuitous ARP from h4 (VLAN 100) goes out on the physical network" \
  capture "$(sb_ns phys)" "$(sb_ifname shv2)" "$OUT/garp-h4.txt" "arp and ether src ${H4[1]}" -- \
  arp_req h4 "${H4[0]}" "${H4[1]}" "${H4[0]}"
check "... through the free-ARP flow" npk_ge hv2 "table=$T_ARP,arp,in_port=2,arp_tpa=${H4[0]}" 1
flood_b_hv2() { npk hv2 "table=$T_EGRESS,reg6=0,reg5=2"; }
settle
flood_before=$(flood_b_hv2)
arp_req h3 "${H3[0]}" "${H3[1]}" "${H3[0]}"
check "gratuitous ARP from h3 (VXLAN) stops at the free-ARP flow" npk_ge hv2 "table=$T_ARP,arp,in_port=1,arp_tpa=${H3[0]}" 1
check "... and is not flooded (B's flood flows on hv2 saw nothing more)" [ "$(flood_b_hv2)" -eq "$flood_before" ]

# --- ICMP responder -------------------------------------------------------------------------------
settle
icmp_before=$(npk hv1 "table=$T_L3INPUT,icmp,reg4=1")
ping_gw() {
  sb_exec h1 timeout 5 tcpdump -c2 -nn -e -vv -i eth0 icmp >"$OUT/icmp-gw.txt" 2>&1 &
  local pid=$!
  sleep 0.5
  sb_exec h1 ping -c3 -i 0.2 -W2 "${NET_A[4]}" >"$OUT/ping-gw.txt" 2>&1
  local rc=$?
  wait $pid
  return $rc
}
check "h1 pings its gateway 10.1.0.1: answered" ping_gw
check "... by the l3input ICMP flow (3 more packets)" npk_ge hv1 "table=$T_L3INPUT,icmp,reg4=1" $((icmp_before + 3))
check_output "... with the TTL the flow set (mod_nw_ttl:64)" "ttl=64" cat "$OUT/ping-gw.txt"
check_output "... an echo reply from the router's MAC" "${RMAC}" grep -i "echo reply" -B1 "$OUT/icmp-gw.txt"
check_fails "... whose checksums tcpdump finds wrong" grep -Eiq "bad cksum|wrong.*cksum|incorrect" "$OUT/icmp-gw.txt"

# --- routing --------------------------------------------------------------------------------------
# routed_ping FROM TO_IP: replies arrive, with the TTL one router hop lowered (63)
routed_ping() {
  sb_exec "$1" ping -c3 -i 0.2 -W2 "$2" >"$OUT/ping-$1-$2.txt" 2>&1 && grep -q "ttl=63" "$OUT/ping-$1-$2.txt"
}
check "h1 (A) -> h2 (B) on hv1: routed, ttl=63" routed_ping h1 "${H2[0]}"
check "h1 (A, hv1) -> h3 (B, hv2) over VXLAN: routed, ttl=63" routed_ping h1 "${H3[0]}"
check "h3 (B, hv2) -> h1 (A, hv1): routed on hv2 into A (a network with no port on hv2)" routed_ping h3 "${H1[0]}"
check "h1 (A, hv1) -> h4 (C, VLAN 100 on hv2): routed onto the VLAN" routed_ping h1 "${H4[0]}"
check "h4 (C) -> h2 (B): routed on hv2, over VXLAN to hv1" routed_ping h4 "${H2[0]}"

# The request to h4 left hv1 on VLAN 100 with hv1's own router MAC as source.
vlan_src() {
  ip netns exec "$(sb_ns phys)" timeout 5 tcpdump -c1 -nn -e -i "$(sb_ifname shv1)" "vlan 100 and icmp" >"$OUT/vlan.txt" 2>&1 &
  local pid=$!
  sleep 0.5
  sb_exec h1 ping -c2 -i 0.2 -W2 "${H4[0]}" >/dev/null 2>&1
  wait $pid
  grep -qi "$OUT_C1 > ${H4[1]}" "$OUT/vlan.txt" && grep -q "vlan 100" "$OUT/vlan.txt"
}
check "on the VLAN: vlan 100, hv1's router MAC ($OUT_C1) -> h4" vlan_src
# The request to h3 crossed the underlay in B's VNI, as the host flow left it: TTL 63.
vxlan_ttl() {
  sb_exec hv1 timeout 5 tcpdump -c1 -nn -v -i "$(sb_ifname ulhv1)" "udp port 4789" >"$OUT/vxlan.txt" 2>&1 &
  local pid=$!
  sleep 0.5
  sb_exec h1 ping -c2 -i 0.2 -W2 "${H3[0]}" >/dev/null 2>&1
  wait $pid
  grep -q "vni ${NET_B[2]}" "$OUT/vxlan.txt" && grep -q "ttl 63" "$OUT/vxlan.txt"
}
check "on the underlay: VNI 5002 (B), inner TTL 63" vxlan_ttl

trace() {
  sb_appctl hv1 ofproto/trace br-int \
    "in_port=1,icmp,dl_src=${H1[1]},dl_dst=$RMAC,nw_src=${H1[0]},nw_dst=${H3[0]},nw_ttl=64,icmp_type=8" \
    >"$OUT/trace-h1-h3.txt" 2>&1
}
check "ofproto/trace of h1 -> h3 saved ($OUT/trace-h1-h3.txt)" trace
check_output "... it decrements the TTL" "dec_ttl" cat "$OUT/trace-h1-h3.txt"
check_output "... and sends it to hv2 in VNI 5002 (0x138a)" "set_field:0x138a->tun_id" cat "$OUT/trace-h1-h3.txt"
check_output "... out of the tunnel port" "output:$TUN" cat "$OUT/trace-h1-h3.txt"
check_fails "a packet with TTL 1 is not routed (dec_ttl drops it; no controller for ICMP time exceeded)" \
  sb_exec h1 ping -c1 -W1 -t 1 "${H3[0]}"

# --- external network through the forwarding node ---------------------------------------------------
ext_arp() { sb_exec extgw ping -c1 -W2 -I 172.16.0.254 $EXT_IP_HV1 >/dev/null 2>&1; neigh_is extgw $EXT_IP_HV1 "$OUT_E1"; }
check "the external gateway's ARP for hv1's external address is answered (from the physical side)" ext_arp
ext_ping() {  # ext_ping HOST DST
  sb_exec "$1" ping -c3 -i 0.2 -W2 "$2" >"$OUT/ping-$1-$2.txt" 2>&1
}
check "h1 (on the forwarding node) -> external gateway 172.16.0.254" ext_ping h1 172.16.0.254
check "h1 -> 198.51.100.1 (behind the gateway, the default route)" ext_ping h1 198.51.100.1
check "h3 (hv2, no external uplink) -> 198.51.100.1: forwarded to hv1's router, then out" ext_ping h3 198.51.100.1
check_output "... one routed hop each way (ttl=63)" "ttl=63" cat "$OUT/ping-h3-198.51.100.1.txt"
check "h4 (hv2, VLAN network) -> 172.16.0.254: forwarded over the VLAN to hv1" ext_ping h4 172.16.0.254
check "the gateway reaches h3 (routes 10.0.0.0/8 via hv1's external address)" ext_ping extgw "${H3[0]}"
check "hv2's forward routes carried the traffic" npk_ge hv2 "table=$T_L3ROUTER,reg4=2,nw_dst=0.0.0.0/0" 3

# --- DHCP punt: to the controller's table, no answer without one ------------------------------------
settle
dhcp_before=$(npk hv1 "table=$T_L3INPUT,udp,reg4=1,tp_dst=67")
dhcp_send() {
  sb_exec h1 python3 -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_BROADCAST, 1)
s.bind(("0.0.0.0", 68))
s.sendto(b"\x01" + b"\x00" * 299, ("255.255.255.255", 67))'
}
check "a DHCP broadcast from h1 is sent" dhcp_send
check "... and hits the DHCP punt flow" npk_ge hv1 "table=$T_L3INPUT,udp,reg4=1,tp_dst=67" $((dhcp_before + 1))

# --- ARP-learning strategy: an l3output miss is a packet-in with the app's cookie --------------------
monitor_miss() {
  sb_ofctl hv1 del-flows br-int "table=$T_L3OUTPUT,reg5=2,ip,nw_dst=${H3[0]}" || return 1
  # A service connection (not a controller): it only listens. env execs ovs-ofctl: $! is its PID.
  env OVS_RUNDIR="$(sb_ovs_dir hv1)/run" ovs-ofctl -O OpenFlow13 monitor br-int 65534 >"$OUT/packet-in.txt" 2>&1 &
  local pid=$!
  sleep 0.5
  sb_exec h1 ping -c1 -W1 "${H3[0]}" >/dev/null 2>&1
  sleep 0.5
  kill "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
  # Back to pre-push for what follows.
  host 2 "${H3[0]}" "${H3[1]}" "$OUT_VX1" | sb_ofctl hv1 add-flows br-int -
  grep -q "PACKET_IN" "$OUT/packet-in.txt"
}
check "without h3's host flow the routed packet is a PACKET_IN (ovs-ofctl monitor)" monitor_miss
check_output "... from l3output (table 6), with the l3 app's cookie" "table_id=6 cookie=0x4006000000000000" cat "$OUT/packet-in.txt"
check_output "... carrying the destination network in reg5" "reg5=0x2" cat "$OUT/packet-in.txt"
check "after re-adding the host flow h1 -> h3 works again" routed_ping h1 "${H3[0]}"

# --- removing a router interface cuts the route at once ---------------------------------------------
cut_b() { sb_ofctl hv1 del-flows br-int "cookie=$(ck $APP_L3 2)/-1"; }
check "remove B's router-interface flows on hv1 (cookie l3|netid 2)" cut_b
check_fails "h1 -> h2 (B) no longer routed" sb_exec h1 ping -c2 -i 0.2 -W1 "${H2[0]}"
check "h1 -> h4 (C) still routed" routed_ping h1 "${H4[0]}"

for hv in hv1 hv2; do sb_ofctl "$hv" dump-flows br-int >"$OUT/dump-$hv.txt" 2>&1; done

# --- our codec reads what OVS encodes for these flows ------------------------------------------------
# A third OVS listens on TCP (its own namespace's loopback); ovs-ofctl sends it both servers'
# groups and flows while tcpdump records them, and vlcpctl decodes the capture.
vlcpctl=${VLCP_VLCPCTL:-$(cd "$(dirname "$0")/../.." && pwd)/build/release/src/vlcpctl}
codec_capture() {
  sb_ovs_start cd && sb_bridge cd br0 && sb_vsctl cd set-controller br0 ptcp:6653:127.0.0.1 || return 1
  sb_wait 10 sb_exec cd bash -c 'echo >/dev/tcp/127.0.0.1/6653' || return 1
  ip netns exec "$(sb_ns cd)" tcpdump -U -i lo -w "$OUT/flows.pcap" 'tcp port 6653' 2>/dev/null &
  local pid=$! hv rc=0
  sleep 0.5
  for hv in hv1 hv2; do
    sb_exec cd env OVS_RUNDIR="$(sb_ovs_dir cd)/run" ovs-ofctl -O OpenFlow13 --no-names del-flows tcp:127.0.0.1:6653 &&
      sb_exec cd env OVS_RUNDIR="$(sb_ovs_dir cd)/run" ovs-ofctl -O OpenFlow13 --no-names del-groups tcp:127.0.0.1:6653 &&
      sb_exec cd env OVS_RUNDIR="$(sb_ovs_dir cd)/run" ovs-ofctl -O OpenFlow13 --no-names add-groups tcp:127.0.0.1:6653 "$OUT/groups-$hv.txt" &&
      sb_exec cd env OVS_RUNDIR="$(sb_ovs_dir cd)/run" ovs-ofctl -O OpenFlow13 --no-names add-flows tcp:127.0.0.1:6653 "$OUT/flows-$hv.txt" || rc=1
  done
  sleep 2 # tcpdump writes what it has seen before it stops
  kill -INT $pid
  wait $pid
  return $rc
}
codec_decode() {
  "$vlcpctl" ofp-print --pcap "$OUT/flows.pcap" >"$OUT/flows-decoded.txt" 2>&1 || return 1
  local want got
  want=$(($(wc -l <"$OUT/flows-hv1.txt") + $(wc -l <"$OUT/flows-hv2.txt")))
  got=$(grep -c "OFPT_FLOW_MOD (OF1.3).*ADD" "$OUT/flows-decoded.txt")
  echo "FLOW_MOD ADDs decoded: $got of $want; GROUP_MOD ADDs: $(grep -A1 OFPT_GROUP_MOD "$OUT/flows-decoded.txt" | grep -c "^ ADD")"
  [ "$got" -eq "$want" ] && ! grep -q '\*\*\*' "$OUT/flows-decoded.txt"
}
# mods FILE: the FLOW_MOD and GROUP_MOD texts of a decoded capture, without xids
mods() {
  grep -h -A1 "OFPT_GROUP_MOD" "$1" | grep "^ ADD"
  grep "OFPT_FLOW_MOD" "$1" | sed 's/(xid=[^)]*)//'
}
codec_same() {
  ovs-ofctl ofp-parse-pcap "$OUT/flows.pcap" >"$OUT/flows-decoded-ovs.txt" 2>&1 || return 1
  diff <(mods "$OUT/flows-decoded-ovs.txt") <(mods "$OUT/flows-decoded.txt") >"$OUT/codec-diff.txt"
}
if [ -x "$vlcpctl" ]; then
  check "OVS encodes both servers' groups and flows over TCP (captured)" codec_capture
  check "vlcpctl ofp-print decodes every FLOW_MOD and GROUP_MOD with no decode error ($OUT/flows-decoded.txt)" codec_decode
  check "... to the same text as ovs-ofctl ofp-parse-pcap" codec_same
else
  echo "skipped: the codec check (no vlcpctl at $vlcpctl; set VLCP_VLCPCTL)"
fi
echo "flow dumps, traces and captures: $OUT"
finish
