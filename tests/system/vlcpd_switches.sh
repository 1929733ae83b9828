#!/usr/bin/env bash
# vlcpd holds real switches, one vlcpd per OVS as on a server: A beside a userspace OVS, B
# beside an OVS-DPDK. Each takes its bridges over through OVSDB (controller, fail_mode=secure),
# shows datapaths, ports and the OVSDB replica in introspection, sees a new port with its
# iface-id at once, and survives ovsdb-server and ovs-vswitchd restarts. The inactivity probe
# drops a stopped switch, a hostile peer gets OFPT_ERRORs without disturbing the others, B keeps
# its worker off OVS's PMD core and moves it when the mask changes, /metrics passes promtool,
# and SIGTERM stops vlcpd cleanly.
. "$(dirname "$0")/../lib/system.sh"
tools=$here/../tools

sb_ovs_start hv1 || { fail "start OVS"; finish; exit; }
sb_bridge hv1 br0 0000000000000001
sb_vsctl hv1 set bridge br0 fail_mode=standalone -- set Open_vSwitch . external_ids:system-id=hv1-system
sb_host h1 hv1 br0 10.0.0.1/24 ofport=1 iface_id=lp-1
sb_host h2 hv1 br0 10.0.0.2/24 ofport=2 iface_id=lp-2
sb_ovs_start dp1 dpdk || { fail "start OVS-DPDK"; finish; exit; }
sb_bridge dp1 br0 0000000000000002
sb_vsctl dp1 set bridge br0 protocols=OpenFlow13,OpenFlow14  # B and this switch speak 1.4
sb_host d1 dp1 br0 10.0.1.1/24 dpdk=af_packet ofport=1

# config NAME OVS OF_PORT HTTP_PORT METRICS_PORT [extra lines]: a vlcpd for OVS instance OVS.
config() {
  local name=$1 ovs=$2 of=$3 http=$4 metrics=$5
  shift 5
  cat >"$SB_DIR/$name.conf" <<CONF
server.loglevel = 'info'
module.openflowserver.url = 'tcp://127.0.0.1:$of'
module.openflowserver.urls = ['unix://$(sb_ovs_controller_socket "$ovs")']
protocol.openflow.keepalivetime = 1
protocol.openflow.keepalivetimeout = 1
module.ovsdbmanager.url = 'unix://$(sb_ovs_dir "$ovs")/run/db.sock'
module.ovsdbmanager.controller = 'unix:$(sb_ovs_controller_socket "$ovs")'
module.httpserver.url = 'tcp://127.0.0.1:$http'
module.metrics.url = 'tcp://127.0.0.1:$metrics'
module.sched.workers = 1
module.sched.memory_mb = 32
# The switch tests drive the switches themselves (hub, probes): no L2 apps programming them.
server.startup = ['openflowserver', 'ovsdbmanager', 'metrics', 'objectdb', 'httpserver']
CONF
  printf '%s\n' "$@" >>"$SB_DIR/$name.conf"
}
a_of=$(sb_free_port) a_http=$(sb_free_port) a_metrics=$(sb_free_port)
b_http=$(sb_free_port) b_metrics=$(sb_free_port)
config a hv1 "$a_of" "$a_http" "$a_metrics" "module.openflowserver.packetin = 'hub'"
# B's only core outside the PMD mask is the I/O thread's: its worker may go there only with
# share_io_core (otherwise it is not started and the I/O thread runs its handlers).
config b dp1 "$(sb_free_port)" "$b_http" "$b_metrics" "module.sched.share_io_core = True"
check "vlcpd accepts the configuration" "$VLCP_VLCPD" --check-config -c "$SB_DIR/a.conf"
sb_vlcpd_start a "$SB_DIR/a.conf"
sb_vlcpd_start b "$SB_DIR/b.conf"

api() { curl -sf --max-time 5 "http://127.0.0.1:$a_http$1"; }
api_b() { curl -sf --max-time 5 "http://127.0.0.1:$b_http$1"; }
# json PYTHON-EXPR < JSON: evaluates the expression on the document `d`.
json() { python3 -c "import json, sys; d = json.load(sys.stdin); print($1)"; }
# switch PORT DPID FIELD: one field of a datapath in /introspect/switches ("absent" if unknown).
switch() {
  curl -sf --max-time 5 "http://127.0.0.1:$1/introspect/switches" | python3 -c '
import json, sys
d = {s["dpid"]: s for s in json.load(sys.stdin)}
s = d.get(sys.argv[1])
v = s.get(sys.argv[2]) if s else "absent"
print(" ".join(p["name"] for p in v) if sys.argv[2] == "ports" else v)' "$2" "$3"
}
connected() { [ "$(switch "$1" "$2" connected)" = "$3" ]; }
dp_a=0000000000000001
dp_b=0000000000000002

check "vlcpd A serves introspection" sb_wait 20 api /introspect/placement
check "vlcpd B serves introspection" sb_wait 20 api_b /introspect/placement
check "A takes its bridge over and the switch connects" sb_wait 20 connected "$a_http" $dp_a True
check "B takes the OVS-DPDK bridge over and it connects" sb_wait 20 connected "$b_http" $dp_b True
check_output "the bridge's controller is vlcpd (set through OVSDB)" "controller.sock" sb_vsctl hv1 get-controller br0
check_output "... with fail_mode=secure" "secure" sb_vsctl hv1 get bridge br0 fail_mode
check_output "userspace ports in introspection" "$(sb_host_port h1)" switch "$a_http" $dp_a ports
check_output "OVS-DPDK ports in introspection" "$(sb_host_port d1)" switch "$b_http" $dp_b ports
check "A and its OpenFlow13 bridge speak 1.3" test "$(switch "$a_http" $dp_a openflow_version)" = 4
check "B and its OpenFlow13,OpenFlow14 bridge negotiate 1.4" test "$(switch "$b_http" $dp_b openflow_version)" = 5
sb_vsctl dp1 add-port br0 p14 -- set interface p14 type=internal
has_p14() { [[ $(switch "$b_http" $dp_b ports) == *p14* ]]; }
check "a 1.4 PORT_STATUS (port with properties) adds the port" sb_wait 10 has_p14
ovs_connected() { [ "$(sb_vsctl hv1 get controller br0 is_connected)" = true ]; }
check "OVS reports vlcpd as connected" sb_wait 15 ovs_connected

# The OVSDB replica.
check_output "OVSDB: system-id" "hv1-system" bash -c "curl -sf http://127.0.0.1:$a_http/introspect/ovsdb"
check_output "WebAPI ovsdbmanager/getsystemids (VLCP's form)" '{"result":["hv1-system"]}' \
  curl -sf "http://127.0.0.1:$a_http/ovsdbmanager/getsystemids"
check_output "WebAPI ovsdbmanager/getallbridges" '"name":"br0"' curl -sf "http://127.0.0.1:$a_http/ovsdbmanager/getallbridges"
ovsdb_field() { api /introspect/ovsdb | json "$1"; }
check_output "OVSDB: bridge with its datapath id" "0000000000000001" ovsdb_field 'd["bridges"][0]["datapath_id"]'
check_output "OVSDB: ports with iface-id and ofport" "lp-2 2" ovsdb_field \
  '" ".join(i["iface_id"] + " " + str(i["ofport"]) for p in d["bridges"][0]["ports"] for i in p["interfaces"] if i["iface_id"] == "lp-2")'
sb_vsctl hv1 add-port br0 vx1 -- set interface vx1 type=vxlan options:remote_ip=flow options:key=flow \
  options:local_ip=192.168.7.1
check_output "OVSDB: a tunnel port with its local_ip" "192.168.7.1" sb_wait_output 10 ovsdb_field \
  '[i["options"].get("local_ip") for p in d["bridges"][0]["ports"] for i in p["interfaces"] if i["name"] == "vx1"]' 192.168.7.1
check_output "OVSDB: B sees OVS-DPDK initialised" "True" bash -c \
  "curl -sf http://127.0.0.1:$b_http/introspect/ovsdb | python3 -c 'import json,sys; print(json.load(sys.stdin)[\"dpdk\"][\"initialized\"])'"

# A port added with an iface-id shows in introspection at once (median of three, timed from
# ovs-vsctl's return, which already waits for ovs-vswitchd to apply it).
times=()
for n in 1 2 3; do
  sb_vsctl hv1 add-port br0 "np$n" -- set interface "np$n" type=internal "external_ids:iface-id=lp-new$n"
  times+=("$(python3 "$tools/wait_json.py" "http://127.0.0.1:$a_http/introspect/ovsdb" "lp-new$n" 5)")
done
median=$(printf '%s\n' "${times[@]}" | sort -n | sed -n 2p)
echo "new port with iface-id visible after ${times[*]} ms (median $median ms)"
check "a new port with its iface-id appears within 100 ms" test "${median%.*}" -lt 100

# The hub mode answers packet-ins on the worker lcore.
sb_ofctl hv1 add-flow br0 "priority=0,actions=CONTROLLER:65535"
check "ping through packet-in/packet-out on the worker" sb_ping h1 h2 3
check "the worker handled the packet-ins" bash -c \
  "curl -sf http://127.0.0.1:$a_metrics/metrics | awk '/^vlcp_packet_ins_to_workers_total/ {exit !(\$2 > 0)}'"

# B keeps its worker off OVS-DPDK's PMD core (pmd-cpu-mask=0x2) and follows a new mask.
worker_cpus() { api_b /introspect/placement | json 'd["worker_cpus"]'; }
check_output "B avoids the PMD core" "[0]" sb_wait_output 10 worker_cpus "[0]"
worker_affinity() {
  local pid tid
  pid=$(sb_vlcpd_pid b)
  for tid in /proc/"$pid"/task/*; do
    [[ $(cat "$tid/comm") == *worker* ]] && taskset -pc "${tid##*/}" | sed 's/.*: //'
  done
}
check_output "B's worker thread runs on core 0" "0" sb_wait_output 10 worker_affinity 0
sb_vsctl dp1 set Open_vSwitch . other_config:pmd-cpu-mask=0x1
check_output "a new PMD mask re-plans the worker" "[1]" sb_wait_output 10 worker_cpus "[1]"
check_output "... and the worker thread moves" "1" sb_wait_output 10 worker_affinity 1

# A hostile peer on TCP gets errors and a clean close; the switches stay connected.
check "malformed messages get OFPT_ERROR, framing errors a close" python3 "$tools/bad_switch.py" 127.0.0.1 "$a_of"
check "vlcpd A is still running" kill -0 "$(sb_vlcpd_pid a)"
check "the switch was not disturbed" connected "$a_http" $dp_a True
check "... nor its session" test "$(switch "$a_http" $dp_a connections)" = 1

# /metrics in Prometheus format.
curl -sf "http://127.0.0.1:$a_metrics/metrics" >"$SB_DIR/metrics.txt"
check "promtool accepts /metrics" promtool check metrics <"$SB_DIR/metrics.txt"
check_output "metrics: connected switches" "vlcp_switches_connected 1" cat "$SB_DIR/metrics.txt"
check_output "metrics: OVSDB state" "vlcp_ovsdb_connected 1" cat "$SB_DIR/metrics.txt"
check_output "metrics: errors sent" "vlcp_openflow_errors_sent_total" cat "$SB_DIR/metrics.txt"
check_output "metrics: ring occupancy" 'vlcp_ring_occupancy{ring="io0-to-worker0"}' cat "$SB_DIR/metrics.txt"
check_output "metrics: lcore placement" 'vlcp_lcore_info{' cat "$SB_DIR/metrics.txt"

# The inactivity probe: a stopped ovs-vswitchd is dropped after keepalivetime + timeout (2 s).
vswitchd=$(cat "$(sb_ovs_dir hv1)/run/ovs-vswitchd.pid")
kill -STOP "$vswitchd"
start=$(date +%s%N)
check "a stopped switch is dropped by the probe" sb_wait 10 connected "$a_http" $dp_a False
dropped_ms=$((($(date +%s%N) - start) / 1000000))
echo "dropped after ${dropped_ms} ms (probe: 1 s idle, then 1 s for the echo)"
check "dropped within 4 s" test "$dropped_ms" -lt 4000
check_output "the reason is the probe" "inactivity probe" switch "$a_http" $dp_a last_down_reason
kill -CONT "$vswitchd"
check "the switch comes back after SIGCONT" sb_wait 20 connected "$a_http" $dp_a True

# ovs-vswitchd restarted: it reconnects by itself and is recognised by its datapath id.
d=$(sb_ovs_dir hv1)
sb_appctl hv1 exit
sb_wait 10 bash -c "! kill -0 $vswitchd 2>/dev/null"
check "restart drops the session" sb_wait 10 connected "$a_http" $dp_a False
sb_ovs hv1 ip netns exec "$(sb_ns hv1)" "$SB_OVS_VSWITCHD" "unix:$d/run/db.sock" --pidfile="$d/run/ovs-vswitchd.pid" \
  --unixctl="$d/run/ovs-vswitchd.ctl" --detach -vconsole:off --log-file="$d/log/ovs-vswitchd.log"
sb_record pid "$(cat "$d/run/ovs-vswitchd.pid")" "ovs-vswitchd:hv1"
check "restarted ovs-vswitchd reconnects" sb_wait 20 connected "$a_http" $dp_a True
check "... as the same datapath, connected three times now" test "$(switch "$a_http" $dp_a connections)" = 3

# ovsdb-server restarted: the OVSDB client reconnects and resynchronises by itself.
ovsdb_pid=$(cat "$d/run/ovsdb-server.pid")
sb_stop_pid "$ovsdb_pid"
ovsdb_down() { [ "$(api /introspect/ovsdb | json 'd["connected"]')" = False ]; }
check "OVSDB loss is noticed" sb_wait 10 ovsdb_down
sb_ovs hv1 ip netns exec "$(sb_ns hv1)" ovsdb-server "$d/db/conf.db" --remote="punix:$d/run/db.sock" \
  --pidfile="$d/run/ovsdb-server.pid" --unixctl="$d/run/ovsdb-server.ctl" --detach -vconsole:off \
  --log-file="$d/log/ovsdb-server.log"
sb_record pid "$(cat "$d/run/ovsdb-server.pid")" "ovsdb-server:hv1"
ovsdb_up() { [ "$(api /introspect/ovsdb | json 'd["connected"]')" = True ]; }
check "the OVSDB client reconnects by itself" sb_wait 20 ovsdb_up
sb_vsctl hv1 add-port br0 after-resync -- set interface after-resync type=internal external_ids:iface-id=lp-resync
check_output "the resynchronised replica follows new changes" "lp-resync" sb_wait_output 10 bash -c \
  "curl -sf http://127.0.0.1:$a_http/introspect/ovsdb" lp-resync
check_output "metrics count the OVSDB reconnect" "vlcp_ovsdb_connects_total 2" bash -c \
  "curl -sf http://127.0.0.1:$a_metrics/metrics"

# Modules unload and load at runtime through the WebAPI: unloading openflowserver closes the
# switch sessions and stops metrics (which depends on it); loading it brings both back.
post() { curl -sf --max-time 10 -X POST "http://127.0.0.1:$a_http$1"; }
check_output "modules are listed with their state" '"state":"running"' api /manager/modules
check_output "VLCP's manager/activemodules" '"openflowserver":"vlcpd.openflowserver"' api /manager/activemodules
check_output "unloading openflowserver stops metrics with it" '"metrics"' post "/manager/unloadmodule?path=openflowserver"
check "introspection no longer lists the switch" sb_wait 10 connected "$a_http" $dp_a absent
ovs_disconnected() { [ "$(sb_vsctl hv1 get controller br0 is_connected)" = false ]; }
check "OVS sees its controller gone" sb_wait 15 ovs_disconnected
check_fails "metrics are gone" curl -sf --max-time 2 "http://127.0.0.1:$a_metrics/metrics"
check_output "sched cannot be unloaded (409)" 'cannot be unloaded while vlcpd runs"} 409' bash -c \
  "curl -s -w ' %{http_code}' 'http://127.0.0.1:$a_http/manager/unloadmodule?path=sched' | tr -d '\n'"
check_output "an unknown module is 404" "404" curl -s -o /dev/null -w '%{http_code}' \
  "http://127.0.0.1:$a_http/manager/unloadmodule?path=nosuch"
check_output "loading openflowserver again" '"loaded":"openflowserver"' post "/manager/loadmodule?path=openflowserver"
check "the switch reconnects to the reloaded module" sb_wait 20 connected "$a_http" $dp_a True
check "metrics came back with it" sb_wait 10 curl -sf --max-time 2 "http://127.0.0.1:$a_metrics/metrics"

# SIGTERM: a clean exit.
for name in a b; do
  pid=$(sb_vlcpd_pid $name)
  kill -TERM "$pid"
  check "vlcpd $name exits on SIGTERM" sb_wait 10 bash -c "! kill -0 $pid 2>/dev/null"
  wait "$pid" 2>/dev/null
  check "vlcpd $name exit status is 0" test $? -eq 0
  check_fails "vlcpd $name logged no errors" grep -E "\|ERR" "$SB_DIR/vlcpd-$name.log"
done
if [ "$T_FAILED" -gt 0 ]; then
  tail -30 "$SB_DIR/vlcpd-a.log"
  tail -15 "$SB_DIR/vlcpd-b.log"
fi
finish
