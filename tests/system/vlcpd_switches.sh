#!/usr/bin/env bash
# vlcpd holds real switches: a userspace OVS and an OVS-DPDK instance connect to it (unix
# sockets into their namespaces); their datapaths and ports show in introspection; a new port
# appears fast; a stopped ovs-vswitchd is dropped by the inactivity probe and comes back by
# itself; a hostile peer gets OFPT_ERRORs without disturbing the others; /metrics passes
# promtool; SIGTERM stops vlcpd cleanly.
. "$(dirname "$0")/../lib/system.sh"
tools=$here/../tools

sb_ovs_start hv1 || { fail "start OVS"; finish; exit; }
sb_bridge hv1 br0 0000000000000001
sb_host h1 hv1 br0 10.0.0.1/24 ofport=1
sb_host h2 hv1 br0 10.0.0.2/24 ofport=2
sb_ovs_start dp1 dpdk || { fail "start OVS-DPDK"; finish; exit; }
sb_bridge dp1 br0 0000000000000002
sb_host d1 dp1 br0 10.0.1.1/24 dpdk=af_packet ofport=1

of_port=$(sb_free_port)
http_port=$(sb_free_port)
metrics_port=$(sb_free_port)
cat >"$SB_DIR/vlcp.conf" <<CONF
server.loglevel = 'info'
module.openflowserver.url = 'tcp://127.0.0.1:$of_port'
module.openflowserver.urls = ['unix://$(sb_ovs_controller_socket hv1)', 'unix://$(sb_ovs_controller_socket dp1)']
module.openflowserver.packetin = 'hub'
protocol.openflow.keepalivetime = 1
protocol.openflow.keepalivetimeout = 1
module.httpserver.url = 'tcp://127.0.0.1:$http_port'
module.metrics.url = 'tcp://127.0.0.1:$metrics_port'
module.sched.workers = 1
module.sched.memory_mb = 32
CONF
check "vlcpd accepts the configuration" "$VLCP_VLCPD" --check-config -c "$SB_DIR/vlcp.conf"
sb_vlcpd_start main "$SB_DIR/vlcp.conf"
api() { curl -sf --max-time 5 "http://127.0.0.1:$http_port$1"; }
check "vlcpd serves introspection" sb_wait 20 api /introspect/placement

# switch DPID FIELD: one field of a datapath in /introspect/switches ("absent" if unknown).
switch() {
  api /introspect/switches | python3 -c '
import json, sys
d = {s["dpid"]: s for s in json.load(sys.stdin)}
s = d.get(sys.argv[1])
v = s.get(sys.argv[2]) if s else "absent"
print(" ".join(p["name"] for p in v) if sys.argv[2] == "ports" else v)' "$1" "$2"
}
is() { [ "$(switch "$1" "$2")" = "$3" ]; }

sb_vsctl hv1 set-controller br0 "unix:$(sb_ovs_controller_socket hv1)" -- set controller br0 max_backoff=1000
sb_vsctl dp1 set-controller br0 "unix:$(sb_ovs_controller_socket dp1)" -- set controller br0 max_backoff=1000
dp_a=0000000000000001
dp_b=0000000000000002
check "userspace OVS connects" sb_wait 20 is $dp_a connected True
check "OVS-DPDK connects" sb_wait 20 is $dp_b connected True
check_output "userspace ports in introspection" "$(sb_host_port h1)" switch $dp_a ports
check_output "OVS-DPDK ports in introspection" "$(sb_host_port d1)" switch $dp_b ports
ovs_connected() { [ "$(sb_vsctl hv1 get controller br0 is_connected)" = true ]; }
check "OVS reports us as connected" sb_wait 15 ovs_connected
check_output "the worker placement is exported" "worker_cpus" api /introspect/placement

# A new port shows in introspection quickly (PORT_STATUS; measured, then bounded).
start=$(date +%s%N)
sb_vsctl hv1 add-port br0 newport -- set interface newport type=internal external_ids:iface-id=lp-new
has_newport() { [[ "$(api /introspect/switches)" == *newport* ]]; }
sb_wait 5 has_newport
elapsed_ms=$((($(date +%s%N) - start) / 1000000))
echo "new port visible after ${elapsed_ms} ms (includes ovs-vsctl's own round trip)"
check "a new port appears within 1 s" test "$elapsed_ms" -lt 1000

# The hub mode answers packet-ins through the worker lcore: hosts ping through a table-miss
# flow that sends everything to the controller.
sb_ofctl hv1 add-flow br0 "priority=0,actions=CONTROLLER:65535"
check "ping through packet-in/packet-out on the worker" sb_ping h1 h2 3
check "the worker handled the packet-ins" bash -c \
  "curl -sf http://127.0.0.1:$metrics_port/metrics | awk '/^vlcp_packet_ins_to_workers_total/ {exit !(\$2 > 0)}'"

# A hostile peer on TCP gets errors and a clean close; the switches stay connected.
check "malformed messages get OFPT_ERROR, framing errors a close" python3 "$tools/bad_switch.py" 127.0.0.1 "$of_port"
check "vlcpd is still running" kill -0 "$(sb_vlcpd_pid main)"
check "the other switches were not disturbed" is $dp_a connected True
check "... nor their sessions" is $dp_a connections 1

# /metrics in Prometheus format.
curl -sf "http://127.0.0.1:$metrics_port/metrics" >"$SB_DIR/metrics.txt"
check "promtool accepts /metrics" promtool check metrics <"$SB_DIR/metrics.txt"
check_output "metrics count connected switches" "vlcp_switches_connected 2" cat "$SB_DIR/metrics.txt"
check_output "metrics count errors sent" "vlcp_openflow_errors_sent_total" cat "$SB_DIR/metrics.txt"

# The inactivity probe: a stopped ovs-vswitchd is dropped after keepalivetime + timeout (2 s).
vswitchd=$(cat "$(sb_ovs_dir hv1)/run/ovs-vswitchd.pid")
kill -STOP "$vswitchd"
start=$(date +%s%N)
check "a stopped switch is dropped by the probe" sb_wait 10 is $dp_a connected False
dropped_ms=$((($(date +%s%N) - start) / 1000000))
echo "dropped after ${dropped_ms} ms (probe: 1 s idle + 1 s for the echo)"
check "dropped within 1-4 s" test "$dropped_ms" -ge 900 -a "$dropped_ms" -lt 4000
check_output "the reason is the probe" "inactivity probe" switch $dp_a last_down_reason
kill -CONT "$vswitchd"
check "the switch comes back after SIGCONT" sb_wait 20 is $dp_a connected True

# A restarted ovs-vswitchd reconnects by itself and is recognised by its datapath id.
d=$(sb_ovs_dir hv1)
sb_appctl hv1 exit
sb_wait 10 bash -c "! kill -0 $vswitchd 2>/dev/null"
check "restart drops the session" sb_wait 10 is $dp_a connected False
sb_ovs hv1 ip netns exec "$(sb_ns hv1)" "$SB_OVS_VSWITCHD" "unix:$d/run/db.sock" --pidfile="$d/run/ovs-vswitchd.pid" \
  --unixctl="$d/run/ovs-vswitchd.ctl" --detach -vconsole:off --log-file="$d/log/ovs-vswitchd.log"
sb_record pid "$(cat "$d/run/ovs-vswitchd.pid")" "ovs-vswitchd:hv1"
check "restarted ovs-vswitchd reconnects" sb_wait 20 is $dp_a connected True
check "... as the same datapath, connected twice more" is $dp_a connections 3

# SIGTERM: a clean exit, and the switches see the controller go.
pid=$(sb_vlcpd_pid main)
kill -TERM "$pid"
check "vlcpd exits on SIGTERM" sb_wait 10 bash -c "! kill -0 $pid 2>/dev/null"
wait "$pid" 2>/dev/null
check "vlcpd exit status is 0" test $? -eq 0
check_fails "vlcpd logged no errors" grep -E "\|ERR" "$SB_DIR/vlcpd-main.log"
[ "$T_FAILED" -gt 0 ] && tail -30 "$SB_DIR/vlcpd-main.log"
finish
