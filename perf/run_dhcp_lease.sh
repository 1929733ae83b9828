#!/usr/bin/env bash
# DHCP lease time for a new port against OVN's native DHCP (issue 16), in one sandbox and one run:
#  - server "vl": OVS userspace in its namespace with vlcpd beside it (embedded store, the full L3
#    pipeline, its DHCP handler on one worker lcore); a network with subnet 10.1.0.0/24, gateway
#    10.1.0.1, MTU 1400, lease 3600 s;
#  - server "ovn": OVS userspace in its namespace with Debian's ovn-controller on it, and the OVN
#    central part (NB and SB ovsdb-servers, ovn-northd) with private sockets, db files and logs
#    under the sandbox; a logical switch whose ports have addresses "MAC IP" and dhcpv4_options
#    with the same subnet, router, lease time and MTU (OVN's DHCP is ovn-controller's pinctrl).
# Each side gets PORTS namespace hosts (eth0 with the port's MAC, plugged with its iface-id).
#  1. "port already known" (the main figure): every port is created in the model / NB and bound,
#     and each controller has installed its flows (vlcpd: /ioprocessing/status synced and a DHCP
#     punt per port in l3input; OVN: every port up=true and `ovn-nbctl --wait=hv sync`); then for
#     each port in turn `dhclient -1 -v` (as tests/system/dhcp.sh runs it: a private mount
#     namespace, its own config, lease and pid files) is timed from start to exit, which for -1 is
#     when the address is configured; ports alternate which side goes first.
#  2. "bind then dhclient at once" (FRESH more ports each, alternating): the port is created in
#     the model / NB (one API call / one ovn-nbctl without --wait), the host plugged, dhclient
#     started at once; timed from dhclient start and from the model call.
# Prints p50/p99/mean per side, the ports that needed a retransmitted DISCOVER, the server's own
# answer times in section 1 (from a capture), and the machine.
# Usage: perf/run_dhcp_lease.sh [BUILD_DIR] [PORTS] [FRESH]
set -uo pipefail
build=$(cd "${1:-build/release}" && pwd)
nports=${2:-100}
nfresh=${3:-20}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/sandbox/lib.sh"
vlcpctl=$build/src/vlcpctl
export VLCP_VLCPD=$build/src/vlcpd
DHCLIENT=${DHCLIENT:-/usr/sbin/dhclient}
for b in "$VLCP_VLCPD" "$vlcpctl" "$DHCLIENT" /usr/bin/ovn-controller /usr/bin/ovn-northd /usr/bin/ovn-nbctl; do
  [ -x "$b" ] || { echo "missing $b (build vlcpd/vlcpctl; ovn-central, ovn-host, isc-dhcp-client)"; exit 1; }
done
[ $((nports + nfresh)) -le 200 ] || { echo "at most 200 ports in all (one /24)"; exit 1; }
sb_init || exit 1
trap sb_down EXIT
pct() { sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int(p/100*NR+0.999); if (i<1) i=1; print a[i]}'; }
mean() { awk '{s+=$1} END {if (NR) printf "%.0f", s/NR}'; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
mac_of() { printf '02:00:00:%02x:00:%02x' "$1" "$2"; }   # mac_of SIDE(1 vlcp, 2 ovn) N
ip_of() { echo "10.1.0.$((9 + $1))"; }                    # the same addresses on both sides
echo "machine: nproc $(nproc), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "vlcpd: $VLCP_VLCPD; $(ovn-controller --version | head -1); $(ovs-vswitchd --version | head -1)"

# --- server vl: OVS + vlcpd ------------------------------------------------------------------
sb_ovs_start vl >/dev/null && sb_vsctl vl set Open_vSwitch . external_ids:system-id=vl &&
  sb_bridge vl br-int 0000000000000001 >/dev/null || exit 1
sb_vlcpd_server_conf "$SB_DIR/vl.conf" vl "server.loglevel = 'warn'" \
  "module.objectdb.backend = 'embedded'" "module.zookeeperdb.url = 'tcp://127.0.0.1:2181'" \
  "module.openflowmanager.apps = ['ioprocessing','l2switch','vxlancast','arpresponder','dhcpserver','icmpresponder','l3router']" \
  "module.sched.workers = 1" "module.sched.memory_mb = 32" 2>/dev/null
sb_vlcpd_start vl "$SB_DIR/vl.conf" vl
api() { sb_exec vl curl -sf --max-time 10 "http://127.0.0.1:8081$1" "${@:2}"; }
ctl() { sb_exec vl "$vlcpctl" --api http://127.0.0.1:8081 "$@" >/dev/null; }
sb_wait 30 api /manager/modules || { echo "vlcpd did not come up"; exit 1; }
ctl call viperflow createphysicalnetwork id=pl type=local &&
  ctl call viperflow createlogicalnetwork id=n1 physicalnetwork=pl &&
  ctl call viperflow createsubnet id=s1 logicalnetwork=n1 cidr=10.1.0.0/24 gateway=10.1.0.1 mtu=1400 \
    lease_time=3600 || { echo "vlcpd model failed"; exit 1; }
synced() {
  [ "$(api /ioprocessing/status | python3 -c "
import json, sys
s = json.load(sys.stdin)['result']['switches']
print(bool(s) and s[0].get('attached') and s[0].get('synced'))")" = True ]
}
# The ports vlcpd punts DHCP for (l3input: broadcast and unicast to the server id, per port).
vl_punts() {
  sb_exec vl "$vlcpctl" dump-flows "unix:$(sb_ovs_dir vl)/run/br-int.mgmt" --names --table l3input --no-stats |
    grep 'tp_dst=67' | grep -o 'in_port=[^,]*' | sort -u | wc -l
}

# --- server ovn: OVS + ovn-controller, NB/SB ovsdb-servers and ovn-northd -------------------------
O=$SB_DIR/ovn-central
mkdir -p "$O"
ovnenv() { OVN_RUNDIR=$O OVN_LOGDIR=$O OVN_DBDIR=$O OVN_SYSCONFDIR=$O OVS_RUNDIR=$O "$@"; }
for db in nb sb; do
  ovsdb-tool create "$O/$db.db" "/usr/share/ovn/ovn-$db.ovsschema" || exit 1
  ovnenv ovsdb-server "$O/$db.db" --remote="punix:$O/$db.sock" --pidfile="$O/$db.pid" --unixctl="$O/$db.ctl" \
    --detach -vconsole:off --log-file="$O/$db.log" || exit 1
  sb_record pid "$(cat "$O/$db.pid")" "ovsdb-server:ovn-$db"
done
ovnenv ovn-northd --ovnnb-db="unix:$O/nb.sock" --ovnsb-db="unix:$O/sb.sock" --pidfile="$O/northd.pid" \
  --unixctl="$O/northd.ctl" --detach -vconsole:off --log-file="$O/northd.log" || exit 1
sb_record pid "$(cat "$O/northd.pid")" ovn-northd
nbctl() { ovnenv ovn-nbctl --timeout=60 --db="unix:$O/nb.sock" "$@"; }
sb_ovs_start ovn >/dev/null || exit 1
# One chassis: no tunnel is ever made, but ovn-controller registers a chassis only with an encap.
sb_vsctl ovn set Open_vSwitch . external_ids:system-id=ovn1 "external_ids:ovn-remote=unix:$O/sb.sock" \
  external_ids:ovn-encap-type=geneve external_ids:ovn-encap-ip=127.0.0.1 \
  external_ids:ovn-bridge-datapath-type=netdev || exit 1
# ovn-controller creates br-int (netdev, fail_mode=secure) and reaches it at $OVS_RUNDIR/br-int.mgmt.
sb_ovs ovn ip netns exec "$(sb_ns ovn)" env OVN_RUNDIR="$O" OVN_LOGDIR="$O" ovn-controller \
  "unix:$(sb_ovs_dir ovn)/run/db.sock" --pidfile="$O/controller.pid" --detach -vconsole:off \
  --log-file="$O/controller.log" || exit 1
sb_record pid "$(cat "$O/controller.pid")" ovn-controller
sb_wait 30 sb_vsctl ovn br-exists br-int || { echo "ovn-controller made no br-int"; exit 1; }
nbctl ls-add sw0 || exit 1
dhcp_uuid=$(nbctl create DHCP_Options cidr=10.1.0.0/24 \
  options='"lease_time"="3600" "router"="10.1.0.1" "server_id"="10.1.0.1" "server_mac"="02:00:00:00:00:fe" "mtu"="1400"') ||
  exit 1

# --- hosts and dhclient ----------------------------------------------------------------------
# host NAME SERVER MAC IFACE_ID: a namespace host plugged into SERVER's br-int, without address.
host() {
  sb_host "$1" "$2" br-int 192.0.2.1/32 mac="$3" iface_id="$4" >/dev/null && sb_exec "$1" ip addr flush dev eth0
}
# dhclient_run HOST: as tests/system/dhcp.sh runs it (own config, lease and pid files, a private
# mount namespace with its own resolv.conf and empty hook directories); stopped (no release) as
# soon as it has configured the address. Prints the milliseconds from start to exit.
dhclient_run() {
  local h=$1 d=$SB_DIR/dhclient-$1 t0 t1 rc
  mkdir -p "$d/exit-hooks" "$d/enter-hooks"
  : >"$d/resolv.conf"
  cat >"$d/dhclient.conf" <<EOF
timeout 10;
initial-interval 1;
request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, interface-mtu;
EOF
  t0=$(date +%s%N)
  sb_dhclient "$h" "$d"
  rc=$?
  t1=$(date +%s%N)
  # The daemon writes its pid file after its parent (what we ran) has exited: wait for it.
  [ $rc = 0 ] && sb_wait 5 test -s "$d/pid"
  if [ -s "$d/pid" ] && [ -e "/proc/$(cat "$d/pid")" ]; then
    sb_record pid "$(cat "$d/pid")" "dhclient:$h"
    sb_stop_pid "$(cat "$d/pid")"
  fi
  [ $rc = 0 ] || return 1
  echo $(((t1 - t0) / 1000000))
}
# measure SIDE HOST IP: one dhclient run; appends "ms" to $SB_DIR/SIDE.ms, or counts a failure;
# counts the runs that needed more than one DISCOVER (a retransmission costs a second).
measure() {
  local side=$1 h=$2 ip=$3 ms
  if ms=$(dhclient_run "$h") && sb_exec "$h" ip -4 addr show dev eth0 2>/dev/null | grep -q "inet $ip/24"; then
    echo "$ms" >>"$SB_DIR/$side.ms"
  else
    echo "$h" >>"$SB_DIR/$side.failed"
  fi
  [ "$(grep -c DHCPDISCOVER "$SB_DIR/dhclient-$h/log")" -gt 1 ] && echo "$h" >>"$SB_DIR/$side.retx"
  return 0
}
count() { if [ -f "$1" ]; then wc -l <"$1"; else echo 0; fi; }
report() {  # report SIDE LABEL [SIDE whose failures and retransmissions count]
  local f=$SB_DIR/$1.ms n c=$SB_DIR/${3:-$1}
  n=$(count "$f")
  printf '%-34s n=%3d  p50 %5s ms  p99 %5s ms  mean %5s ms  max %5s ms  failed %d  retransmitted DISCOVER %d\n' \
    "$2" "$n" "$(pct 50 <"$f")" "$(pct 99 <"$f")" "$(mean <"$f")" "$(sort -n "$f" | tail -1)" \
    "$(count "$c.failed")" "$(count "$c.retx")"
}

# The server's own share, from packets: tcpdump in each server's namespace (every host's veth
# there) during section 1; per exchange DISCOVER in -> OFFER out and REQUEST in -> ACK out.
capture_start() {  # capture_start SERVER PHASE
  # (ip netns exec, not the sb_exec function: $! must be tcpdump itself, not a subshell)
  ip netns exec "$(sb_ns "$1")" tcpdump -i any -nn -U -s 400 -w "$SB_DIR/$1-$2.pcap" 'udp and (port 67 or port 68)' \
    >"$SB_DIR/tcpdump-$1.log" 2>&1 &
  echo $! >"$SB_DIR/tcpdump-$1.pid"
  sb_record pid "$!" "tcpdump:$1"
  sb_wait 10 grep -q listening "$SB_DIR/tcpdump-$1.log"
}
# (after a pause: the last answer may still be in the kernel's buffer)
capture_stop() { sleep 0.5; sb_stop_pid "$(cat "$SB_DIR/tcpdump-$1.pid")"; }
# server_times SERVER PHASE LABEL: p50/p99 of the server's answer times in a capture (pcap with
# Linux cooked headers: packet type 4 is what the switch sent out of the port).
server_times() {
  python3 - "$SB_DIR/$1-$2.pcap" "$3" <<'PY'
import struct, sys
data = open(sys.argv[1], 'rb').read()
# Link type 113: Linux cooked v1 (16 bytes, packet type in byte 1); 276: v2 (20 bytes, byte 10).
hlen, tpos = {113: (16, 1), 276: (20, 10)}[struct.unpack_from('<I', data, 20)[0]]
off, pending, times = 24, {}, {'DISCOVER->OFFER': [], 'REQUEST->ACK': []}
answer = {2: (1, 'DISCOVER->OFFER'), 5: (3, 'REQUEST->ACK')}
while off + 16 <= len(data):
    sec, usec, caplen, _ = struct.unpack_from('<IIII', data, off)
    pkt, off, t = data[off + 16:off + 16 + caplen], off + 16 + caplen, sec + usec / 1e6
    outgoing, ip = pkt[tpos] == 4, pkt[hlen:]
    if len(ip) < 28 or ip[9] != 17:
        continue
    bootp = ip[(ip[0] & 15) * 4 + 8:]
    if len(bootp) < 244 or bootp[236:240] != b'\x63\x82\x53\x63':
        continue
    key, i, mtype = (bootp[4:8], bootp[28:34]), 240, None
    while i + 1 < len(bootp) and bootp[i] != 255:
        if bootp[i] == 0:
            i += 1
            continue
        if bootp[i] == 53:
            mtype = bootp[i + 2]
        i += 2 + bootp[i + 1]
    if mtype in (1, 3) and not outgoing:
        pending[key + (mtype,)] = t   # the last one before the answer
    elif mtype in answer and outgoing:
        ask, name = answer[mtype]
        if key + (ask,) in pending:
            times[name].append((t - pending.pop(key + (ask,))) * 1000)
for name, v in times.items():
    v.sort()
    pick = lambda p: v[max(0, min(len(v) - 1, int(p / 100 * len(v) + 0.999) - 1))] if v else float('nan')
    print('%-34s %s n=%3d  p50 %6.2f ms  p99 %6.2f ms  mean %6.2f ms' % (
        sys.argv[2], name.ljust(15), len(v), pick(50), pick(99), sum(v) / len(v) if v else float('nan')))
PY
}

echo "== setup: $nports ports on each side, created and bound before any dhclient"
t0=$(now_ms)
ports=$(python3 -c "
import json
print(json.dumps({'ports': [{'id': 'v%d' % i, 'logicalnetwork': 'n1', 'subnet': 's1',
  'mac_address': '02:00:00:01:00:%02x' % i, 'ip_address': '10.1.0.%d' % (9 + i)} for i in range(1, $nports + 1)]}))")
api /viperflow/createlogicalports -X POST -H 'Content-Type: application/json' -d "$ports" >/dev/null ||
  { echo "createlogicalports failed"; exit 1; }
args=()
for i in $(seq 1 "$nports"); do
  args+=(-- lsp-add sw0 "o$i" -- lsp-set-addresses "o$i" "$(mac_of 2 "$i") $(ip_of "$i")"
    -- lsp-set-dhcpv4-options "o$i" "$dhcp_uuid")
done
nbctl "${args[@]}" || { echo "ovn-nbctl failed"; exit 1; }
for i in $(seq 1 "$nports"); do
  host "v$i" vl "$(mac_of 1 "$i")" "v$i" && host "o$i" ovn "$(mac_of 2 "$i")" "o$i" || { echo "host $i failed"; exit 1; }
done
all_punted() { [ "$(vl_punts)" -ge "$nports" ]; }
sb_wait 60 synced && sb_wait 60 all_punted || { echo "vlcpd: not synced / $(vl_punts) DHCP punts"; exit 1; }
for i in $(seq 1 "$nports"); do nbctl wait-until Logical_Switch_Port "o$i" up=true || exit 1; done
nbctl --wait=hv sync || exit 1
echo "setup took $(($(now_ms) - t0)) ms; vlcpd DHCP punts: $(vl_punts); OVN ports up: $nports"

echo "== 1. port already known: dhclient start -> address configured, $nports ports each, alternating"
capture_start vl known && capture_start ovn known || { echo "tcpdump did not start"; exit 1; }
echo "   (load at start $(cut -d' ' -f1-3 /proc/loadavg))"
for i in $(seq 1 "$nports"); do
  if [ $((i % 2)) = 1 ]; then
    measure vl "v$i" "$(ip_of "$i")"
    measure ovn "o$i" "$(ip_of "$i")"
  else
    measure ovn "o$i" "$(ip_of "$i")"
    measure vl "v$i" "$(ip_of "$i")"
  fi
done
echo "   (load at end $(cut -d' ' -f1-3 /proc/loadavg))"
report vl "vlcpd (DHCP on a worker lcore)"
report ovn "OVN native DHCP (ovn-controller)"
capture_stop vl
capture_stop ovn
echo "   the server's share (packets on the hosts' veths in the server namespace):"
server_times vl known "vlcpd"
server_times ovn known "OVN"

if [ "$nfresh" -gt 0 ]; then
  echo "== 2. bind then dhclient at once, $nfresh ports each, alternating: the host exists (its veth"
  echo "   parked on another bridge); the port is created in the model / NB, the veth moved into br-int"
  echo "   with the port's iface-id (one ovs-vsctl), and dhclient started at once"
  for s in vl ovn; do
    sb_vsctl "$s" add-br br-park -- set bridge br-park datapath_type=netdev fail_mode=secure || exit 1
  done
  parked() {  # parked NAME SERVER MAC
    sb_host "$1" "$2" br-park 192.0.2.1/32 mac="$3" >/dev/null && sb_exec "$1" ip addr flush dev eth0
  }
  for i in $(seq $((nports + 1)) $((nports + nfresh))); do
    parked "v$i" vl "$(mac_of 1 "$i")" && parked "o$i" ovn "$(mac_of 2 "$i")" || { echo "host $i failed"; exit 1; }
  done
  # fresh SIDE I: creates port I, binds its host, runs dhclient at once; SIDE-fresh.ms gets
  # dhclient start -> configured, SIDE-total.ms model call -> configured.
  fresh() {
    local side=$1 i=$2 h ip t0 t1 ms port
    ip=$(ip_of "$i")
    t0=$(now_ms)
    if [ "$side" = vl ]; then
      h=v$i
      ctl call viperflow createlogicalport id="$h" logicalnetwork=n1 subnet=s1 mac_address="$(mac_of 1 "$i")" \
        ip_address="$ip" || { echo "$h" >>"$SB_DIR/vl-fresh.failed"; return 0; }
    else
      h=o$i
      nbctl lsp-add sw0 "$h" -- lsp-set-addresses "$h" "$(mac_of 2 "$i") $ip" \
        -- lsp-set-dhcpv4-options "$h" "$dhcp_uuid" || { echo "$h" >>"$SB_DIR/ovn-fresh.failed"; return 0; }
    fi
    port=$(sb_host_port "$h")
    sb_vsctl "$side" -- del-port br-park "$port" -- add-port br-int "$port" -- set interface "$port" \
      "external_ids:iface-id=$h" "external_ids:attached-mac=$(mac_of "$([ "$side" = vl ] && echo 1 || echo 2)" "$i")" ||
      { echo "$h" >>"$SB_DIR/$side-fresh.failed"; return 0; }
    t1=$(now_ms)
    measure "$side-fresh" "$h" "$ip"
    ms=$(tail -1 "$SB_DIR/$side-fresh.ms" 2>/dev/null)
    [ -n "$ms" ] && echo $((t1 - t0 + ms)) >>"$SB_DIR/$side-total.ms"
    echo $((t1 - t0)) >>"$SB_DIR/$side-bind.ms"
  }
  capture_start vl fresh && capture_start ovn fresh || { echo "tcpdump did not start"; exit 1; }
  for i in $(seq $((nports + 1)) $((nports + nfresh))); do
    if [ $((i % 2)) = 1 ]; then fresh vl "$i"; fresh ovn "$i"; else fresh ovn "$i"; fresh vl "$i"; fi
  done
  capture_stop vl
  capture_stop ovn
  report vl-fresh "vlcpd: dhclient start -> configured"
  report vl-total "vlcpd: model call -> configured" vl-fresh
  report ovn-fresh "OVN: dhclient start -> configured"
  report ovn-total "OVN: NB call -> configured" ovn-fresh
  echo "   model/NB call + bind (before dhclient): vlcpd p50 $(pct 50 <"$SB_DIR/vl-bind.ms") ms, OVN p50 $(pct 50 <"$SB_DIR/ovn-bind.ms") ms"
  echo "   the server's share (the last DISCOVER / REQUEST before the answer):"
  server_times vl fresh "vlcpd"
  server_times ovn fresh "OVN"
fi
echo "vlcpd: $(sb_exec vl curl -s http://127.0.0.1:9464/metrics | grep -E '^vlcp_(dhcp_replies|packet_in_handled)_total' | grep -v ' 0$' | tr '\n' ' ')"
echo "machine at end: load $(cut -d' ' -f1-3 /proc/loadavg)"
