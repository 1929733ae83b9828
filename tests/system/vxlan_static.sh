#!/usr/bin/env bash
# Two "servers" (each an OVS in its own namespace) joined by an underlay; a host on each talks
# to the other over VXLAN with static flows (tun_id set on the way out, matched on the way in).
. "$(dirname "$0")/../lib/system.sh"

setup() {
  sb_ovs_start hv1 && sb_ovs_start hv2 &&
    sb_underlay hv1 192.168.99.1/24 hv2 192.168.99.2/24 &&
    sb_bridge hv1 br-int 0000000000000001 && sb_bridge hv2 br-int 0000000000000002 &&
    sb_host vm1 hv1 br-int 10.0.0.1/24 mtu=1400 ofport=1 &&
    sb_host vm2 hv2 br-int 10.0.0.2/24 mtu=1400 ofport=1 &&
    sb_vxlan_port hv1 br-int vx1 192.168.99.2 100 &&
    sb_vxlan_port hv2 br-int vx2 192.168.99.1 100
}
check "two servers, underlay, VXLAN ports" setup || { finish; exit 1; }

check_fails "no flows: no overlay traffic" sb_ping vm1 vm2 1
for hv in hv1 hv2; do
  sb_ofctl $hv add-flow br-int "in_port=1,actions=set_field:5001->tun_id,output:100"
  sb_ofctl $hv add-flow br-int "in_port=100,tun_id=5001,actions=output:1"
done
# The failed attempt above left an unresolved neighbour entry in each host: start afresh.
sb_neigh_flush vm1 vm2
check "vm1 -> vm2 ping over VXLAN" sb_ping vm1 vm2 5
check "vm2 -> vm1 ping over VXLAN" sb_ping vm2 vm1 3

# The packets really crossed the underlay as VXLAN with VNI 5001.
ul=$(sb_ifname ulhv1)
sb_exec hv1 timeout 5 tcpdump -c 2 -nn -i "$ul" udp port 4789 >"$SB_DIR/tcpdump.txt" 2>/dev/null &
capture=$!
sleep 0.5
sb_ping vm1 vm2 3 >/dev/null
wait $capture
check_output "underlay carries VXLAN vni 5001" "vni 5001" cat "$SB_DIR/tcpdump.txt"

# A different VNI on one side isolates the hosts.
sb_ofctl hv1 mod-flows br-int "in_port=1,actions=set_field:5002->tun_id,output:100"
check_fails "mismatched VNI: no traffic" sb_ping vm1 vm2 2
finish
