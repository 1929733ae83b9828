#!/usr/bin/env bash
# vlcpd's OVSDB client plugging ports with group commit (CONTAINERS_DESIGN §3.2) against a real
# ovsdb-server + ovs-vswitchd (userspace datapath): 200 internal ports in one burst go into
# transactions of more than one command each, all 200 get an ofport, a port name owned by
# someone else is refused alone while the rest of its batch succeeds, a command OVSDB refuses
# fails alone after its batch is retried one command at a time, the same owner replaces its own
# port, and unplugging everything leaves nothing on the bridge but the other owner's port.
# The driver is tests/tools/ovsdb_plug_burst.cc (its phases print one JSON line each).
# VLCP_PLUG_COUNT (default 200) changes the burst's size; the benchmark runs it three times.
tool=${VLCP_OVSDB_PLUG_BURST:?set VLCP_OVSDB_PLUG_BURST}
count=${VLCP_PLUG_COUNT:-200}
. "$(dirname "$0")/../lib/system.sh"

check "OVS with a netdev bridge" sb_ovs_start hv1
check "bridge br-int" sb_bridge hv1 br-int 0000000000000001
# Someone else's port (not ours to replace or remove).
check "another owner's port pbother" sb_vsctl hv1 add-port br-int pbother -- \
  set interface pbother type=internal external_ids:vlcp-owner=other:1

out=$("$tool" "$(sb_ovs_dir hv1)/run/db.sock" br-int "$count" 2>"$SB_DIR/tool.err")
status=$?
echo "$out"
[ $status -eq 0 ] && pass "the driver's expectations held" ||
  fail "the driver's expectations (exit $status): $(head -c 2000 "$SB_DIR/tool.err")"

field() {  # field PHASE KEY: a number from the phase's JSON line
  echo "$out" | grep "\"phase\": \"$1\"" | python3 -c "import json,sys; print(json.load(sys.stdin)['$2'])"
}
burst_batches=$(field burst batches)
burst_max=$(field burst max_batch)
check "all $count ports plugged" [ "$(field burst plugged)" = "$count" ]
check "all $count ports got an ofport" [ "$(field burst bound)" = "$count" ]
check "the other owner's name refused (conflict) in the burst" [ "$(field burst conflict)" = conflict ]
check "the burst used batches of more than one command ($burst_batches batches, largest $burst_max)" \
  [ "$burst_max" -gt 1 ] && [ "$burst_batches" -lt "$((count + 1))" ]
check "a refused value failed alone after a split (invalid argument)" [ "$(field split bad)" = "invalid argument" ]
check "the other 7 of that batch were plugged" [ "$(field split ok)" = 7 ]
check "the same owner replaced its port" [ "$(field replace status)" = ok ]
check "unplug of the other owner's port refused" [ "$(field unplug refused)" = conflict ]
check "the serial peer ran one transaction per port" [ "$(field serial batches)" = "$count" ]
echo "burst: $count plugs committed in $(field burst commit_ms) ms (all bound: $(field burst bound_ms) ms)," \
  "one transaction each: $(field serial commit_ms) ms"

ports=$(sb_vsctl hv1 list-ports br-int | tr '\n' ' ')
check "only the other owner's port is left on the bridge (got: $ports)" [ "$ports" = "pbother " ]
ours=$(sb_vsctl hv1 --bare --columns=name find interface 'external_ids:vlcp-owner="burst:test"') ||
  fail "ovs-vsctl find"
others=$(sb_vsctl hv1 --bare --columns=name find interface 'external_ids:vlcp-owner="other:1"')
check "no Interface rows of ours are left (the other owner's is: $others)" [ -z "$ours" ] && [ "$others" = pbother ]
no_taps() { [ "$(sb_exec hv1 ip -o link show | grep -c ': p[bq][0-9s]')" = 0 ]; }
check "no tap devices of ours are left (ovs-vswitchd removed them)" sb_wait 10 no_taps
[ -n "${VLCP_PLUG_RESULT:-}" ] && echo "$out" >"$VLCP_PLUG_RESULT"
finish
