#!/usr/bin/env bash
# `make demo`: two simulated servers, each an Open vSwitch (userspace datapath) in its own
# network namespace with a vlcpd beside it, joined by an underlay; the network model in one
# ObjectDB both share (a one-member ZooKeeper: the embedded store is one node's, and these are
# two). The operator's view: vlcpctl creates a VXLAN network, a subnet and three ports; hosts
# (namespaces) plug in with the ports' iface-ids; they ping and run TCP across servers; the
# flows are shown per table by name, then a few metrics. Everything is removed at the end.
# Usage: demo.sh BUILD_DIR
set -u
build=$(cd "${1:-build/release}" && pwd)
vlcpd=$build/src/vlcpd
vlcpctl=$build/src/vlcpctl
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"

step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
show() {
  printf '$ %s\n' "$*"
  "$@"
}
die() {
  echo "demo: $*" >&2
  exit 1
}
sb_init || exit 1
trap sb_down EXIT

step "Two servers (OVS in namespaces), an underlay for VXLAN, ZooKeeper for the shared model"
sb_zk_start 1 || die "ZooKeeper did not start"
for n in 1 2; do
  sb_ovs_start "hv$n" || die "OVS hv$n did not start"
  sb_vsctl "hv$n" set Open_vSwitch . "external_ids:system-id=server$n"
  sb_mgmt_attach "hv$n" $((10 + n))
done
sb_underlay hv1 192.168.99.1/24 hv2 192.168.99.2/24 || die "no underlay"
for n in 1 2; do
  sb_bridge "hv$n" br-int "000000000000000$n" && sb_vxlan_port "hv$n" br-int vxlan0 flow || die "bridge hv$n"
  sb_vlcpd_server_conf "$SB_DIR/hv$n.conf" "hv$n"
  VLCP_VLCPD=$vlcpd sb_vlcpd_start "hv$n" "$SB_DIR/hv$n.conf" "hv$n"
done
ctl() {
  local hv=$1
  shift
  printf '[server%s]$ vlcpctl %s\n' "${hv#hv}" "$*"
  sb_exec "$hv" "$vlcpctl" --api http://127.0.0.1:8081 "$@"
}
ready() { sb_exec "$1" "$vlcpctl" --api http://127.0.0.1:8081 call viperflow listphysicalnetworks >/dev/null 2>&1; }
for n in 1 2; do sb_wait 60 ready "hv$n" || die "vlcpd on server$n did not come up ($(tail -3 "$SB_DIR/vlcpd-hv$n.log"))"; done
echo "vlcpd runs on both servers (logs in $SB_DIR/vlcpd-hv*.log)"

step "The network, through vlcpctl (on server1; server2 sees it through ObjectDB)"
ctl hv1 physicalnetwork create --id vxlan --type vxlan --vnirange '[[10000,10999]]' || die "physical network"
ctl hv1 physicalport create --name vxlan0 --network vxlan || die "physical port (the tunnel)"
ctl hv1 logicalnetwork create --id blue --network vxlan || die "logical network"
ctl hv1 subnet create --id blue-sub --network blue --cidr 10.10.0.0/24 || die "subnet"
for p in "web 02:00:00:0a:00:01" "db 02:00:00:0a:00:02" "cache 02:00:00:0a:00:03"; do
  set -- $p
  ctl hv1 logicalport create --id "$1" --network blue --subnet blue-sub --mac "$2" >/dev/null || die "port $1"
done
ctl hv2 logicalport list

step "Hosts plug in: web and cache on server1, db on server2 (external_ids:iface-id = the port's id)"
addr() { sb_exec hv1 "$vlcpctl" --api http://127.0.0.1:8081 --json logicalport list --id "$1" |
  python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["ip_address"])'; }
# (MTU 1450: VXLAN adds 50 bytes and the underlay carries 1500)
sb_host web hv1 br-int "$(addr web)/24" mac=02:00:00:0a:00:01 iface_id=web mtu=1450 || die "host web"
sb_host cache hv1 br-int "$(addr cache)/24" mac=02:00:00:0a:00:03 iface_id=cache mtu=1450 || die "host cache"
sb_host db hv2 br-int "$(addr db)/24" mac=02:00:00:0a:00:02 iface_id=db mtu=1450 || die "host db"
synced() {
  sb_exec "$1" curl -sf http://127.0.0.1:8081/ioprocessing/status |
    python3 -c 'import json,sys; s=json.load(sys.stdin)["result"]["switches"]; sys.exit(0 if any(x["connected"] for x in s) and all(x["synced"] for x in s if x["connected"]) else 1)'
}
sb_wait 30 synced hv1 && sb_wait 30 synced hv2 ||
  die "the switches did not get their flows: $(sb_exec hv1 curl -s http://127.0.0.1:8081/ioprocessing/status)"

step "Traffic: same server, and across servers over VXLAN"
show sb_exec web ping -c 3 -i 0.2 "$(addr cache)" || die "web -> cache"
show sb_exec web ping -c 3 -i 0.2 "$(addr db)" || die "web -> db"
sb_exec db iperf3 -s -1 -D --logfile "$SB_DIR/iperf-server.log" >/dev/null 2>&1
sleep 0.5
show sb_exec web iperf3 -c "$(addr db)" -t 3 -f m || die "TCP web -> db"

step "server1's flows, per table by name (vlcpctl dump-flows --names)"
printf '[server1]$ vlcpctl dump-flows unix:%s --names --no-stats\n' "$(sb_ovs_dir hv1)/run/br-int.mgmt"
sb_exec hv1 "$vlcpctl" dump-flows "unix:$(sb_ovs_dir hv1)/run/br-int.mgmt" --names --no-stats --api http://127.0.0.1:8081
echo
sb_exec hv1 "$vlcpctl" --api http://127.0.0.1:8081 call ioprocessing status | python3 -c '
import json, sys
d = json.load(sys.stdin)
for s in (s for s in d["switches"] if s["connected"]):
    print("switch %s: %d logical ports, %d flows and %d groups installed, %d FLOW_MODs sent, in sync: %s"
          % (s["bridge"], s["logical_ports"], s["installed_flows"], s["installed_groups"], s["flow_mods"], s["synced"]))'

step "A few metrics (server1's /metrics)"
sb_exec hv1 curl -s http://127.0.0.1:9464/metrics | grep -E '^vlcp_(switch_connected|flow_owner_flows|flow_owner_flow_mods_total|flow_owner_in_sync|flow_owner_last_reconcile|app_changes_total|app_flows_installed|objectdb_transactions_total|objectdb_store_connected|api_requests_total)' | head -24

step "Done: everything the demo started is being removed"
