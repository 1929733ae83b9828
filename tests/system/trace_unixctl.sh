#!/usr/bin/env bash
# vlcpd's unixctl client (src/ovsdb/unixctl, docs/TRACE_DESIGN.md §4.1) against a real
# ovs-vswitchd: the control socket found beside the OVSDB socket as the sandbox names it, the
# answer of ofproto/trace byte for byte what ovs-appctl prints, vswitchd's error reply as an
# error, and a vswitchd that is gone.
. "$(dirname "$0")/../lib/system.sh"
CALL=${VLCP_UNIXCTL_CALL:?VLCP_UNIXCTL_CALL: the unixctl_call tool}

sb_ovs_start hv1 || { fail "start OVS"; finish; exit; }
sb_bridge hv1 br-int 0000000000000001
sb_vsctl hv1 add-port br-int p1 -- set interface p1 type=internal ofport_request=1
sb_ofctl hv1 add-flow br-int "table=0,priority=10,cookie=0x1000000000001,in_port=1,actions=set_field:1->reg4,goto_table:1"
sb_ofctl hv1 add-flow br-int "table=1,priority=0,actions=drop"
d=$(sb_ovs_dir hv1)
db="unix:$d/run/db.sock"
flow="icmp,in_port=1,dl_src=02:00:0a:01:00:0b,dl_dst=1a:23:67:59:63:33,nw_src=10.1.0.11,nw_dst=10.2.0.13,nw_ttl=64,icmp_type=8,icmp_code=0"

check_output "version through the discovered socket" "ovs-vswitchd (Open vSwitch)" "$CALL" "$db" version
check "ofproto/trace: the same text as ovs-appctl's" bash -c \
  'diff <("$1" "$2" ofproto/trace br-int "$3") <(ovs-appctl -t "$4" ofproto/trace br-int "$3")' _ \
  "$CALL" "$db" "$flow" "$d/run/ovs-vswitchd.ctl"
check_output "the trace names table 0's flow" "cookie 0x1000000000001" "$CALL" "$db" ofproto/trace br-int "$flow"
check_output "an explicit control socket" "ovs-vswitchd (Open vSwitch)" "$CALL" --ctl "$d/run/ovs-vswitchd.ctl" version
check_output "vswitchd's error reply is an error" "unknown bridge" bash -c '"$1" "$2" ofproto/trace br-nope "in_port=1" 2>&1; test $? -eq 1' _ "$CALL" "$db"
sb_ovs_stop hv1
check_output "no vswitchd: unavailable, naming the socket" "unavailable" bash -c '"$1" "$2" version 2>&1; test $? -eq 1' _ "$CALL" "$db"
finish
