#!/usr/bin/env bash
# The codec against the real Open vSwitch binaries:
#  1. every message of the seed corpus (our encoders and OVS's) prints through `ovs-ofctl
#     ofp-print` exactly as through `vlcpctl ofp-print`, with no "***" decode marks;
#  2. flows that ovs-ofctl encodes, installed in a real bridge and read back as flow stats
#     replies by `vlcpctl dump-flows` (our codec, over the bridge's management socket), read
#     the same as `ovs-ofctl dump-flows`;
#     and installed again through our own FLOW_MODs (the installer's diff), OVS reports them
#     exactly as sent: reconciling against it resends nothing;
#  3. a real controller session captured with tcpdump decodes in `vlcpctl ofp-print --pcap`
#     to the same messages `ovs-ofctl ofp-parse-pcap` sees.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/assert.sh"
. "$here/../sandbox/lib.sh"
vlcpctl=${VLCP_VLCPCTL:?set VLCP_VLCPCTL to the vlcpctl binary}

# 1. ofp-print, message by message.
mismatch=0
count=0
for seed in "$here/../fuzz/corpus/ofp/"*; do
  # regress-*: raw inputs that once made the differential fuzzer diverge (often deliberately
  # malformed); they are replayed by the fuzz tests, not printed here.
  [[ $(basename "$seed") == regress-* ]] && continue
  hex=$(od -An -v -tx1 "$seed" | tr -d ' \n')
  theirs=$(ovs-ofctl ofp-print "$hex" 2>&1)
  ours=$("$vlcpctl" ofp-print "$hex" 2>&1)
  count=$((count + 1))
  # OVS marks bad input with "***" (and still exits 0). An OFPT_ERROR's echoed request is
  # legitimately cut at 64 bytes, so below an ERROR's first line only decode errors count.
  marks=$theirs
  [[ $theirs == OFPT_ERROR* ]] && marks="$(head -1 <<<"$theirs")$(grep -F 'decode error' <<<"$theirs")"
  if [[ $marks == *"***"* ]]; then
    fail "ovs-ofctl marks $(basename "$seed") as malformed: ${theirs:0:200}"
    mismatch=1
  elif [ "$theirs" != "$ours" ]; then
    fail "$(basename "$seed") prints differently:\n ours: $ours\n ovs:  $theirs"
    mismatch=1
  fi
done
check "ofp-print agrees with ovs-ofctl on all $count corpus messages" test $mismatch -eq 0

# 2. Flows encoded by OVS, read back through our codec.
sb_init || exit 1
trap sb_down EXIT
sb_ovs_start hv1 && sb_bridge hv1 br0 0000000000000001 || { fail "start OVS"; finish; exit 1; }
added=0
while IFS= read -r flow; do
  [[ -z $flow || $flow == \#* ]] && continue
  if sb_ofctl hv1 add-flow br0 "$flow"; then added=$((added + 1)); else fail "ovs-ofctl refused: $flow"; fi
done <"$here/conformance_flows.txt"
check "ovs-ofctl installed the conformance flows ($added)" test "$added" -gt 30
mgmt="unix:$(sb_ovs_dir hv1)/run/br0.mgmt"
sb_ofctl hv1 dump-flows br0 --no-stats | sort >"$SB_DIR/theirs.txt"
"$vlcpctl" dump-flows "$mgmt" --no-stats | sort >"$SB_DIR/ours.txt"
check "vlcpctl dump-flows read $(wc -l <"$SB_DIR/ours.txt") flows" test "$(wc -l <"$SB_DIR/ours.txt")" -eq "$added"
if diff -u "$SB_DIR/theirs.txt" "$SB_DIR/ours.txt" >"$SB_DIR/diff.txt"; then
  pass "every flow reads the same through our codec as through ovs-ofctl"
else
  fail "flows differ:\n$(cat "$SB_DIR/diff.txt")"
fi
# The installer's reconcile step on those flows: read as the desired set, wiped, installed again
# through our FLOW_MODs, read back — OVS reports exactly what we sent, so nothing would be resent.
check_output "reinstalled through our FLOW_MODs, OVS reports them unchanged: no FLOW_MOD to resend" \
  "\"flows\": $added, \"installed\": $added, \"after\": $added, \"resend\": 0" "${VLCP_FLOWSYNC:?}" "$mgmt"
check_status "dump-flows to a missing socket fails cleanly" 1 "$vlcpctl" dump-flows "unix:$SB_DIR/nothing"

# 3. A real controller session, captured and decoded.
sb_host h1 hv1 br0 10.0.0.1/24 ofport=1
sb_host h2 hv1 br0 10.0.0.2/24 ofport=2
# The switch's port descriptions (a multipart reply OVS encodes), printed by both.
sb_ofctl hv1 dump-ports-desc br0 | sed 's/(xid=0x[0-9a-f]*)/(xid)/' >"$SB_DIR/ports-theirs.txt"
"$vlcpctl" dump-ports-desc "$mgmt" | sed 's/(xid=0x[0-9a-f]*)/(xid)/' >"$SB_DIR/ports-ours.txt"
if diff -u "$SB_DIR/ports-theirs.txt" "$SB_DIR/ports-ours.txt" >"$SB_DIR/ports-diff.txt"; then
  pass "dump-ports-desc reads the ports exactly as ovs-ofctl does ($(grep -c addr: "$SB_DIR/ports-ours.txt") ports)"
else
  fail "port descriptions differ:\n$(cat "$SB_DIR/ports-diff.txt")"
fi
sb_ofctl hv1 del-flows br0
ns=$(sb_ns hv1)
ip netns exec "$ns" tcpdump -Z root --immediate-mode -i lo -U -w "$SB_DIR/of.pcap" "tcp port 6653" >"$SB_DIR/tcpdump.log" 2>&1 &
tcpdump_pid=$!
sb_record pid "$tcpdump_pid" tcpdump
sb_wait 5 grep -q listening "$SB_DIR/tcpdump.log"
sb_ovs hv1 ip netns exec "$ns" ovs-testcontroller -O OpenFlow13 ptcp:6653:127.0.0.1 --detach --no-chdir \
  --pidfile="$(sb_ovs_dir hv1)/run/testcontroller.pid" -vconsole:off \
  --log-file="$(sb_ovs_dir hv1)/log/testcontroller.log"
sb_record pid "$(cat "$(sb_ovs_dir hv1)/run/testcontroller.pid")" ovs-testcontroller
sb_vsctl hv1 set-controller br0 tcp:127.0.0.1:6653 -- set controller br0 max_backoff=1000
check "a controller session carries traffic" sb_wait 20 sb_ping h1 h2 1
sb_ping h2 h1 2 >/dev/null
sleep 0.5
sb_stop_pid "$tcpdump_pid"
ovs-ofctl ofp-parse-pcap "$SB_DIR/of.pcap" 2>&1 | grep -o '^OFP[A-Z_0-9]* [a-z]*[ (]*OF1\.3[^:]*xid=0x[0-9a-f]*' >"$SB_DIR/pcap-theirs.txt"
"$vlcpctl" ofp-print --pcap "$SB_DIR/of.pcap" 2>&1 | grep -o '^OFP[A-Z_0-9]* [a-z]*[ (]*OF1\.3[^:]*xid=0x[0-9a-f]*' >"$SB_DIR/pcap-ours.txt"
check "the capture holds an OpenFlow session ($(wc -l <"$SB_DIR/pcap-theirs.txt") messages)" \
  test "$(wc -l <"$SB_DIR/pcap-theirs.txt")" -gt 10
check_output "it includes packet-ins" "OFPT_PACKET_IN" cat "$SB_DIR/pcap-ours.txt"
if diff -u "$SB_DIR/pcap-theirs.txt" "$SB_DIR/pcap-ours.txt" >"$SB_DIR/pcap-diff.txt"; then
  pass "vlcpctl ofp-print --pcap sees the same messages as ovs-ofctl ofp-parse-pcap"
else
  fail "pcap decodes differ:\n$(head -40 "$SB_DIR/pcap-diff.txt")"
fi
# Message by message, the whole text (packet dissections included), less each tool's own
# per-message address line.
ovs-ofctl ofp-parse-pcap "$SB_DIR/of.pcap" 2>&1 | grep -v -e '^[0-9.]* > [0-9.]*:$' -e '^$' >"$SB_DIR/full-theirs.txt"
"$vlcpctl" ofp-print --pcap "$SB_DIR/of.pcap" 2>&1 | grep -v -e '^[0-9]*\.[0-9]* [0-9.:]* > ' -e '^$' >"$SB_DIR/full-ours.txt"
if diff -u "$SB_DIR/full-theirs.txt" "$SB_DIR/full-ours.txt" >"$SB_DIR/full-diff.txt"; then
  pass "and prints every message of the session exactly as ovs-ofctl does ($(wc -l <"$SB_DIR/full-ours.txt") lines)"
else
  fail "session texts differ:\n$(head -40 "$SB_DIR/full-diff.txt")"
fi
check_fails "no message in the capture fails to decode" grep -q '\*\*\*' <("$vlcpctl" ofp-print --pcap "$SB_DIR/of.pcap")
finish
