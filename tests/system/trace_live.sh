#!/usr/bin/env bash
# vlcpctl trace --live (issue 21, docs/TRACE_DESIGN.md §9, §13.2 cases 14-16) on two servers with
# the full L3 pipeline and the tracer app on one ObjectDB (ZooKeeper): a1, a2 on hv1, a3 on hv2
# (network na over VXLAN). `vlcpctl trace a1 a3 --live --json` on hv1: hv1's vlcpd runs the
# simulated trace across both servers, then injects the marked packets on its br-int and collects
# what every node's tracer app observed.
#   14 working path: live-delivered 3/3, observed at hv1 ingress, hv1 egress, hv2 ingress, hv2
#      egress; afterwards no observation flow (cookie 8<<48) on either bridge
#   15 hv2's underlay veth down: the simulation still delivers, live says underlay-lost, seen last
#      leaving hv1 by VXLAN to hv2; link up, live-delivered again
#   16 a ping a2 -> a3 every 10 ms during a live run loses nothing; a ping of the same addresses
#      with DSCP 0 (a1 -> a3) gives no observation
#   and: --live from hv2 (a1 is bound on hv1) is refused with live-cannot-inject; --proto arp --live
#   is a bad request
. "$(dirname "$0")/../lib/system.sh"
. "$(dirname "$0")/../lib/l3_servers.sh"

l3_servers_up
l3_conf hv1
l3_conf hv2
l3_start_vlcpd

model() {
  l3_three_networks "a1 na sa 02:00:00:0a:00:0b 10.1.0.11" "a2 na sa 02:00:00:0a:00:0c 10.1.0.12" \
    "a3 na sa 02:00:00:0a:00:0d 10.1.0.13"
}
check "three networks, ports a1-a3, router r1" model
check "hosts a1, a2 on hv1 and a3 on hv2" l3_host a1 hv1 10.1.0.11 02:00:00:0a:00:0b a1 10.1.0.1 &&
  l3_host a2 hv1 10.1.0.12 02:00:00:0a:00:0c a2 10.1.0.1 &&
  l3_host a3 hv2 10.1.0.13 02:00:00:0a:00:0d a3 10.1.0.1
check "both switches reconciled and in sync" sb_wait 30 synced hv1 && sb_wait 30 synced hv2
check "a1 pings a3 across the VXLAN" sb_wait 20 sb_ping a1 a3 1

ofport() { sb_vsctl "$1" get Interface "$2" ofport; }
a1of=$(ofport hv1 "$(sb_ifname a1)")
a3of=$(ofport hv2 "$(sb_ifname a3)")
vx1of=$(ofport hv1 vxlan0)
echo "ofports: a1 $a1of on hv1, a3 $a3of on hv2, vxlan0 $vx1of on hv1"

OUT=$SB_DIR/trace_live
mkdir -p "$OUT"
# live NAME [ON]: vlcpctl trace a1 a3 --live --json on ON (hv1), the whole result in
# $OUT/NAME.full.json, its live part in $OUT/NAME.json; returns vlcpctl's exit code.
live() {
  ctl "${2:-hv1}" --json trace a1 a3 --live --timeout 30 >"$OUT/$1.full.json" 2>"$OUT/$1.err"
  local rc=$?
  python3 -c "import json, sys; json.dump(json.load(open(sys.argv[1])).get('live', {}), open(sys.argv[2], 'w'))" \
    "$OUT/$1.full.json" "$OUT/$1.json"
  echo "--- $1 (exit $rc)"
  cat "$OUT/$1.json" "$OUT/$1.err"
  echo
  return $rc
}
expect_rc() {
  local want=$1
  shift
  "$@"
  [ $? -eq "$want" ]
}
field() {
  python3 -c "
import json, sys
r = json.load(open(sys.argv[1]))
print($2)" "$OUT/$1.json"
}
live_code() { [ "$(field "$1" "r['verdict']['code']")" = "$2" ]; }
# Observation flows (cookie 8<<48 | table: 13 hex digits; dynamic flows have 16) on a server.
tracer_flows() { sb_ofctl "$1" dump-flows "$(mgmt "$1")" | grep -cE 'cookie=0x8[0-9a-f]{12},'; }
no_tracer_flows() { [ "$(tracer_flows hv1)" = 0 ] && [ "$(tracer_flows hv2)" = 0 ]; }
# The tracer's count of copies with a session's nonce on a server (ioprocessing/status).
observed() {
  api "$1" /ioprocessing/status | python3 -c "import json, sys; print(json.load(sys.stdin)['result']['tracer']['observed'])"
}

# 14. working path (with 16: a background ping a2 -> a3 every 10 ms for 5 s)
sb_exec a2 ping -q -c 500 -i 0.01 -W 1 10.1.0.13 >"$OUT/ping.txt" 2>&1 &
pinger=$!
# and a1 -> a3 itself (the session's addresses and protocol, DSCP 0) every 50 ms
sb_exec a1 ping -q -c 100 -i 0.05 -W 1 10.1.0.13 >"$OUT/ping_same.txt" 2>&1 &
pinger_same=$!
check "case 14: vlcpctl trace a1 a3 --live exits 0" live working
check "case 14: live-delivered" live_code working live-delivered
check_output "  3/3 delivered" "3/3" field working "r['verdict']['text'].split(' ')[0]"
check_output "  packet 1 seen at hv1 ingress, hv1 egress, hv2 ingress, hv2 egress" \
  "hv1 ingress,hv1 egress,hv2 ingress,hv2 egress" field working \
  "','.join(o['server'] + ' ' + o['table'] for o in r['packets'][0]['observations'])"
check_output "  every packet seen at the four points (the last copies waited for)" "4,4,4" field working \
  "','.join(str(len(p['observations'])) for p in r['packets'])"
check_output "  hv1's egress toward hv2's VTEP, hv2's to a3's port" "192.168.99.2 $a3of" field working \
  "r['packets'][0]['observations'][1].get('tun_dst'), r['packets'][0]['observations'][3]['reg6']"
check_output "  the path as simulated" "path as simulated: hv1 ingress → hv1 egress (VXLAN 192.168.99.2) → hv2 ingress → hv2 egress (a3)" \
  field working "r['verdict']['text']"
check "  afterwards no observation flow on either bridge" sb_wait 10 no_tracer_flows
wait $pinger $pinger_same
cat "$OUT/ping.txt" "$OUT/ping_same.txt"
check "case 16: the background ping a2 -> a3 (10 ms) lost nothing" grep -q " 0% packet loss" "$OUT/ping.txt"
check "  nor a1 -> a3 (the session's addresses, DSCP 0, 50 ms)" grep -q " 0% packet loss" "$OUT/ping_same.txt"
check_output "  observed on hv1 and hv2: the 3 live packets at ingress and egress, no ping" "6 6" \
  echo "$(observed hv1) $(observed hv2)"

# 15. hv2's underlay down: lost between the servers
ulhv2=$(sb_ifname ulhv2)
ip -n "$(sb_ns hv2)" link set "$ulhv2" down
check "case 15: with hv2's underlay down vlcpctl trace --live exits 1" expect_rc 1 live underlay
check "case 15: underlay-lost" live_code underlay underlay-lost
check_output "  while the simulation delivers" "delivered" python3 -c \
  "import json; print(json.load(open('$OUT/underlay.full.json'))['simulated_verdict']['code'])"
check_output "  seen last leaving hv1 by VXLAN to hv2" "seen last leaving hv1 by VXLAN to 192.168.99.2 (hv2)" \
  field underlay "r['verdict']['text'][r['verdict']['text'].index('seen'):].split(';')[0]"
ip -n "$(sb_ns hv2)" link set "$ulhv2" up
check "  the underlay back" sb_wait 20 sb_ping a1 a3 1
check "case 15: live again with the link up" live again
check "  live-delivered" live_code again live-delivered
check "  no observation flow left" sb_wait 10 no_tracer_flows
# The text form (the README's example), once more on the working path.
ctl hv1 trace a1 a3 --live >"$OUT/text.txt" 2>&1
cat "$OUT/text.txt"
check_output "the text form ends with the live verdict" "live verdict: 3/3 packets delivered" \
  bash -c "tail -1 '$OUT/text.txt' | cut -d' ' -f1-6"
check "--live from hv2, where a1 is not bound, exits 1" expect_rc 1 live elsewhere hv2
check "  live-cannot-inject naming hv1" field elsewhere "'bound on hv1' in r['verdict']['text'] or sys.exit(1)"
check_output "  --live --proto arp is a bad request" "400" sb_exec hv1 curl -s -o /dev/null -w '%{http_code}' \
  'http://127.0.0.1:8081/trace/packet?from=a1&to=10.1.0.1&proto=arp&live=true'
finish
