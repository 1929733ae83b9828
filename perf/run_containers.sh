#!/usr/bin/env bash
# The Docker plugin's churn benchmark (issue 19, docs/CONTAINERS_DESIGN.md §9, section "plugin"):
# two servers (each an OVS in its own namespace with a vlcpd beside it serving the dockerplugin
# socket; ZooKeeper between them; VXLAN), one Docker network created on server 1 and attached on
# server 2 (-o logicalnetwork=), an anchor container on each server, then perf/container_churn on
# both servers at once for SECONDS: each worker creates an endpoint as dockerd does (RequestAddress,
# CreateEndpoint, Join, the sandbox: eth0 in a namespace made beforehand, address, default route,
# ProgramExternalConnectivity, EndpointOperInfo), pings the OTHER server's anchor from inside until
# the first reply (create -> ping, from the RequestAddress send), then deletes it (Revoke, Leave,
# DeleteEndpoint, ReleaseAddress). Reported per server: pairs per minute, create -> ping
# p50/p99/max, vlcpd's time per method, failures; then the leak table (veths with a vlcp: alias,
# OVSDB interfaces with vlcp-owner, model ports docker-*, vlcpd RSS and fds before and after).
# CPU: every sandbox process (vlcpd, ovs-vswitchd, ovsdb-server, ZooKeeper: utime+stime from
# /proc/PID/stat before and after the measured run) and the churn clients (their own rusage) as
# CPU ms per pair (pairs of both servers), plus the machine's busy time from /proc/stat (which
# includes other users of the machine and kernel threads).
# Usage: perf/run_containers.sh [BUILD_DIR] [WORKERS] [SECONDS]
#   CHURN_APPS="'ioprocessing', 'l2switch', 'vxlancast', 'arpresponder'": vlcpd's apps (default:
#   vlcpd's default set, without the ARP responder)
#   PERF_RECORD=DIR: `perf record -g` on vlcpd and ovs-vswitchd of hv1 during the measured run,
#   into DIR/vlcpd.data and DIR/vswitchd.data (diagnosis).
#   CHURN_CAPTURE=DIR: tcpdump (ARP, ICMP) in the anchors' and the churn namespaces and on the
#   underlay (VXLAN and ICMP) during the measured run, with the servers' ICMP rate limit lifted so
#   that every tunnelled packet a server's kernel refuses is answered by a port unreachable on the
#   wire; then perf/churn_losses.py DIR says, for each pair over 1 s, which ARP was lost where
#   (diagnosis; see RESULTS.md, "Which packet the pairs over 1 s lose").
# Always printed: per server, the tunnelled packets its own kernel refused during the measured run
# (Udp NoPorts in its namespace: OVS handed a VXLAN packet to the kernel instead of decapsulating it).
set -uo pipefail
build=$(cd "${1:-build/release}" && pwd)
workers=${2:-4}
seconds=${3:-60}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/sandbox/lib.sh"
vlcpctl=$build/src/vlcpctl
churn=$build/perf/container_churn
export VLCP_VLCPD=$build/src/vlcpd
for b in "$churn" "$vlcpctl" "$VLCP_VLCPD"; do [ -x "$b" ] || { echo "missing $b"; exit 1; }; done
sb_init || exit 1
trap sb_down EXIT
echo "machine: nproc $(nproc), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "vlcpd: $VLCP_VLCPD; $(ovs-vswitchd --version | head -1); workers $workers per server, $seconds s"

sb_zk_start 1 && sb_ovs_start hv1 && sb_ovs_start hv2 || exit 1
for hv in 1 2; do
  sb_vsctl hv$hv set Open_vSwitch . external_ids:system-id=hv$hv
  sb_mgmt_attach hv$hv 1$hv || exit 1
done
sb_underlay hv1 192.168.99.1/24 hv2 192.168.99.2/24 || exit 1
for hv in 1 2; do
  sb_bridge hv$hv br-int 000000000000000$hv && sb_vxlan_port hv$hv br-int vxlan0 flow || exit 1
done
sock() { echo "$SB_DIR/hv$1-docker.sock"; }
for hv in 1 2; do
  sb_vlcpd_server_conf "$SB_DIR/hv$hv.conf" hv$hv "server.loglevel = 'warning'" \
    "module.dockerplugin.url = 'unix://$(sock $hv)'" "module.dockerplugin.ovsbridge = 'br-int'" \
    ${CHURN_APPS:+"module.openflowmanager.apps = [$CHURN_APPS]"}
  sb_vlcpd_start hv$hv "$SB_DIR/hv$hv.conf" hv$hv
done
ctl() {
  local hv=$1
  shift
  sb_exec "$hv" "$vlcpctl" --api http://127.0.0.1:8081 "$@"
}
db_up() { ctl "$1" call viperflow listphysicalnetworks >/dev/null 2>&1; }
for hv in 1 2; do
  sb_wait 60 db_up hv$hv || { echo "vlcpd hv$hv: no API"; sb_vlcpd_log hv$hv | tail; exit 1; }
  sb_wait 60 test -S "$(sock $hv)" || { echo "vlcpd hv$hv: no plugin socket"; sb_vlcpd_log hv$hv | tail; exit 1; }
done
ctl hv1 call viperflow createphysicalnetwork id=vx type=vxlan 'vnirange=[[10000,10100]]' >/dev/null &&
  ctl hv1 call viperflow createphysicalport name=vxlan0 physicalnetwork=vx >/dev/null || exit 1

cc() {  # cc HV ARGS...: container_churn in server HV's namespace
  local hv=$1
  shift
  sb_exec "$hv" "$churn" "$@"
}
nid1=$(printf 'a%.0s' {1..64})
nid2=$(printf 'b%.0s' {1..64})
read -r pool1 gw < <(cc hv1 network "$(sock 1)" "$nid1" physicalnetwork=vx mtu=1450 subnet=10.1.0.0/16 gateway=10.1.0.1) ||
  { echo "network on hv1 failed"; exit 1; }
read -r pool2 _ < <(cc hv2 network "$(sock 2)" "$nid2" "logicalnetwork=docker-$nid1-lognet" subnet=10.1.0.0/16 gateway=10.1.0.1) ||
  { echo "attach on hv2 failed"; exit 1; }
echo "network: docker-$nid1-lognet, pools $pool1 (hv1) $pool2 (hv2)"
sb_netns a1 && sb_netns a2 || exit 1
read -r eid1 src1 < <(cc hv1 anchor "$(sock 1)" "$nid1" "$pool1" 10.1.0.2 "$(sb_ns a1)") || exit 1
read -r eid2 src2 < <(cc hv2 anchor "$(sock 2)" "$nid2" "$pool2" 10.1.0.3 "$(sb_ns a2)") || exit 1
ping_anchor() { sb_exec a1 ping -c1 -W1 10.1.0.3 >/dev/null; }
sb_wait 30 ping_anchor || { echo "anchors cannot ping each other"; exit 1; }
echo "anchors: 10.1.0.2 on hv1, 10.1.0.3 on hv2, ping across ok"
for hv in 1 2; do
  for ((w = 0; w < workers; w++)); do sb_netns "c$hv-$w" || exit 1; done
done

leaks() {  # leaks LABEL: one line per server
  local hv pid
  for hv in 1 2; do
    pid=$(sb_vlcpd_pid hv$hv)
    printf '%-8s hv%s: veths(vlcp:) %s  ovsdb(vlcp-owner) %s  ports(docker-) %s  rss_kb %s  fds %s\n' "$1" "$hv" \
      "$(ip -n "$(sb_ns hv$hv)" -d link show | grep -c 'alias vlcp:')" \
      "$(sb_vsctl hv$hv --bare --columns=external_ids list interface | grep -c vlcp-owner)" \
      "$(ctl hv1 call viperflow listlogicalports 2>/dev/null | grep -o '"id": *"docker-[0-9a-f]*"' | sort -u | wc -l)" \
      "$(awk '/^VmRSS/ {print $2}' "/proc/$pid/status")" "$(ls "/proc/$pid/fd" | wc -l)"
  done
}
# cpu_snapshot: "LABEL TICKS" for every process the sandbox started (all its threads), and
# "machine BUSY_TICKS" from /proc/stat.
cpu_snapshot() {
  local kind pid start label
  while read -r kind pid start label; do
    [ "$kind" = pid ] && [ -r "/proc/$pid/stat" ] || continue
    [ "$(awk '{print $22}' "/proc/$pid/stat")" = "$start" ] || continue
    # (the command name may hold spaces: count fields from the end of "(comm)")
    echo "$label $(sed 's/.*) //' "/proc/$pid/stat" | awk '{print $12 + $13}')"
  done <"$SB_DIR/resources"
  awk '/^cpu / {print "machine", $2 + $3 + $4 + $7 + $8}' /proc/stat
}
leaks before
warm=$((seconds / 6 + 5))
echo "warm-up: ${warm} s"
# (wait by PID: a bare `wait` would also wait for the daemons the sandbox started in this shell)
cc hv1 churn "$(sock 1)" "$nid1" "$pool1" 10.1.0.3 "$(sb_ns c1-)" "$workers" "$warm" >/dev/null 2>"$SB_DIR/warm1.err" &
pid1=$!
cc hv2 churn "$(sock 2)" "$nid2" "$pool2" 10.1.0.2 "$(sb_ns c2-)" "$workers" "$warm" >/dev/null 2>"$SB_DIR/warm2.err"
wait "$pid1"
head -3 "$SB_DIR/warm1.err" "$SB_DIR/warm2.err"
leaks warm
# coverage HV: ovs-vswitchd's counters that say why it worked (revalidations by cause, upcalls,
# bridge reconfigurations, flow mods), "NAME TOTAL" per line.
coverage() {
  sb_appctl "$1" coverage/show | awk '$1 ~ /^(rev_|upcall_|bridge_reconfigure|ofproto_flush|ofproto_recv_openflow|xlate_actions$|dpif_port_add|dpif_port_del|netdev_set_mtu)/ {print $1, $NF}' | sort
}
coverage hv1 >"$SB_DIR/cov.before"
udp_noports() { sb_exec "$1" awk '/^Udp:/ && ++n == 2 {print $3}' /proc/net/snmp; }
for hv in 1 2; do udp_noports hv$hv >"$SB_DIR/noports$hv.before"; done
cap_pids=()
if [ -n "${CHURN_CAPTURE:-}" ]; then
  # (tcpdump started by `ip netns exec` itself, not through a shell function: $! is then tcpdump)
  mkdir -p "$CHURN_CAPTURE"
  for hv in 1 2; do
    sb_exec hv$hv sysctl -qw net.ipv4.icmp_ratelimit=0 net.ipv4.icmp_msgs_per_sec=100000 net.ipv4.icmp_msgs_burst=100000
  done
  for n in a1 a2; do
    ip netns exec "$(sb_ns $n)" tcpdump -U -n -i eth0 -w "$CHURN_CAPTURE/$n.pcap" 'arp or icmp' 2>/dev/null &
    cap_pids+=($!)
  done
  for hv in 1 2; do
    for ((w = 0; w < workers; w++)); do
      ip netns exec "$(sb_ns "c$hv-$w")" tcpdump -U -n -i any -w "$CHURN_CAPTURE/c$hv-$w.pcap" 'arp or icmp' 2>/dev/null &
      cap_pids+=($!)
    done
  done
  ip netns exec "$(sb_ns hv1)" tcpdump -U -n -i "$(sb_ifname ulhv1)" -w "$CHURN_CAPTURE/ul.pcap" 'udp port 4789 or icmp' \
    2>/dev/null &
  cap_pids+=($!)
  sleep 1
fi
cpu_snapshot >"$SB_DIR/cpu.before"
perf_pids=()
if [ -n "${PERF_RECORD:-}" ]; then
  mkdir -p "$PERF_RECORD"
  perf record -g -o "$PERF_RECORD/vlcpd.data" -p "$(sb_vlcpd_pid hv1)" >/dev/null 2>&1 &
  perf_pids+=($!)
  perf record -g -o "$PERF_RECORD/vswitchd.data" -p "$(cat "$(sb_ovs_dir hv1)/run/ovs-vswitchd.pid")" \
    >/dev/null 2>&1 &
  perf_pids+=($!)
fi
cc hv1 churn "$(sock 1)" "$nid1" "$pool1" 10.1.0.3 "$(sb_ns c1-)" "$workers" "$seconds" >"$SB_DIR/churn1.json" 2>"$SB_DIR/churn1.err" &
pid1=$!
cc hv2 churn "$(sock 2)" "$nid2" "$pool2" 10.1.0.2 "$(sb_ns c2-)" "$workers" "$seconds" >"$SB_DIR/churn2.json" 2>"$SB_DIR/churn2.err"
rc2=$?
wait "$pid1"
rc1=$?
cpu_snapshot >"$SB_DIR/cpu.after"
for hv in 1 2; do udp_noports hv$hv >"$SB_DIR/noports$hv.after"; done
if [ ${#cap_pids[@]} -gt 0 ]; then
  sleep 0.5
  for p in "${cap_pids[@]}"; do kill -INT "$p" 2>/dev/null; done
  for p in "${cap_pids[@]}"; do wait "$p"; done
fi
coverage hv1 >"$SB_DIR/cov.after"
for p in "${perf_pids[@]}"; do kill -INT "$p" 2>/dev/null; done
for p in "${perf_pids[@]}"; do wait "$p"; done
sleep 2
leaks after
for hv in 1 2; do
  python3 - "$SB_DIR/churn$hv.json" "hv$hv" <<'PY'
import json, sys
try:
    r = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
except Exception as e:
    print(sys.argv[2], 'no result', e)
    sys.exit(0)
c = r['create_to_ping_ms']
print('%s: %d pairs in %d s = %.0f pairs/min; create -> first ping across servers p50 %.1f ms, p99 %.1f ms, max %.1f ms; failures %d'
      % (sys.argv[2], r['pairs'], r['seconds'], r['pairs_per_min'], c['p50'], c['p99'], c['max'], r['failures']))
w = r.get('ping_wait_ms')
if w:
    print('   of which the ping (sandbox ready -> first reply) p50 %.1f ms, p99 %.1f ms, max %.1f ms; pairs over 1 s: %d'
          % (w['p50'], w['p99'], w['max'], c.get('over_1s', 0)))
for m, t in sorted(r.get('method_ms', {}).items()):
    print('   %-42s p50 %7.2f ms  p99 %7.2f ms  n %d' % (m, t['p50'], t['p99'], t['n']))
PY
  head -5 "$SB_DIR/churn$hv.err"
done
python3 - "$SB_DIR" "$(getconf CLK_TCK)" <<'PY'
import json, sys
d, hz = sys.argv[1], float(sys.argv[2])
def snap(name):
    out = {}
    for line in open(d + '/' + name):
        label, ticks = line.rsplit(' ', 1)
        out[label] = out.get(label, 0) + int(ticks)
    return out
before, after = snap('cpu.before'), snap('cpu.after')
pairs, client_ms = 0, 0.0
for hv in (1, 2):
    try:
        r = json.loads(open('%s/churn%d.json' % (d, hv)).read().strip().splitlines()[-1])
    except Exception:
        continue
    pairs += r['pairs']
    client_ms += r.get('cpu_ms', 0)
if not pairs:
    print('cpu: no pairs'); sys.exit(0)
print('CPU ms per pair (%d pairs, both servers; ms of one core):' % pairs)
total = 0.0
for label in sorted(after):
    if label not in before or label == 'machine':
        continue
    ms = (after[label] - before[label]) * 1000.0 / hz / pairs
    total += ms
    print('   %-24s %7.2f' % (label, ms))
print('   %-24s %7.2f' % ('churn clients', client_ms / pairs))
total += client_ms / pairs
print('   %-24s %7.2f' % ('sum of the above', total))
print('   %-24s %7.2f   (/proc/stat busy time: includes the kernel threads and the machine\'s other users)'
      % ('machine', (after['machine'] - before['machine']) * 1000.0 / hz / pairs))
PY
# (coverage/show's last column is the total since start)
echo "ovs-vswitchd hv1 per pair of hv1 (coverage counters):" $(join "$SB_DIR/cov.before" "$SB_DIR/cov.after" 2>/dev/null |
  awk -v n="$(python3 -c "import json; print(json.loads(open('$SB_DIR/churn1.json').read().strip().splitlines()[-1])['pairs'])" 2>/dev/null || echo 0)" \
    'n > 0 && $3 - $2 > 0 {printf "%s %.1f, ", $1, ($3 - $2) / n}')
# vlcpd's own account of the ports' bring-up (OVSDB change -> the barrier confirming their flows),
# mean per stage over the whole run, each server.
for hv in 1 2; do
  sb_exec hv$hv curl -sf http://127.0.0.1:9464/metrics | python3 -c '
import re, sys
sums, counts = {}, {}
for line in sys.stdin:
    m = re.match(r"vlcp_bringup_stage_seconds_(sum|count)\{stage=\"([a-z_]+)\"\} (\S+)", line)
    if m:
        (sums if m.group(1) == "sum" else counts)[m.group(2)] = float(m.group(3))
print("'hv$hv' bring-up (mean ms): " + ", ".join(
    "%s %.1f" % (k, 1000 * sums[k] / counts[k]) for k in sums if counts.get(k)) or "none")'
done
for hv in 1 2; do
  echo "hv$hv: tunnelled packets its kernel refused (Udp NoPorts: not decapsulated by OVS): $(($(cat "$SB_DIR/noports$hv.after") - $(cat "$SB_DIR/noports$hv.before")))"
done
[ -n "${CHURN_CAPTURE:-}" ] && python3 "$here/churn_losses.py" "$CHURN_CAPTURE" "$workers"
cc hv1 unanchor "$(sock 1)" "$nid1" "$pool1" 10.1.0.2 "$eid1" "$src1" "$(sb_ns a1)"
cc hv2 unanchor "$(sock 2)" "$nid2" "$pool2" 10.1.0.3 "$eid2" "$src2" "$(sb_ns a2)"
cc hv2 network-rm "$(sock 2)" "$nid2" "$pool2" "$gw"
cc hv1 network-rm "$(sock 1)" "$nid1" "$pool1" "$gw"
leaks final
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
[ "$rc1" = 0 ] && [ "$rc2" = 0 ]
