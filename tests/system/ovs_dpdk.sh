#!/usr/bin/env bash
# OVS-DPDK (Debian's ovs-vswitchd-dpdk, no hugepages) with DPDK ports backed by af_packet on
# veths into namespace hosts, and one backed by a DPDK tap: pings cross the DPDK datapath.
. "$(dirname "$0")/../lib/system.sh"

check "OVS-DPDK starts without hugepages" sb_ovs_start dpdk1 dpdk || { finish; exit 1; }
check_output "DPDK is initialised" "DPDK 22.11" sb_vsctl dpdk1 get Open_vSwitch . dpdk_version
sb_bridge dpdk1 br0 00000000000000d1
sb_host d1 dpdk1 br0 10.0.1.1/24 dpdk=af_packet ofport=1
sb_host d2 dpdk1 br0 10.0.1.2/24 dpdk=af_packet ofport=2
check_output "port 1 is a DPDK port" "dpdk" sb_vsctl dpdk1 get interface dpdk1 type
dpdk_ports_up() { [ "$(sb_vsctl dpdk1 get interface dpdk1 link_state)$(sb_vsctl dpdk1 get interface dpdk2 link_state)" = upup ]; }
check "DPDK ports are up" sb_wait 20 dpdk_ports_up
check_output "PMD thread runs on the configured core" "core_id 1" sb_appctl dpdk1 dpif-netdev/pmd-rxq-show

sb_ofctl dpdk1 add-flow br0 "in_port=1,actions=output:2"
sb_ofctl dpdk1 add-flow br0 "in_port=2,actions=output:1"
check "ping d1 -> d2 through OVS-DPDK" sb_wait 20 sb_ping d1 d2 1
check "3 more pings" sb_ping d1 d2 3

# A tap-backed DPDK port, moved into its host as eth0.
check "tap-backed DPDK host" sb_host d3 dpdk1 br0 10.0.1.3/24 dpdk=tap ofport=3
sb_ofctl dpdk1 del-flows br0
sb_ofctl dpdk1 add-flow br0 "actions=NORMAL"
check "ping d1 -> d3 (af_packet to tap) through OVS-DPDK" sb_wait 20 sb_ping d1 d3 1
check_output "the datapath is DPDK's netdev" "netdev@ovs-netdev" sb_appctl dpdk1 dpctl/show
finish
