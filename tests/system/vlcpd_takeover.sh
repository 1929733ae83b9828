#!/usr/bin/env bash
# A local process posing as a switch (issue 14): vlcpd beside a userspace OVS whose bridge it
# takes over through OVSDB on a unix socket (mode 0600), with its L2 apps programming the
# bridge, and a loopback TCP listener a fake switch can reach. The fake announces the real
# bridge's datapath id three times: each time it is closed and sent nothing (no FLOW_MOD),
# the bridge keeps its one connection and its flows (no flapping), and the refusals are
# counted. Then switches streaming endless multipart replies (PORT_DESC in the handshake,
# FLOW_STATS after it) are dropped at the cap with vlcpd's memory bounded.
. "$(dirname "$0")/../lib/system.sh"
tools=$here/../tools

sb_ovs_start hv1 || { fail "start OVS"; finish; exit; }
sb_vsctl hv1 set Open_vSwitch . external_ids:system-id=hv1
sb_bridge hv1 br-int 0000000000000001
# A bridge vlcpd knows from OVSDB but does not take over (not in module.ovsdbmanager.bridges):
# the datapath id a fake switch uses to be reconciled (asked for its flows).
sb_bridge hv1 br-fake 00000000000000a2
of=$(sb_free_port)
cap=$((32 << 20))
sb_vlcpd_server_conf "$SB_DIR/hv1.conf" hv1 "server.loglevel = 'info'" "module.objectdb.backend = 'embedded'" \
  "module.objectdb.path = '$SB_DIR/hv1.mdb'" "module.openflowserver.urls = ['tcp://127.0.0.1:$of']" \
  "protocol.openflow.keepalivetimeout = 1" "protocol.openflow.maxmultipartbytes = $cap"
check "vlcpd accepts the configuration" "$VLCP_VLCPD" --check-config -c "$SB_DIR/hv1.conf"
sb_vlcpd_start hv1 "$SB_DIR/hv1.conf" hv1
pid=$(sb_vlcpd_pid hv1)

api() { sb_exec hv1 curl -sf --max-time 5 "http://127.0.0.1:8081$1"; }
metrics() { sb_exec hv1 curl -sf --max-time 5 "http://127.0.0.1:9464/metrics"; }
# switch FIELD: one field of datapath 1 in /introspect/switches ("absent" if unknown).
switch() {
  api /introspect/switches | python3 -c '
import json, sys
d = {s["dpid"]: s for s in json.load(sys.stdin)}
s = d.get("0000000000000001")
print(s.get(sys.argv[1]) if s else "absent")' "$1"
}
connected() { [ "$(switch connected)" = True ]; }
synced() {
  api /ioprocessing/status | python3 -c 'import json,sys; s=json.load(sys.stdin)["result"]["switches"]; sys.exit(0 if any(x["connected"] and x["synced"] for x in s) else 1)'
}
flows() { sb_ofctl hv1 dump-flows br-int --no-stats | grep -v "reply" | sort; }
rss_kb() { awk '/^VmRSS/ {print $2}' "/proc/$pid/status"; }
fake() { sb_exec hv1 timeout 60 python3 "$tools/fake_switch.py" "$1" 127.0.0.1 "$of" "$2" "${3:-5}"; }
field() { python3 -c "import json, sys; d = json.loads(sys.argv[1]); print($2)" "$1"; }

check "the bridge connects over the unix socket" sb_wait 30 connected
check_output "... given to OVS through OVSDB" "unix:" sb_vsctl hv1 get-controller br-int
check "the socket is mode 0600 (root's processes only)" test "$(stat -c %a "$(sb_ovs_controller_socket hv1)")" = 600
check "the L2 apps programmed the bridge" sb_wait 30 synced
flows >"$SB_DIR/flows-before"
check "the bridge has flows" test "$(wc -l <"$SB_DIR/flows-before")" -gt 1

# The impostor: three tries with the bridge's datapath id.
for try in 1 2 3; do
  out=$(fake impostor 0000000000000001 5)
  echo "impostor $try: $out"
  check "impostor $try is closed" test "$(field "$out" 'd["closed"]')" = True
  check "impostor $try gets no FLOW_MOD" test "$(field "$out" 'd["received"].get("FLOW_MOD", 0)')" = 0
  check "impostor $try gets nothing after the handshake" test \
    "$(field "$out" 'sum(v for k, v in d["received"].items() if k not in ("HELLO", "FEATURES_REQUEST", "SET_CONFIG", "MULTIPART_REQUEST"))')" = 0
done
check "the bridge is still connected" connected
check "... on its first connection (no flapping)" test "$(switch connections)" = 1
ovs_connected() { [ "$(sb_vsctl hv1 get controller br-int is_connected)" = true ]; }
# (OVS writes is_connected on its own status timer, not at once: wait for it.)
check "OVS still sees vlcpd connected" sb_wait 15 ovs_connected
flows >"$SB_DIR/flows-after"
check "the bridge's flows are unchanged" cmp -s "$SB_DIR/flows-before" "$SB_DIR/flows-after"
check_output "the refusals are counted" 'vlcp_openflow_duplicate_datapath_total{outcome="refused"} 3' metrics
check_output "... and none replaced the bridge" 'vlcp_openflow_duplicate_datapath_total{outcome="replaced"} 0' metrics

# Endless multipart replies: dropped at the cap, memory bounded.
rss0=$(rss_kb)
out=$(fake portdesc 00000000000000a1 20)
echo "endless PORT_DESC: $out (vlcpd RSS ${rss0} kB -> $(rss_kb) kB)"
check "an endless PORT_DESC in the handshake is dropped" test "$(field "$out" 'd["closed"]')" = True
check "... once it passed 16 MiB (kMaxPortDescBytes)" test "$(field "$out" 'd["sent_bytes"] > (16 << 20)')" = True
out=$(fake flowstats 00000000000000a2 30)
rss1=$(rss_kb)
echo "endless FLOW_STATS: $out (vlcpd RSS $rss1 kB, cap $cap bytes)"
check "an endless FLOW_STATS reply is dropped" test "$(field "$out" 'd["closed"]')" = True
check "... once it passed the cap" test "$(field "$out" "d['sent_bytes'] > $cap")" = True
# (what the fake wrote includes what sat in the socket buffers when vlcpd closed; vlcpd itself
# held at most the cap, in a vector that may have grown to twice that while filling)
check "vlcpd's memory stayed bounded (< start + 3 x cap)" test "$rss1" -lt $((rss0 + 3 * cap / 1024))
check_output "the overflows are counted" "vlcp_openflow_multipart_overflows_total 2" metrics
check "vlcpd is still running" kill -0 "$pid"
check "the bridge was not disturbed" test "$(switch connections)" = 1

kill -TERM "$pid"
check "vlcpd exits on SIGTERM" sb_wait 10 bash -c "! kill -0 $pid 2>/dev/null"
[ "$T_FAILED" -gt 0 ] && tail -40 "$SB_DIR/vlcpd-hv1.log"
finish
