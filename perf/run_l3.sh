#!/usr/bin/env bash
# L3 benchmarks (issue 16), on the real components in a sandbox: two servers (OVS userspace in
# namespaces, a vlcpd each, ZooKeeper), networks A and B over VXLAN joined by a router (the full
# L3 pipeline, VLCP's default ARP-learning strategy: module.l3router.prepush = False).
#  1. routed TCP throughput as a ratio of switched throughput on the same path: iperf3 from a1
#     (server 1, A) to a2 (server 2, A: switched) and to b2 (server 2, B: routed), ROUNDS rounds,
#     alternating which goes first; medians and their ratio.
#  2. the first routed packet in ARP-learning mode: HOSTS hosts in B on server 2; a1 pings each
#     once (its first routed packet goes to vlcpd, which finds the host in the model and installs
#     its flow) then again; RTT of the first and of the second ping, p50/p99.
# Usage: perf/run_l3.sh [BUILD_DIR] [ROUNDS] [HOSTS] [SECONDS]
set -uo pipefail
build=$(cd "${1:-build/release}" && pwd)
rounds=${2:-5}
nhosts=${3:-30}
secs=${4:-5}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/sandbox/lib.sh"
vlcpctl=${VLCP_VLCPCTL:-$build/src/vlcpctl}
export VLCP_VLCPD=$build/src/vlcpd
sb_init || exit 1
trap sb_down EXIT
pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int(p/100*NR+0.999); if (i<1) i=1; print a[i]}'; }
ctl() {
  local hv=$1
  shift
  sb_exec "$hv" "$vlcpctl" --api http://127.0.0.1:8081 "$@" >/dev/null
}
synced() {
  sb_exec "$1" curl -sf http://127.0.0.1:8081/ioprocessing/status | python3 -c '
import json, sys
s = [x for x in json.load(sys.stdin)["result"]["switches"] if x["bridge"] == "br-int"]
sys.exit(0 if s and s[0].get("attached") and s[0].get("synced") else 1)'
}

sb_zk_start 1 >/dev/null || exit 1
for n in 1 2; do
  sb_ovs_start "hv$n" >/dev/null || exit 1
  sb_vsctl "hv$n" set Open_vSwitch . "external_ids:system-id=hv$n"
  sb_mgmt_attach "hv$n" $((10 + n)) >/dev/null
done
sb_underlay hv1 192.168.99.1/24 hv2 192.168.99.2/24 >/dev/null || exit 1
for n in 1 2; do
  sb_bridge "hv$n" br-int "000000000000000$n" >/dev/null && sb_vxlan_port "hv$n" br-int vxlan0 flow >/dev/null
  sb_vlcpd_server_conf "$SB_DIR/hv$n.conf" "hv$n" "server.loglevel = 'warn'" \
    "module.openflowmanager.apps = ['ioprocessing', 'l2switch', 'vxlancast', 'arpresponder', 'dhcpserver', 'icmpresponder', 'l3router']"
  sb_vlcpd_start "hv$n" "$SB_DIR/hv$n.conf" "hv$n"
done
db_up() { sb_exec "$1" "$vlcpctl" --api http://127.0.0.1:8081 call viperflow listphysicalnetworks >/dev/null 2>&1; }
sb_wait 60 db_up hv1 && sb_wait 60 db_up hv2 || { echo "vlcpd did not come up"; exit 1; }
ctl hv1 call viperflow createphysicalnetwork id=vx type=vxlan 'vnirange=[[10000,10100]]'
ctl hv1 call viperflow createphysicalport name=vxlan0 physicalnetwork=vx
for n in "na sa 10.1.0" "nb sb 10.2.0"; do
  set -- $n
  ctl hv1 call viperflow createlogicalnetwork id="$1" physicalnetwork=vx
  ctl hv1 call viperflow createsubnet id="$2" logicalnetwork="$1" cidr="$3.0/16" gateway="$3.1"
done
ctl hv1 call vrouterapi createvirtualrouter id=r1
for s in sa sb; do ctl hv1 call vrouterapi addrouterinterface router=r1 subnet=$s; done
# host NAME SERVER NET SUBNET MAC IP GATEWAY
host() {
  ctl hv1 call viperflow createlogicalport id="$1" logicalnetwork="$3" subnet="$4" mac_address="$5" ip_address="$6" &&
    sb_host "$1" "$2" br-int "$6/16" mac="$5" iface_id="$1" mtu=1450 >/dev/null &&
    sb_exec "$1" ip route add default via "$7"
}
host a1 hv1 na sa 02:00:00:0a:00:01 10.1.0.11 10.1.0.1 &&
  host a2 hv2 na sa 02:00:00:0a:00:02 10.1.0.12 10.1.0.1 &&
  host b2 hv2 nb sb 02:00:00:0b:00:02 10.2.0.12 10.2.0.1 || exit 1
sb_wait 30 synced hv1 && sb_wait 30 synced hv2 || { echo "not in sync"; exit 1; }
sb_wait 10 sb_ping a1 10.2.0.12 1 >/dev/null && sb_ping a1 10.1.0.12 1 >/dev/null || { echo "no connectivity"; exit 1; }

echo "== 1. TCP throughput a1 -> a2 (switched) and a1 -> b2 (routed), both across servers over VXLAN"
sb_exec a2 iperf3 -s -D --logfile "$SB_DIR/iperf-a2.log" >/dev/null 2>&1
sb_exec b2 iperf3 -s -D --logfile "$SB_DIR/iperf-b2.log" >/dev/null 2>&1
sleep 0.5
mbps() { sb_exec a1 iperf3 -c "$1" -t "$secs" -J | python3 -c 'import json,sys; print("%.0f" % (json.load(sys.stdin)["end"]["sum_received"]["bits_per_second"]/1e6))'; }
sw=() rt=() ratio=()
for r in $(seq 1 "$rounds"); do
  if [ $((r % 2)) = 1 ]; then s=$(mbps 10.1.0.12); t=$(mbps 10.2.0.12); else t=$(mbps 10.2.0.12); s=$(mbps 10.1.0.12); fi
  sw+=("$s") rt+=("$t")
  ratio+=("$(python3 -c "print('%.3f' % ($t / $s))")")
  echo "round $r: switched $s Mbit/s, routed $t Mbit/s, ratio ${ratio[-1]} (load $(cut -d' ' -f1-3 /proc/loadavg))"
done
ms=$(printf '%s\n' "${sw[@]}" | pct 50)
mr=$(printf '%s\n' "${rt[@]}" | pct 50)
echo "median: switched $ms Mbit/s, routed $mr Mbit/s, routed/switched $(python3 -c "print('%.2f' % ($mr / $ms))");" \
  "median of the rounds' ratios $(printf '%s\n' "${ratio[@]}" | pct 50)"
# Where the packets went: the datapaths' megaflows and cache statistics (upcalls = slow path),
# and packet-ins vlcpd's L3 app took (a routed packet that reached the controller).
for n in 1 2; do
  echo "hv$n: $(sb_appctl "hv$n" dpctl/dump-flows | wc -l) megaflows, $(sb_ofctl "hv$n" dump-flows br-int | grep -c cookie) OpenFlow flows; the busiest megaflows:"
  sb_appctl "hv$n" dpctl/dump-flows | sort -t: -k3 -rn | grep -v 'packets:0,' | sed "s/^/  hv$n /"
  sb_appctl "hv$n" dpif-netdev/pmd-stats-show | grep -E 'thread|packets received|hits|miss|lost|processing cycles' | sed "s/^/  hv$n /"
  sb_exec "hv$n" curl -s http://127.0.0.1:9464/metrics | grep -E '^vlcp_l3_first_packets' | sed "s/^/  hv$n /"
done

echo "== 2. first routed packet (ARP learning: resolved by vlcpd from the model), $nhosts hosts in B on server 2"
for i in $(seq 1 "$nhosts"); do
  host "h$i" hv2 nb sb "$(printf '02:00:00:0b:01:%02x' "$i")" "10.2.1.$i" 10.2.0.1 || exit 1
done
sb_wait 30 synced hv2 || exit 1
rtt() { sb_exec a1 ping -c 1 -W 2 "$1" | sed -n 's/.*time=\([0-9.]*\) ms.*/\1/p'; }
first=() second=() lost=0
for i in $(seq 1 "$nhosts"); do
  f=$(rtt "10.2.1.$i")
  s=$(rtt "10.2.1.$i")
  [ -n "$f" ] && first+=("$f") || lost=$((lost + 1))
  [ -n "$s" ] && second+=("$s")
done
echo "first routed ping (resolved by vlcpd): p50 $(printf '%s\n' "${first[@]}" | pct 50) ms, p99 $(printf '%s\n' "${first[@]}" | pct 99) ms; unanswered: $lost"
echo "second ping (the flow installed):      p50 $(printf '%s\n' "${second[@]}" | pct 50) ms, p99 $(printf '%s\n' "${second[@]}" | pct 99) ms"
for n in 1 2; do sb_exec "hv$n" curl -s http://127.0.0.1:9464/metrics | grep -E '^vlcp_l3_first_packets' | sed "s/^/hv$n /"; done
