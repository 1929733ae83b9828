#!/usr/bin/env bash
# DHCP DISCOVER -> OFFER through vlcpd's worker lcores (issue 16), with emulated switches.
#
# ofp_swarm's dhcp mode plays SWITCHES OpenFlow 1.3 switches, each keeping WINDOW DISCOVERs in
# flight as PACKET_INs of the DHCP server's punt flow (cookie: to workers, app 7; in_port 1 or 2)
# and timing each until the PACKET_OUT of its OFFER (matched by the DHCP xid). vlcpd serves DHCP
# only to ports its model knows and that OVSDB shows bound on the switch, so the switches are
# registered in a real ovsdb-server (Open_vSwitch schema; no ovs-vswitchd): bridge brS with
# datapath_id 50000000000000SS (the emulated switch S's datapath id), ports sSp1 and sSp2 with
# ofport 1 and 2 and external_ids:iface-id, each a logical port (MAC 02:00:00:00:S:P, an address
# in a subnet with DHCP on) created through vlcpd's WebAPI. ovsdb-server plays the part
# ovs-vswitchd would (it fills in datapath_id and ofport); the OpenFlow side is the emulator.
#
# For each of RUNS rounds, vlcpd is started with 1 and with 2 worker lcores (alternating which
# goes first; the model is kept in its embedded store across restarts), waits until its DHCP
# server has published every lease, then ofp_swarm runs SECONDS. Medians over the rounds.
# Usage: perf/run_dhcp_workers.sh [BUILD_DIR] [SWITCHES] [WINDOW] [SECONDS] [RUNS]
set -uo pipefail
build=$(cd "${1:-build/release}" && pwd)
nsw=${2:-8}
window=${3:-8}
secs=${4:-5}
runs=${5:-3}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/sandbox/lib.sh"
. "$here/lib.sh"
vlcpctl=${VLCP_VLCPCTL:-$build/src/vlcpctl}
swarm=$build/perf/ofp_swarm
export VLCP_VLCPD=$build/src/vlcpd
[ "$nsw" -le 255 ] || { echo "at most 255 switches"; exit 2; }
sb_init || exit 1
trap sb_down EXIT
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }

# OVSDB: the emulated switches' bridges and ports, as ovs-vswitchd would have them.
db=$SB_DIR/ovsdb
mkdir -p "$db"
ovsdb-tool create "$db/conf.db" /usr/share/openvswitch/vswitch.ovsschema || exit 1
ovsdb-server "$db/conf.db" --remote="punix:$db/db.sock" --pidfile="$db/ovsdb-server.pid" \
  --unixctl="$db/ovsdb-server.ctl" --detach -vconsole:off --log-file="$db/ovsdb-server.log" || exit 1
sb_record pid "$(cat "$db/ovsdb-server.pid")" ovsdb-server:dhcp
vsctl() { ovs-vsctl --no-wait --timeout=20 --db="unix:$db/db.sock" "$@"; }
vsctl init && vsctl set Open_vSwitch . external_ids:system-id=bench || exit 1
bridges=()
for s in $(seq "$nsw"); do
  bridges+=("'br$s'")
  args=(add-br "br$s" -- set bridge "br$s" "datapath_id=$(printf '50000000000000%02x' "$s")" protocols=OpenFlow13)
  for p in 1 2; do
    args+=(-- add-port "br$s" "s${s}p$p" -- set interface "s${s}p$p" "ofport=$p" "external_ids:iface-id=lp-$s-$p")
  done
  vsctl "${args[@]}" || exit 1
done

of_port=$(sb_free_port)
http_port=$(sb_free_port)
metrics_port=$(sb_free_port)
conf() {  # conf WORKERS
  cat >"$SB_DIR/vlcpd-w$1.conf" <<CONF
server.loglevel = 'warn'
module.openflowserver.url = 'tcp://127.0.0.1:$of_port'
module.ovsdbmanager.url = 'unix://$db/db.sock'
module.ovsdbmanager.bridges = [$(
    IFS=,
    echo "${bridges[*]}"
  )]
module.httpserver.url = 'tcp://127.0.0.1:$http_port'
module.metrics.url = 'tcp://127.0.0.1:$metrics_port'
module.objectdb.path = '$SB_DIR/objectdb.mdb'
module.openflowmanager.apps = ['ioprocessing', 'l2switch', 'vxlancast', 'arpresponder', 'dhcpserver', 'icmpresponder', 'l3router']
module.sched.workers = $1
CONF
}
conf 1
conf 2
api_up() { curl -sf --max-time 5 "http://127.0.0.1:$http_port/viperflow/listphysicalnetworks" >/dev/null; }
leases() { curl -sf --max-time 5 "http://127.0.0.1:$metrics_port/metrics" | sed -n 's/^vlcp_dhcp_leases \([0-9.e+]*\)$/\1/p'; }
all_leases() { [ "$(leases)" = "$((nsw * 2))" ]; }
vlcpd=
start_vlcpd() {  # start_vlcpd WORKERS
  sb_vlcpd_start "w$1" "$SB_DIR/vlcpd-w$1.conf"
  vlcpd=$(sb_vlcpd_pid "w$1")
  sb_wait 60 api_up || { echo "vlcpd ($1 workers) did not come up"; tail "$SB_DIR/vlcpd-w$1.log"; exit 1; }
}
stop_vlcpd() {
  sb_stop_pid "$vlcpd"
  vlcpd=
}

# The model, once (kept in the embedded store across restarts).
start_vlcpd 1
ctl() { "$vlcpctl" --api "http://127.0.0.1:$http_port" call "$@" >/dev/null; }
ctl viperflow createphysicalnetwork id=pv type=vlan 'vlanrange=[[100,200]]' &&
  ctl viperflow createlogicalnetwork id=n1 physicalnetwork=pv &&
  ctl viperflow createsubnet id=s1 logicalnetwork=n1 cidr=10.1.0.0/16 gateway=10.1.0.1 || exit 1
for s in $(seq "$nsw"); do
  for p in 1 2; do
    ctl viperflow createlogicalport id="lp-$s-$p" logicalnetwork=n1 subnet=s1 \
      mac_address="$(printf '02:00:00:00:%02x:%02x' "$s" "$p")" ip_address="10.1.$s.$p" || exit 1
  done
done
sb_wait 30 all_leases || { echo "vlcpd published $(leases) leases, not $((nsw * 2))"; exit 1; }
stop_vlcpd

echo "== DHCP DISCOVER -> OFFER through the workers: $nsw emulated switches, $window DISCOVERs in flight each, ${secs} s, $runs rounds"
echo "machine: $(nproc) CPUs, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1)"
declare -A rate p50 p99
for r in $(seq "$runs"); do
  order="1 2"
  [ $((r % 2)) = 0 ] && order="2 1"
  for w in $order; do
    start_vlcpd "$w"
    sb_wait 30 all_leases || { echo "leases not published ($w workers)"; exit 1; }
    out=$("$swarm" 127.0.0.1 "$of_port" "$nsw" "$window" "$secs" dhcp) || { echo "ofp_swarm failed: $out"; exit 1; }
    sleep 1.5  # (vlcpd publishes its metrics once a second)
    metrics=$(curl -sf "http://127.0.0.1:$metrics_port/metrics")
    offers=$(echo "$metrics" | sed -n 's/^vlcp_dhcp_replies_total{type="offer"} \(.*\)$/\1/p')
    sides=$(echo "$metrics" | grep -E '^vlcp_packet_in_handled_total\{.*dhcp' | tr '\n' ' ')
    load=$(cut -d' ' -f1-3 /proc/loadavg)
    stop_vlcpd
    rate[$w]+="$(echo "$out" | kv responses_per_s) "
    p50[$w]+="$(echo "$out" | kv p50_us) "
    p99[$w]+="$(echo "$out" | kv p99_us) "
    echo "round $r, $w worker(s): $out (vlcpd counted $offers offers; $sides; load $load)"
  done
done
for w in 1 2; do
  echo "median, $w worker(s): $(printf '%s\n' ${rate[$w]} | median) OFFERs/s, p50 $(printf '%s\n' ${p50[$w]} | median) us, p99 $(printf '%s\n' ${p99[$w]} | median) us"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
