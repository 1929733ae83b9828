#!/usr/bin/env bash
# trace --live (issue 21, docs/TRACE_DESIGN.md §9, §13.2 cases 14-16) on two servers with the full
# L3 pipeline and the tracer app on one ObjectDB (ZooKeeper): a1, a2 on hv1, a3 on hv2 (network
# na over VXLAN). The requester is trace_live_run (tests/tools: src/trace/live.h's sequence, the
# packets injected by ovs-ofctl packet-out on hv1's br-int) until the trace service calls it.
#   14 working path: live-delivered 3/3, observed at hv1 ingress, hv1 egress, hv2 ingress, hv2
#      egress; afterwards no observation flow (cookie 8<<48) on either bridge, the session empty
#   15 hv2's underlay veth down: underlay-lost, seen last leaving hv1 by VXLAN to hv2; link up,
#      live-delivered again
#   16 a ping a2 -> a3 every 10 ms during a live run loses nothing; a ping of the same addresses
#      with DSCP 0 (a1 -> a3) gives no observation
. "$(dirname "$0")/../lib/system.sh"
. "$(dirname "$0")/../lib/l3_servers.sh"

RUNNER=${VLCP_TRACE_LIVE_RUN:?set VLCP_TRACE_LIVE_RUN to the trace_live_run binary}

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
# live NAME [SLOT]: a live trace a1 -> a3 from hv1 (as requester "hv1"), its JSON in $OUT/NAME.json
# (every case on slot 0: a slot is reused).
live() {
  sb_exec hv1 "$RUNNER" --zk "$(sb_zk_hosts)" --self hv1 --slot "${2:-0}" \
    --ofctl "ovs-ofctl -O OpenFlow13 packet-out $(mgmt hv1)" --in-port "$a1of" \
    --src-mac 02:00:00:0a:00:0b --src-ip 10.1.0.11 --dst-mac 02:00:00:0a:00:0d --dst-ip 10.1.0.13 \
    --to-port a3 --to-server hv2 --to-ofport "$a3of" \
    --hop "hv1,tunnel,$vx1of,vxlan0,192.168.99.2,hv2" --hop "hv2,port,$a3of,a3,," >"$OUT/$1.json" 2>"$OUT/$1.err"
  local rc=$?
  echo "--- $1 (exit $rc)"
  cat "$OUT/$1.json" "$OUT/$1.err"
  return $rc
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
check "case 14: live a1 -> a3 answers" live working
check "case 14: live-delivered" live_code working live-delivered
check_output "  3/3 delivered" "3/3" field working "r['verdict']['text'].split(' ')[0]"
check_output "  packet 1 seen at hv1 ingress, hv1 egress, hv2 ingress, hv2 egress" \
  "hv1 ingress,hv1 egress,hv2 ingress,hv2 egress" field working \
  "','.join(o['server'] + ' ' + o['table'] for o in r['packets'][0]['observations'])"
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
live underlay
check "case 15: underlay-lost with hv2's underlay down" live_code underlay underlay-lost
check_output "  seen last leaving hv1 by VXLAN to hv2" "seen last leaving hv1 by VXLAN to 192.168.99.2 (hv2)" \
  field underlay "r['verdict']['text'][r['verdict']['text'].index('seen'):].split(';')[0]"
ip -n "$(sb_ns hv2)" link set "$ulhv2" up
check "  the underlay back" sb_wait 20 sb_ping a1 a3 1
live again
check "case 15: live-delivered again with the link up" live_code again live-delivered
check "  no observation flow left" sb_wait 10 no_tracer_flows
finish
