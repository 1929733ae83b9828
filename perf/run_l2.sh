#!/usr/bin/env bash
# L2 benchmarks (issues 7 and 17), each on the real components in a sandbox:
#  1. API create -> first ping: two servers (VXLAN, ZooKeeper between the two vlcpd); host i is
#     plugged (iface-id) on server 1 + i%2 before its port exists; the port is created through
#     the OTHER server's WebAPI; the clock runs from just before the API call to the first echo
#     reply to perf/prober (every 10 ms) from a peer host on that other server. PORTS ports, one
#     at a time. OVN 23.03 on the same sandbox shape in the same run, alternating which goes
#     first: two chassis (geneve), NB/SB/northd; "API create" is one ovn-nbctl lsp-add +
#     lsp-set-addresses (no --wait).
#  attach. OVS port attach -> first ping: the logical port already exists (vlcpd: created through
#     the WebAPI; OVN: lsp-add + lsp-set-addresses, then --wait=hv sync) and the host's namespace
#     exists with its eth0 configured: one end of a veth pair whose other end is in the server's
#     namespace but in no bridge (so the prober can probe it before the attach). t0 is taken
#     just before `ovs-vsctl add-port br-int PORT -- set interface PORT external_ids:iface-id=..`
#     on server 1 + i%2; the prober runs from a peer on the other server. Same for OVN.
#     Both sections: static neighbours both ways (prober's namespace and the target's), so ARP is
#     not measured; the prober starts before t0 and probes on a 10 ms grid. Reported: first reply
#     - t0 (the headline), and "ready", the midpoint of [last unanswered probe's send, first
#     answered probe's send] (the grid's up-to-10 ms wait taken out), p50/p99 and vlcpd/OVN.
#  2. reconnect: one server with SCALE bound logical ports (OVS internal ports with iface-ids),
#     vlcpd on the embedded store. vlcpd restarted, and the switch's controller connection
#     dropped and restored: time to reconcile (connect -> in sync) and FLOW_MODs sent.
#  3. controller learning: ofp_swarm's learn mode (emulated switches, a new source MAC per
#     PACKET_IN, packet-in -> FLOW_MOD latency) against vlcpd (workers) and against os-ken
#     (Debian's python3-os-ken, /usr/bin/python3, perf/osken_learning.py), same run, RUNS each.
# Usage: [SECTIONS=1,attach,2,3] [OVN=1] [TRACE=0] perf/run_l2.sh [BUILD_DIR] [PORTS] [SCALE] [RUNS]
#   SECTIONS: which sections to run (default all); OVN=0 leaves OVN out of 1 and attach (the
#   OVN side needs Debian's ovn-central and ovn-host). TRACE=N: after the attach section, N more
#   attaches per system (not in the figures) with OVS's OpenFlow and OVSDB messages logged
#   (vconn, jsonrpc at debug), each printed as a timeline from t0: where the time goes.
set -uo pipefail
build=$(cd "${1:-build/release}" && pwd)
ports=${2:-100}
scale=${3:-1000}
runs=${4:-3}
sections=${SECTIONS:-1,attach,2,3}
with_ovn=${OVN:-1}
trace=${TRACE:-0}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/sandbox/lib.sh"
. "$here/lib.sh"
vlcpctl=$build/src/vlcpctl
prober=$build/perf/prober
export VLCP_VLCPD=$build/src/vlcpd
want() { [[ ",$sections," == *",$1,"* ]]; }
sb_init || exit 1
trap sb_down EXIT
ms() { echo $(($(date +%s%N) / 1000000)); }
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }  # kv NAME: NAME=VALUE from ofp_swarm's and prober's lines
pct() {  # pct P < numbers: the P-th percentile (nearest rank)
  sort -n | awk -v p="$1" '{a[NR]=$1} END {i=int(p/100*NR+0.999); if (i<1) i=1; print a[i]}'
}
status() {  # status HV EXPR: on ioprocessing/status's br-int `s`
  sb_exec "$1" curl -sf http://127.0.0.1:8081/ioprocessing/status | python3 -c "
import json, sys
s = [x for x in json.load(sys.stdin)['result']['switches'] if x['bridge'] == 'br-int']
s = s[0] if s else {}
print($2)"
}
synced() { [ "$(status "$1" "s.get('attached') and s.get('synced')")" = True ]; }
echo "machine: nproc $(nproc), $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), load $(cut -d' ' -f1-3 /proc/loadavg)"
echo "vlcpd: $VLCP_VLCPD; $(ovs-vswitchd --version | head -1); sections $sections"

if want 1 || want attach; then
  [ -x "$prober" ] || { echo "missing $prober (cmake --build ... --target prober)"; exit 1; }
  if [ "$with_ovn" = 1 ]; then
    for b in /usr/bin/ovn-controller /usr/bin/ovn-northd /usr/bin/ovn-nbctl; do
      [ -x "$b" ] || { echo "missing $b (ovn-central, ovn-host; or OVN=0)"; exit 1; }
    done
    echo "OVN: $(ovn-controller --version | head -1)"
  fi
  t_setup=$(ms)
  # Addresses (the same on both systems, which are separate worlds): peers 10.1.255.1-2, the
  # API-create hosts 10.1.0.x, the attach hosts 10.1.100.x; all on one /16.
  ip_of() { echo "10.1.$(($2 + $1 / 250)).$(($1 % 250 + 1))"; }                # ip_of I BASE
  mac_of() { printf '02:00:00:%02x:%02x:%02x' "$2" $(($1 / 256)) $(($1 % 256)); }  # mac_of I KIND
  peer_ip() { echo "10.1.255.$1"; }
  peer_mac() { printf '02:00:00:00:ff:%02x' "$1"; }
  srv_of() { echo $((1 + $1 % 2)); }  # port I's server
  # A host whose eth0 is a veth end; the other end is in server OVS's namespace, up, in no
  # bridge: veth_host NAME OVS IP/PREFIX MAC MTU (prints the switch-side name).
  veth_host() {
    local name=$1 ovs=$2 port
    port=$(sb_ifname "$name")
    sb_netns "$name" || return 1
    ip -n "$(sb_ns "$ovs")" link add "$port" type veth peer name eth0 netns "$(sb_ns "$name")" || return 1
    sb_record link "$port"
    ip -n "$(sb_ns "$ovs")" link set "$port" mtu "$5" up
    ip netns exec "$(sb_ns "$ovs")" ethtool -K "$port" tx off >/dev/null 2>&1
    ip -n "$(sb_ns "$name")" link set eth0 address "$4" mtu "$5"
    ip -n "$(sb_ns "$name")" addr add "$3" dev eth0
    ip -n "$(sb_ns "$name")" link set eth0 up
    ip netns exec "$(sb_ns "$name")" ethtool -K eth0 tx off >/dev/null 2>&1
    echo "$port" >"$SB_DIR/host-$name.port"
    echo "$port"
  }
  # Static neighbours both ways between host H (IP, MAC) and peer P (number N): neigh H IP MAC P N
  neigh() {
    sb_exec "$1" ip neigh replace "$(peer_ip "$5")" lladdr "$(peer_mac "$5")" dev eth0 nud permanent &&
      sb_exec "$4" ip neigh replace "$2" lladdr "$3" dev eth0 nud permanent
  }
  # The prober and the measured command (ovs-vsctl, ovn-nbctl, curl) run at nice $NICE (default
  # -10), both systems alike: on a loaded 2-core machine a new process otherwise waits for a core
  # for tens of ms before it even connects (seen in TRACE), which is the machine's noise, not the
  # controller's. The daemons under test keep their niceness.
  nice=${NICE:--10}
  # probe_event PEER IP OUT CMD...: starts the prober in PEER on IP with its grid from now +
  # 150 ms, takes t0 after that instant, just before CMD, and runs CMD; appends to OUT
  # "first_reply ready cmd_ms" in ms from t0 (ready: the midpoint of the last unanswered and the
  # first answered probe's sends, the lower end no earlier than t0). The prober's grid starts
  # before t0, so its phase against t0 is as random as a real 10 ms prober's.
  probe_event() {
    local peer=$1 ip=$2 out=$3 grid tc tr pid line
    shift 3
    grid=$(($(date +%s%N) + 150000000))
    nice -n "$nice" ip netns exec "$(sb_ns "$peer")" "$prober" --until-all --duration-s 10 --t0-ns "$grid" "$ip" >"$SB_DIR/probe.out" &
    pid=$!
    sleep 0.17
    tc=$(date +%s%N)
    echo "$tc" >"$SB_DIR/t0"
    (renice -n "$nice" -p "$BASHPID" >/dev/null && "$@" >/dev/null) || { echo "   failed: $*"; kill "$pid"; wait "$pid"; return 1; }
    tr=$(date +%s%N)
    wait "$pid"
    line=$(head -1 "$SB_DIR/probe.out")
    echo "$line" >>"$out.raw"
    awk -v off="$(((grid - tc) / 1000))" -v cmd="$(((tr - tc) / 1000))" -v ip="$ip" '
      /^target=/ {
        for (i = 1; i <= NF; i++) { split($i, kv, "="); f[kv[1]] = kv[2] }
        off /= 1000
        if (f["first_reply_ms"] < 0) { print "   " ip ": no reply within 10 s" > "/dev/stderr"; exit }
        if (f["last_unanswered_send_ms"] < 0) print "   " ip ": answered at the first probe (prober late?)" > "/dev/stderr"
        lo = f["last_unanswered_send_ms"] + off; if (lo < 0) lo = 0
        printf "%.3f %.3f %.3f\n", f["first_reply_ms"] + off, (lo + f["first_answered_send_ms"] + off) / 2, cmd / 1000
      }' <<<"$line" >>"$out"
  }
  col() { awk -v c="$1" '$c != "-" {print $c}' "$2"; }
  # commit_ms DB_LOG PORT T0_NS FIRST_REPLY_MS: first reply - the add-port's OVSDB commit (the
  # last transact naming PORT in the ovsdb-server's debug log), in ms; "-" if not found.
  commit_ms() {
    python3 - "$@" <<'PY'
import datetime, re, sys
log, port, t0, first = sys.argv[1], sys.argv[2], int(sys.argv[3]) / 1e6, float(sys.argv[4])
at = None
for line in open(log, errors='replace'):
    if 'method="transact"' in line and '"%s"' % port in line and '"insert"' in line:
        m = re.match(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z', line)
        if m:
            at = datetime.datetime.strptime(m.group(1), '%Y-%m-%dT%H:%M:%S.%f').replace(
                tzinfo=datetime.timezone.utc).timestamp() * 1000 - t0
print('%.3f' % (first - at) if at is not None else '-')
PY
  }
  # timeline T0_NS FIRST_REPLY_MS LABEL:LOG...: the log lines from t0 - 2 ms to the first reply +
  # 5 ms, in time order, stamped in ms from t0 (OVS logs stamp to the ms), one line each, cut short.
  timeline() {
    python3 - "$@" <<'PY'
import datetime, re, sys
t0, first = int(sys.argv[1]) / 1e6, float(sys.argv[2])
stamp = re.compile(r'^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3})Z\|\d+\|(\w+)\|\w+\|(.*)')
rows = []
for arg in sys.argv[3:]:
    label, path = arg.split(':', 1)
    try:
        lines = open(path, errors='replace').read().splitlines()
    except OSError:
        continue
    for line in lines:
        m = stamp.match(line)
        if not m:
            continue
        at = datetime.datetime.strptime(m.group(1), '%Y-%m-%dT%H:%M:%S.%f').replace(
            tzinfo=datetime.timezone.utc).timestamp() * 1000 - t0
        if -2 <= at <= first + 5:
            rows.append((at, label, m.group(2), m.group(3)))
rows.sort(key=lambda r: r[0])
for at, label, module, text in rows:
    print('   %7.0f  %-8s %-8s %s' % (at, label, module, re.sub(r'\s+', ' ', text)[:150]))
print('   %7.1f  first echo reply at the prober' % first)
PY
  }

  echo "== bring-up setup: two servers per system, $ports ports each for 1 and attach"
  # --- vlcpd: two servers, ZooKeeper, VXLAN ---------------------------------------------------
  sb_zk_start 1 >/dev/null || exit 1
  for n in 1 2; do
    sb_ovs_start "hv$n" && sb_vsctl "hv$n" set Open_vSwitch . "external_ids:system-id=hv$n" &&
      sb_mgmt_attach "hv$n" $((10 + n)) || exit 1
  done
  sb_underlay hv1 192.168.99.1/24 hv2 192.168.99.2/24 || exit 1
  for n in 1 2; do
    sb_bridge "hv$n" br-int "000000000000000$n" && sb_vxlan_port "hv$n" br-int vxlan0 flow || exit 1
    sb_vlcpd_server_conf "$SB_DIR/hv$n.conf" "hv$n" "server.loglevel = 'warn'"
    sb_vlcpd_start "hv$n" "$SB_DIR/hv$n.conf" "hv$n"
  done
  api() { sb_exec "hv$1" curl -sf --max-time 30 "http://127.0.0.1:8081$2" >/dev/null; }
  sb_wait 60 api 1 /viperflow/listphysicalnetworks && sb_wait 60 api 2 /viperflow/listphysicalnetworks ||
    { echo "vlcpd did not come up"; exit 1; }
  api 1 "/viperflow/createphysicalnetwork?id=vx&type=vxlan&vnirange=%60%5B%5B100,200%5D%5D%60" &&
    api 1 "/viperflow/createphysicalport?name=vxlan0&physicalnetwork=vx" &&
    api 1 "/viperflow/createlogicalnetwork?id=n1&physicalnetwork=vx" &&
    api 1 "/viperflow/createsubnet?id=s1&logicalnetwork=n1&cidr=10.1.0.0/16" || exit 1
  for n in 1 2; do
    api 1 "/viperflow/createlogicalport?id=peer$n&logicalnetwork=n1&subnet=s1&mac_address=$(peer_mac $n)&ip_address=$(peer_ip $n)" ||
      exit 1
    sb_host "vp$n" "hv$n" br-int "$(peer_ip $n)/16" "mac=$(peer_mac $n)" "iface_id=peer$n" mtu=1450 >/dev/null || exit 1
  done
  if want attach; then  # the attach section's ports exist in the model beforehand
    python3 - $((ports + trace)) >"$SB_DIR/attach-ports.json" <<'PY'
import json, sys
n = int(sys.argv[1])
print(json.dumps({"ports": [{"id": "a%d" % i, "logicalnetwork": "n1", "subnet": "s1",
    "mac_address": "02:00:00:02:%02x:%02x" % (i >> 8, i & 255),
    "ip_address": "10.1.%d.%d" % (100 + i // 250, i % 250 + 1)} for i in range(1, n + 1)]}))
PY
    sb_exec hv1 curl -sf --max-time 60 -H 'Content-Type: application/json' --data-binary @"$SB_DIR/attach-ports.json" \
      http://127.0.0.1:8081/viperflow/createlogicalports >/dev/null || { echo "createlogicalports failed"; exit 1; }
  fi
  for i in $(seq $((ports + trace))); do
    s=$(srv_of "$i")
    if want 1 && [ "$i" -le "$ports" ]; then
      sb_host "c$i" "hv$s" br-int "$(ip_of "$i" 0)/16" "mac=$(mac_of "$i" 1)" "iface_id=c$i" mtu=1450 >/dev/null &&
        neigh "c$i" "$(ip_of "$i" 0)" "$(mac_of "$i" 1)" "vp$((3 - s))" $((3 - s)) || exit 1
    fi
    if want attach; then
      veth_host "a$i" "hv$s" "$(ip_of "$i" 100)/16" "$(mac_of "$i" 2)" 1450 >/dev/null &&
        neigh "a$i" "$(ip_of "$i" 100)" "$(mac_of "$i" 2)" "vp$((3 - s))" $((3 - s)) || exit 1
    fi
  done
  neigh vp1 "$(peer_ip 1)" "$(peer_mac 1)" vp2 2 || exit 1
  sb_wait 60 synced hv1 && sb_wait 60 synced hv2 || { echo "vlcpd: switches not in sync"; exit 1; }
  sb_exec vp1 "$prober" --until-all --duration-s 30 "$(peer_ip 2)" | grep -q 'answered=1' ||
    { echo "vlcpd: peer1 -> peer2 does not answer"; exit 1; }

  # --- OVN: central (NB, SB, northd) and two chassis, geneve over the same underlay shape ------
  if [ "$with_ovn" = 1 ]; then
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
    for n in 1 2; do sb_ovs_start "o$n" >/dev/null || exit 1; done
    sb_underlay o1 192.168.98.1/24 o2 192.168.98.2/24 || exit 1
    for n in 1 2; do
      mkdir -p "$O/o$n"
      sb_vsctl "o$n" set Open_vSwitch . "external_ids:system-id=o$n" "external_ids:ovn-remote=unix:$O/sb.sock" \
        external_ids:ovn-encap-type=geneve "external_ids:ovn-encap-ip=192.168.98.$n" \
        external_ids:ovn-bridge-datapath-type=netdev || exit 1
      # ovn-controller creates br-int (netdev, fail_mode=secure) and reaches it at $OVS_RUNDIR/br-int.mgmt.
      sb_ovs "o$n" ip netns exec "$(sb_ns "o$n")" env OVN_RUNDIR="$O/o$n" OVN_LOGDIR="$O/o$n" ovn-controller \
        "unix:$(sb_ovs_dir "o$n")/run/db.sock" --pidfile="$O/o$n/controller.pid" --detach -vconsole:off \
        --log-file="$O/o$n/controller.log" || exit 1
      sb_record pid "$(cat "$O/o$n/controller.pid")" "ovn-controller:o$n"
    done
    for n in 1 2; do sb_wait 30 sb_vsctl "o$n" br-exists br-int || { echo "ovn-controller o$n made no br-int"; exit 1; }; done
    nbctl ls-add sw0 || exit 1
    for n in 1 2; do
      nbctl lsp-add sw0 "op$n" -- lsp-set-addresses "op$n" "$(peer_mac $n) $(peer_ip $n)" || exit 1
      sb_host "op$n" "o$n" br-int "$(peer_ip $n)/16" "mac=$(peer_mac $n)" "iface_id=op$n" mtu=1400 >/dev/null || exit 1
    done
    if want attach; then
      args=()
      for i in $(seq $((ports + trace))); do args+=(-- lsp-add sw0 "oa$i" -- lsp-set-addresses "oa$i" "$(mac_of "$i" 2) $(ip_of "$i" 100)"); done
      nbctl "${args[@]}" || exit 1
    fi
    for i in $(seq $((ports + trace))); do
      s=$(srv_of "$i")
      if want 1 && [ "$i" -le "$ports" ]; then
        sb_host "oc$i" "o$s" br-int "$(ip_of "$i" 0)/16" "mac=$(mac_of "$i" 1)" "iface_id=oc$i" mtu=1400 >/dev/null &&
          neigh "oc$i" "$(ip_of "$i" 0)" "$(mac_of "$i" 1)" "op$((3 - s))" $((3 - s)) || exit 1
      fi
      if want attach; then
        veth_host "oa$i" "o$s" "$(ip_of "$i" 100)/16" "$(mac_of "$i" 2)" 1400 >/dev/null &&
          neigh "oa$i" "$(ip_of "$i" 100)" "$(mac_of "$i" 2)" "op$((3 - s))" $((3 - s)) || exit 1
      fi
    done
    neigh op1 "$(peer_ip 1)" "$(peer_mac 1)" op2 2 || exit 1
    for n in 1 2; do nbctl wait-until Logical_Switch_Port "op$n" up=true || exit 1; done
    nbctl --wait=hv sync || exit 1
    sb_exec op1 "$prober" --until-all --duration-s 30 "$(peer_ip 2)" | grep -q 'answered=1' ||
      { echo "OVN: peer1 -> peer2 does not answer"; exit 1; }
  fi
  echo "setup took $(($(ms) - t_setup)) ms (load $(cut -d' ' -f1-3 /proc/loadavg))"

  # report LABEL FILE: p50/p99 of first reply and of ready, and the command's own time
  report() {
    local n
    n=$(wc -l <"$2")
    printf '%-44s n=%3d  first reply p50 %7.2f p99 %7.2f ms   ready p50 %7.2f p99 %7.2f ms   command p50 %6.2f ms   first reply after the command returned p50 %7.2f p99 %7.2f ms\n' \
      "$1" "$n" "$(col 1 "$2" | pct 50)" "$(col 1 "$2" | pct 99)" "$(col 2 "$2" | pct 50)" "$(col 2 "$2" | pct 99)" \
      "$(col 3 "$2" | pct 50)" "$(awk '{print $1 - $3}' "$2" | pct 50)" "$(awk '{print $1 - $3}' "$2" | pct 99)"
    if [ "$(awk '$4 != "" && $4 != "-"' "$2" | wc -l)" -gt 0 ]; then
      printf '%-44s        first reply from the OVSDB commit of the add-port p50 %7.2f p99 %7.2f ms (n=%d)\n' "" \
        "$(awk '$4 != "-" {print $4}' "$2" | pct 50)" "$(awk '$4 != "-" {print $4}' "$2" | pct 99)" "$(awk '$4 != "" && $4 != "-"' "$2" | wc -l)"
    fi
  }
  # ratio SECTION: vlcpd / OVN for p50 and p99 of both measures
  ratio() {
    local v=$SB_DIR/vl-$1 o=$SB_DIR/ovn-$1 c p
    [ -s "$v" ] && [ -s "$o" ] || return 0
    printf '%-44s' "vlcpd / OVN"
    local cols="1 2"
    [ "$(awk '$4 != "" && $4 != "-"' "$v" | wc -l)" -gt 0 ] && [ "$(awk '$4 != "" && $4 != "-"' "$o" | wc -l)" -gt 0 ] && cols="1 2 4"
    for c in $cols; do
      for p in 50 99; do
        printf ' p%s %s' "$p" "$(awk -v a="$(col $c "$v" | pct $p)" -v b="$(col $c "$o" | pct $p)" 'BEGIN {printf (b > 0 ? "%.2fx" : "-"), a / b}')"
      done
      printf '  '
    done
    if [ "$cols" = "1 2" ]; then echo "(first reply; ready)"; else echo "(first reply; ready; from the commit)"; fi
  }
  # vlcpd's own account of a bind, if it has one
  vlcpd_stages() {
    local n
    for n in 1 2; do
      echo "   vlcpd hv$n bring-up stages (/ioprocessing/status): $(status "hv$n" "{k: v for k, v in s.items() if 'bringup' in k or 'stage' in k} or 'none exposed'")"
      sb_exec "hv$n" curl -sf http://127.0.0.1:9464/metrics | grep '^vlcp_bringup_stage_seconds' | grep -E '_sum|_count' |
        sed 's/^/     /' >"$SB_DIR/stages"
      if [ -s "$SB_DIR/stages" ]; then cat "$SB_DIR/stages"; else echo "     (no vlcp_bringup_stage_seconds metric)"; fi
    done
  }
  vl_create() {  # vl_create I: port c$i through the WebAPI of the server that is not its host's
    local i=$1
    api $((3 - $(srv_of "$i"))) "/viperflow/createlogicalport?id=c$i&logicalnetwork=n1&subnet=s1&mac_address=$(mac_of "$i" 1)&ip_address=$(ip_of "$i" 0)"
  }
  ovn_create() { nbctl lsp-add sw0 "oc$1" -- lsp-set-addresses "oc$1" "$(mac_of "$1" 1) $(ip_of "$1" 0)"; }
  attach() {  # attach SERVER HOST IFACE_ID MAC
    sb_vsctl "$1" add-port br-int "$(cat "$SB_DIR/host-$2.port")" -- set interface "$(cat "$SB_DIR/host-$2.port")" \
      "external_ids:iface-id=$3" "external_ids:attached-mac=$4"
  }
  # one SYSTEM SECTION I: one measurement
  one() {
    local sys=$1 sec=$2 i=$3 s peer
    s=$(srv_of "$i")
    if [ "$sys" = vl ]; then peer=vp$((3 - s)); else peer=op$((3 - s)); fi
    if [ "$sec" = create ]; then
      if [ "$sys" = vl ]; then
        probe_event "$peer" "$(ip_of "$i" 0)" "$SB_DIR/vl-create" vl_create "$i"
      else
        probe_event "$peer" "$(ip_of "$i" 0)" "$SB_DIR/ovn-create" ovn_create "$i"
      fi
    else
      local srv=o$s host=oa$i n
      [ "$sys" = vl ] && srv=hv$s host=a$i
      n=$(wc -l <"$SB_DIR/$sys-attach")
      probe_event "$peer" "$(ip_of "$i" 100)" "$SB_DIR/$sys-attach" attach "$srv" "$host" "$host" "$(mac_of "$i" 2)"
      # A fourth column: the first reply from the OVSDB commit of the add-port (ovsdb-server's
      # log, 1 ms stamps): the controller's and the switch's share without the tool's start.
      [ "$(wc -l <"$SB_DIR/$sys-attach")" -gt "$n" ] &&
        sed -i "\$s/\$/ $(commit_ms "$(sb_ovs_dir "$srv")/log/ovsdb-server.log" "$(cat "$SB_DIR/host-$host.port")" \
          "$(cat "$SB_DIR/t0")" "$(tail -1 "$SB_DIR/$sys-attach" | cut -d' ' -f1)")/" "$SB_DIR/$sys-attach"
    fi
    sleep 0.2  # let the controllers finish what follows the first ping before the next port
  }
  systems=vl
  [ "$with_ovn" = 1 ] && systems="vl ovn"
  # both SECTION: every port, alternating which system goes first
  both() {
    local i sys
    : >"$SB_DIR/vl-$1"
    : >"$SB_DIR/ovn-$1"
    for i in $(seq "$ports"); do
      if [ $((i % 2)) = 1 ]; then
        for sys in $systems; do one "$sys" "$1" "$i"; done
      else
        for sys in $(echo "$systems" | tr ' ' '\n' | tac); do one "$sys" "$1" "$i"; done
      fi
    done
  }
  # api_secs: the viperflow module's answered requests and their summed time on both servers
  # ("N SECONDS"), from vlcpd's own vlcp_api_request* counters
  api_secs() {
    local n
    for n in 1 2; do sb_exec "hv$n" curl -sf http://127.0.0.1:9464/metrics; done |
      awk '/^vlcp_api_requests_total\{.*module="viperflow"/ {c += $NF} /^vlcp_api_request_seconds_total\{module="viperflow"/ {s += $NF}
           /^vlcp_objectdb_(transactions|conflicts|walks)_total / {o[$1] += $NF}
           END {print c + 0, s + 0, o["vlcp_objectdb_transactions_total"] + 0, o["vlcp_objectdb_conflicts_total"] + 0, o["vlcp_objectdb_walks_total"] + 0}'
  }
  if want 1; then
    echo "== 1. API create of a logical port -> first ping across servers ($ports ports, alternating servers)"
    t=$(ms)
    a0=$(api_secs)
    both create
    sleep 1.2  # vlcpd publishes its counters to /metrics once a second
    a1=$(api_secs)
    report "vlcpd: createlogicalport -> first ping" "$SB_DIR/vl-create"
    # where the command's time goes: inside vlcpd (its own counters) and the client's start (ip
    # netns exec + curl against an endpoint that does no work, the same nice)
    for i in $(seq 20); do
      c0=$EPOCHREALTIME
      nice -n "$nice" ip netns exec "$(sb_ns hv1)" curl -sf -o /dev/null http://127.0.0.1:8081/ioprocessing/status
      awk -v a="$c0" -v b="$EPOCHREALTIME" 'BEGIN {printf "%.2f\n", (b - a) * 1000}'
    done >"$SB_DIR/curl-idle"
    printf '%-44s        inside vlcpd (WebAPI, ObjectDB on ZooKeeper) mean %.2f ms (n=%d); ip netns exec + curl alone p50 %s ms\n' "" \
      "$(echo "$a0 $a1" | awk '{print (($6 - $1) > 0 ? ($7 - $2) * 1000 / ($6 - $1) : 0)}')" \
      "$(echo "$a0 $a1" | awk '{print $6 - $1}')" "$(pct 50 <"$SB_DIR/curl-idle")"
    printf '%-44s        ObjectDB on both servers meanwhile: %s transactions, %s conflicts, %s walks\n' "" \
      $(echo "$a0 $a1" | awk '{print $8 - $3, $9 - $4, $10 - $5}')
    [ "$with_ovn" = 1 ] && report "OVN: lsp-add + lsp-set-addresses -> first ping" "$SB_DIR/ovn-create"
    ratio create
    echo "   ($(($(ms) - t)) ms; load $(cut -d' ' -f1-3 /proc/loadavg))"
  fi
  if want attach; then
    for o in hv1 hv2 o1 o2; do  # the add-port's commit, for commit_ms
      [ "$with_ovn" = 1 ] || [ "${o#hv}" != "$o" ] || continue
      sb_ovs "$o" ovs-appctl -t "$(sb_ovs_dir "$o")/run/ovsdb-server.ctl" vlog/set jsonrpc:file:dbg >/dev/null
    done
    echo "== attach. OVS port attach (ovs-vsctl add-port with iface-id) -> first ping across servers ($ports ports)"
    t=$(ms)
    both attach
    report "vlcpd: add-port -> first ping" "$SB_DIR/vl-attach"
    [ "$with_ovn" = 1 ] && report "OVN: add-port -> first ping" "$SB_DIR/ovn-attach"
    ratio attach
    echo "   ($(($(ms) - t)) ms; load $(cut -d' ' -f1-3 /proc/loadavg))"
    if [ "$trace" -gt 0 ]; then
      echo "== attach, traced: $trace more per system with OpenFlow (vconn) and OVSDB (jsonrpc) messages logged at"
      echo "   debug; ms from t0 (log stamps have 1 ms resolution; srv: the port's server, peer: the prober's)"
      for o in hv1 hv2 o1 o2; do
        [ "$with_ovn" = 1 ] || [ "${o#hv}" != "$o" ] || continue
        sb_appctl "$o" vlog/set vconn:file:dbg >/dev/null
        sb_ovs "$o" ovs-appctl -t "$(sb_ovs_dir "$o")/run/ovsdb-server.ctl" vlog/set jsonrpc:file:dbg >/dev/null
      done
      for i in $(seq $((ports + 1)) $((ports + trace))); do
        for sys in $systems; do
          cp "$SB_DIR/$sys-attach" "$SB_DIR/kept"
          one "$sys" attach "$i"
          s=$(srv_of "$i")
          if [ "$sys" = vl ]; then srv=hv$s peer=hv$((3 - s)); else srv=o$s peer=o$((3 - s)); fi
          line=$(diff "$SB_DIR/kept" "$SB_DIR/$sys-attach" | sed -n 's/^> //p')
          mv "$SB_DIR/kept" "$SB_DIR/$sys-attach"  # not in the figures
          echo "-- $sys a$i on $srv (first reply, ready, ovs-vsctl ms): ${line:-no reply}"
          [ -n "$line" ] || continue
          logs=("srv:$(sb_ovs_dir "$srv")/log/ovs-vswitchd.log" "srv-db:$(sb_ovs_dir "$srv")/log/ovsdb-server.log"
            "peer:$(sb_ovs_dir "$peer")/log/ovs-vswitchd.log" "peer-db:$(sb_ovs_dir "$peer")/log/ovsdb-server.log")
          [ "$sys" = ovn ] && logs+=("sb:$O/sb.log" "ctl-srv:$O/$srv/controller.log" "ctl-peer:$O/$peer/controller.log")
          timeline "$(cat "$SB_DIR/t0")" "$(echo "$line" | cut -d' ' -f1)" "${logs[@]}"
        done
      done
    fi
  fi
  vlcpd_stages
  # Free the cores for the next sections.
  for n in 1 2; do sb_stop_pid "$(sb_vlcpd_pid "hv$n")"; done
  if [ "$with_ovn" = 1 ]; then
    for n in 1 2; do sb_stop_pid "$(cat "$O/o$n/controller.pid")"; done
    for p in northd sb nb; do sb_stop_pid "$(cat "$O/$p.pid")"; done
    for n in 1 2; do sb_ovs_stop "o$n"; done
  fi
fi

if want 2; then
echo "== 2. reconnect of a switch with $scale bound logical ports (embedded store)"
sb_ovs_start hv3 && sb_vsctl hv3 set Open_vSwitch . external_ids:system-id=hv3 || exit 1
sb_bridge hv3 br-int 0000000000000003 || exit 1
# OpenFlow over TCP in the server's namespace, so the reconnect can kill the connection (ss -K):
# changing the bridge's controller setting instead would make OVS flush its flows.
sb_vlcpd_server_conf "$SB_DIR/hv3.conf" hv3 "server.loglevel = 'warn'" "module.objectdb.backend = 'embedded'" \
  "module.objectdb.path = '$SB_DIR/hv3.mdb'" "module.openflowserver.url = 'tcp://127.0.0.1:6653'" \
  "module.ovsdbmanager.controller = 'tcp:127.0.0.1:6653'"
sb_vlcpd_start hv3 "$SB_DIR/hv3.conf" hv3
api3() { sb_exec hv3 curl -sf --max-time 60 "http://127.0.0.1:8081$1" >/dev/null; }
sb_wait 60 api3 /viperflow/listphysicalnetworks || exit 1
api3 "/viperflow/createphysicalnetwork?id=vl&type=vlan&vlanrange=%60%5B%5B100,200%5D%5D%60" || exit 1
for net in $(seq 10); do api3 "/viperflow/createlogicalnetwork?id=m$net&physicalnetwork=vl" || exit 1; done
python3 - "$scale" >"$SB_DIR/batches" <<'PY'
import json, sys
n = int(sys.argv[1])
ports = [{"id": "b%d" % i, "logicalnetwork": "m%d" % (i % 10 + 1),
          "mac_address": "02:00:%02x:%02x:%02x:01" % (i >> 16 & 255, i >> 8 & 255, i & 255)} for i in range(n)]
for k in range(0, n, 100):
    print(json.dumps({"ports": ports[k:k + 100]}))
PY
while read -r batch; do
  echo "$batch" | sb_exec hv3 curl -sf --max-time 60 -H 'Content-Type: application/json' --data-binary @- \
    http://127.0.0.1:8081/viperflow/createlogicalports >/dev/null || exit 1
done <"$SB_DIR/batches"
t0=$(ms)
args=()
for i in $(seq 0 $((scale - 1))); do
  args+=(-- add-port br-int "b$i" -- set interface "b$i" type=internal "external_ids:iface-id=b$i")
done
sb_vsctl hv3 "${args[@]}" || exit 1
echo "ovs: $scale internal ports added in $(($(ms) - t0)) ms"
wait_all_bound() { [ "$(status hv3 "s.get('logical_ports')")" = "$scale" ] && synced hv3; }
t0=$(ms)
sb_wait 300 wait_all_bound || { echo "not all ports bound: $(status hv3 s)"; exit 1; }
echo "first programming: $(status hv3 "'%d flows, %d groups' % (s['installed_flows'], s['installed_groups'])") in $(($(ms) - t0)) ms (from the last port's creation)"
for r in $(seq "$runs"); do
  sb_stop_pid "$(sb_vlcpd_pid hv3)"
  t0=$(ms)
  sb_vlcpd_start hv3 "$SB_DIR/hv3.conf" hv3
  sb_wait 120 synced hv3 || { echo "restart $r: never in sync"; exit 1; }
  echo "vlcpd restart $r: start -> in sync $(($(ms) - t0)) ms; $(status hv3 "'reconcile %.3f s, flow_mods %d, group_mods %d, installed flows %d' % (s['last_reconcile_seconds'], s['last_reconcile_flow_mods'], s['group_mods'], s['installed_flows'])")"
done
for r in $(seq "$runs"); do
  before=$(status hv3 "s['reconciles']")
  t0=$(ms)
  sb_exec hv3 ss -K dst 127.0.0.1 dport = :6653 >/dev/null 2>&1  # the switch's connection, cut
  reconciled() { [ "$(status hv3 "s['reconciles'] > $before and s['synced']")" = True ]; }
  sb_wait 60 reconciled || { echo "reconnect $r: never reconciled"; exit 1; }
  echo "switch reconnect $r: connection cut -> in sync again $(($(ms) - t0)) ms (OVS retries after 1 s); $(status hv3 "'reconcile %.3f s, flow_mods %d, flows %d' % (s['last_reconcile_seconds'], s['last_reconcile_flow_mods'], s['installed_flows'])")"
done
sb_stop_pid "$(sb_vlcpd_pid hv3)"

fi

if want 3; then
echo "== 3. controller learning: packet-in -> flow installed, vlcpd (1 worker lcore) vs os-ken, $runs runs each"
of=$(sb_free_port)
http=$(sb_free_port)
learning_conf "$SB_DIR/learn.conf" "$of" "$http" "$SB_DIR/learn.mdb"
"$VLCP_VLCPD" -c "$SB_DIR/learn.conf" >"$SB_DIR/learn.log" 2>&1 &
vpid=$!
sb_record pid "$vpid" vlcpd:learn
osport=$(sb_free_port)
/usr/bin/python3 /usr/bin/osken-manager "$here/osken_learning.py" --ofp-tcp-listen-port "$osport" >"$SB_DIR/osken.log" 2>&1 &
opid=$!
sb_record pid "$opid" os-ken
sleep 5
for mode in "1 1" "16 4"; do
  set -- $mode
  for who in vlcpd os-ken; do
    port=$of
    [ $who = os-ken ] && port=$osport
    : >"$SB_DIR/runs"
    for r in $(seq "$runs"); do "$build/perf/ofp_swarm" 127.0.0.1 "$port" "$1" "$2" 5 learn >>"$SB_DIR/runs"; done
    echo "$who switches=$1 window=$2: per_s=$(kv responses_per_s <"$SB_DIR/runs" | median) p50_us=$(kv p50_us <"$SB_DIR/runs" | median) p99_us=$(kv p99_us <"$SB_DIR/runs" | median)"
  done
done
fi
