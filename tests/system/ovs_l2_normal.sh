#!/usr/bin/env bash
# Two namespace hosts on one userspace OVS bridge (fail_mode=secure): no traffic without flows,
# ping and TCP with a static NORMAL flow.
. "$(dirname "$0")/../lib/system.sh"

sb_ovs_start hv1 || { fail "start OVS"; finish; exit; }
sb_bridge hv1 br0 0000000000000001
sb_host h1 hv1 br0 10.0.0.1/24 mac=02:00:00:00:00:01 iface_id=lp-1 ofport=1
sb_host h2 hv1 br0 10.0.0.2/24 mac=02:00:00:00:00:02 mtu=1400 iface_id=lp-2 ofport=2

check "bridge uses the userspace datapath" test "$(sb_vsctl hv1 get bridge br0 datapath_type)" = netdev
check "bridge is fail_mode=secure" test "$(sb_vsctl hv1 get bridge br0 fail_mode)" = secure
check_output "bridge speaks OpenFlow 1.3" "OpenFlow13" sb_vsctl hv1 get bridge br0 protocols
check "ports got the requested ofports" test "$(sb_ofport hv1 "$(sb_host_port h1)")$(sb_ofport hv1 "$(sb_host_port h2)")" = 12
check_output "iface-id is set" "lp-2" sb_vsctl hv1 get interface "$(sb_host_port h2)" external_ids:iface-id
check_output "host MTU is set" "mtu 1400" sb_exec h2 ip link show eth0
check_output "host MAC is set" "02:00:00:00:00:01" sb_exec h1 ip link show eth0

check_fails "no flows, secure mode: ping fails" sb_ping h1 h2 1

sb_ofctl hv1 add-flow br0 "priority=0,actions=NORMAL"
sb_neigh_flush h1 h2  # the failed attempt above left unresolved neighbour entries
check "ping h1 -> h2 through NORMAL" sb_ping h1 h2 3
check "ping h2 -> h1 through NORMAL" sb_ping h2 h1 3

# TCP needs tx offload off on the userspace datapath: prove a transfer completes.
sb_exec h2 bash -c 'nc -l -p 5001 -q 1 > /dev/null' &
listener=$!
sb_wait 5 sb_exec h2 bash -c 'ss -ltn | grep -q ":5001"'
check "1 MB over TCP completes" sb_exec h1 timeout 10 bash -c 'head -c 1000000 /dev/zero | nc -N -w 5 10.0.0.2 5001'
wait "$listener" 2>/dev/null
check_output "OVS forwarded through its flow table" "n_packets=" sb_ofctl hv1 dump-flows br0
finish
