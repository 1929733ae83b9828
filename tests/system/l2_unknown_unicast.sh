#!/usr/bin/env bash
# Unknown unicast in a VXLAN network (module.vxlancast.unknownunicast = tunnels, the default;
# docs/PACKET_IN_DESIGN.md §3.2-3.3): two servers with vlcpd on one ZooKeeper, a network with
# bound ports on both and ports bound nowhere. A frame to a MAC bound nowhere leaves the sending
# server only through the tunnel (ofproto/trace), is dropped where it arrives, and no other host
# sees it (captures while it is probed); binding the port makes the probes answered; broadcast
# ARP still reaches every host of the network on both servers.
vlcpctl=${VLCP_VLCPCTL:?set VLCP_VLCPCTL}
. "$(dirname "$0")/../lib/system.sh"

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
for hv in hv1 hv2; do sb_vlcpd_server_conf "$SB_DIR/$hv.conf" "$hv" "server.loglevel = 'info'"; done
ctl() {
  local hv=$1
  shift
  sb_exec "$hv" "$vlcpctl" --api http://127.0.0.1:8081 "$@"
}
status() {
  sb_exec "$1" curl -sf http://127.0.0.1:8081/ioprocessing/status | python3 -c "
import json, sys
s = json.load(sys.stdin)['result']['switches']
print(bool(s) and s[0].get('attached') and s[0].get('synced'))"
}
synced() { [ "$(status "$1")" = True ]; }
db_up() { ctl "$1" call viperflow listphysicalnetworks >/dev/null; }
start() { sb_vlcpd_start hv1 "$SB_DIR/hv1.conf" hv1 && sb_vlcpd_start hv2 "$SB_DIR/hv2.conf" hv2; }
check "vlcpd on both servers reaches ZooKeeper" eval 'start && sb_wait 30 db_up hv1 && sb_wait 30 db_up hv2'

# p1, p2 on hv1, p3 on hv2: bound. u1, u2: in the model, bound nowhere (u1 is bound later).
model() {
  ctl hv1 call viperflow createphysicalnetwork id=vx type=vxlan 'vnirange=[[10000,10100]]' >/dev/null &&
    ctl hv1 call viperflow createlogicalnetwork id=n1 physicalnetwork=vx >/dev/null &&
    ctl hv1 call viperflow createsubnet id=s1 logicalnetwork=n1 cidr=10.1.0.0/24 >/dev/null &&
    ctl hv1 call viperflow createphysicalport name=vxlan0 physicalnetwork=vx >/dev/null &&
    for p in "p1 02:00:00:01:00:01 10.1.0.1" "p2 02:00:00:01:00:02 10.1.0.2" "p3 02:00:00:01:00:03 10.1.0.3" \
      "u1 02:00:00:01:00:11 10.1.0.11" "u2 02:00:00:01:00:12 10.1.0.12"; do
      set -- $p
      ctl hv1 call viperflow createlogicalport id="$1" logicalnetwork=n1 subnet=s1 mac_address="$2" \
        ip_address="$3" >/dev/null || return 1
    done
}
check "a VXLAN network with bound and unbound ports" model
sb_host vm1 hv1 br-int 10.1.0.1/24 mac=02:00:00:01:00:01 iface_id=p1
sb_host vm2 hv1 br-int 10.1.0.2/24 mac=02:00:00:01:00:02 iface_id=p2
sb_host vm3 hv2 br-int 10.1.0.3/24 mac=02:00:00:01:00:03 iface_id=p3
located() { ctl hv1 db get viperflow.logicalportvxlaninfo.p3 | grep -q 192.168.99.2; }
check "both switches in sync, p3 located on hv2" eval 'sb_wait 30 synced hv1 && sb_wait 30 synced hv2 && sb_wait 30 located'
check "cross-server ping (vm1 -> vm3)" sb_wait 10 sb_ping vm1 vm3 1

# --- the path of a frame to a MAC bound nowhere ---------------------------------------------------
dp_port() {  # dp_port HV PORT: the datapath port number of an OVS port (ofproto/trace speaks those)
  sb_appctl "$1" dpif/show | sed -n "s/^ *$2 [0-9]*\/\([0-9]*\):.*/\1/p"
}
vm2_dp=$(dp_port hv1 "$(sb_host_port vm2)")
trace() {  # trace DL_DST: hv1's datapath actions for a frame from vm1
  sb_appctl hv1 ofproto/trace br-int \
    "in_port=$(sb_ofport hv1 "$(sb_host_port vm1)"),dl_src=02:00:00:01:00:01,dl_dst=$1" | grep '^Datapath actions'
}
unicast=$(trace 02:00:00:01:00:12)
broadcast=$(trace ff:ff:ff:ff:ff:ff)
echo "unbound MAC: $unicast"
echo "broadcast:   $broadcast"
check "ofproto/trace: vm1 -> unbound u2 goes into the tunnel to hv2" grep -q 'dst=192.168.99.2' <<<"$unicast"
check_fails "  and to no local port (not vm2's, datapath port $vm2_dp)" grep -qE "(^|[ ,(])$vm2_dp(,|$)" <<<"$unicast"
check "  while a broadcast goes to vm2 (port $vm2_dp) and through the tunnel" \
  eval 'grep -qE "(^|[ ,(])$vm2_dp(,|$)" <<<"$broadcast" && grep -q dst=192.168.99.2 <<<"$broadcast"'
vni=$(ctl hv1 --json logicalnetwork list | python3 -c "import json,sys; print([n['vni'] for n in json.load(sys.stdin) if n['id']=='n1'][0])")
arrival() {
  sb_appctl hv2 ofproto/trace br-int \
    "in_port=$(sb_ofport hv2 vxlan0),tun_id=$vni,tun_src=192.168.99.1,tun_dst=192.168.99.2,dl_src=02:00:00:01:00:01,dl_dst=$1" |
    grep '^Datapath actions'
}
check_output "  arriving on hv2 through the tunnel (VNI $vni): dropped" "Datapath actions: drop" arrival 02:00:00:01:00:12
check_fails "  while one to vm3 is delivered" grep -q ': drop$' <<<"$(arrival 02:00:00:01:00:03)"

# --- probes to unbound ports reach no host; a bind makes them answered -------------------------
sb_exec vm1 ip neigh replace 10.1.0.11 lladdr 02:00:00:01:00:11 dev eth0 nud permanent
sb_exec vm1 ip neigh replace 10.1.0.12 lladdr 02:00:00:01:00:12 dev eth0 nud permanent
capture() {  # capture HOST: frames to u1's or u2's MAC that reach HOST during 50 probes of each
  sb_exec "$1" timeout 4 tcpdump -nn -e -i eth0 'ether dst 02:00:00:01:00:11 or ether dst 02:00:00:01:00:12' \
    >"$SB_DIR/seen-$1.txt" 2>/dev/null &
}
capture vm2
pid2=$!
capture vm3
pid3=$!
sleep 1
sb_exec vm1 ping -q -c 50 -i 0.01 -W 1 10.1.0.11 >/dev/null 2>&1 &
sb_exec vm1 ping -q -c 50 -i 0.01 -W 1 10.1.0.12 >/dev/null 2>&1
wait $pid2 $pid3
frames() { grep -c . "$SB_DIR/seen-$1.txt"; }
check "100 probes to unbound u1 and u2: vm2 (same server) saw none of them" test "$(frames vm2)" = 0
check "  nor did vm3 (other server)" test "$(frames vm3)" = 0

sb_exec vm1 ping -q -i 0.01 -w 20 10.1.0.11 >"$SB_DIR/bind-ping.txt" 2>&1 &
pinger=$!
sb_host vu1 hv2 br-int 10.1.0.11/24 mac=02:00:00:01:00:11 iface_id=u1
answered() { sb_exec vm1 ping -q -c 1 -W 1 10.1.0.11 >/dev/null; }
check "u1 bound on hv2 while probed: it answers vm1" sb_wait 15 answered
kill "$pinger" 2>/dev/null
wait "$pinger" 2>/dev/null

# --- broadcast still floods: ARP reaches every host on both servers --------------------------------
# vm1 asks for an address nobody holds (10.1.0.99), so no answer or neighbour learnt on the way
# (vm3 refreshing its entry for vm1 would teach vm1 vm3's MAC) can spare the broadcast.
for h in vm2 vm3 vu1; do
  sb_exec "$h" timeout 4 tcpdump -nn -c 1 -i eth0 'arp and arp[6:2] = 1 and arp[24:4] = 0x0a010063' \
    >"$SB_DIR/arp-$h.txt" 2>/dev/null &
  eval "cap_$h=\$!"
done
sleep 1
sb_exec vm1 ping -q -c 1 -W 1 10.1.0.99 >/dev/null 2>&1
wait "$cap_vm2" "$cap_vm3" "$cap_vu1"
for h in vm2 vm3 vu1; do
  check_output "  vm1's ARP broadcast reached $h" "ARP, Request" cat "$SB_DIR/arp-$h.txt"
done
check "vm1 still pings vm3" sb_ping vm1 vm3 1
finish
