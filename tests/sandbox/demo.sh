#!/usr/bin/env bash
# `make demo`: two simulated servers, each an Open vSwitch (userspace datapath) in its own
# network namespace with a vlcpd beside it, joined by an underlay; the network model in one
# ObjectDB both share (a one-member ZooKeeper: the embedded store is one node's, and these are
# two). The operator's view: vlcpctl creates a VXLAN network, a subnet and three ports; hosts
# (namespaces) plug in with the ports' iface-ids; they ping and run TCP across servers; then a
# second network joined by a router, where a host gets its address by DHCP and is reached by a
# routed ping from the other server; the flows are shown per table by name, then a few metrics.
# Everything is removed at the end.
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
  sb_vlcpd_server_conf "$SB_DIR/hv$n.conf" "hv$n" "module.openflowmanager.apps = ['ioprocessing', \
'l2switch', 'vxlancast', 'arpresponder', 'dhcpserver', 'icmpresponder', 'l3router']"
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
ctl hv1 subnet create --id blue-sub --network blue --cidr 10.10.0.0/24 --gateway 10.10.0.1 || die "subnet"
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
sb_exec web ip route add default via 10.10.0.1  # (the router, later in the demo)
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

step "Routing and DHCP: a second network, a router joining both, a host configured by DHCP"
ctl hv1 logicalnetwork create --id green --network vxlan >/dev/null || die "logical network green"
ctl hv1 subnet create --id green-sub --network green --cidr 10.20.0.0/24 --gateway 10.20.0.1 --mtu 1450 \
  --dns_nameservers '["10.20.0.53"]' --host_routes '[["10.99.0.0/16", "10.20.0.1"]]' || die "subnet green-sub"
ctl hv1 logicalport create --id app --network green --subnet green-sub --mac 02:00:00:14:00:01 || die "port app"
ctl hv1 router create --id r1 || die "router"
for s in blue-sub green-sub; do ctl hv1 router add-interface r1 --subnet "$s" >/dev/null || die "interface on $s"; done
ctl hv1 router interfaces r1
# The host starts with no address; dhclient (with a script of the demo's own that only configures
# eth0: the machine's resolv.conf stays as it is) asks vlcpd's DHCP server.
sb_host app hv2 br-int 169.254.0.2/32 mac=02:00:00:14:00:01 iface_id=app || die "host app"
sb_exec app ip addr flush dev eth0
cat >"$SB_DIR/dhclient-script" <<'SCRIPT'
#!/bin/sh
case "$reason" in
BOUND|RENEW|REBIND|REBOOT)
  ip link set "$interface" mtu "${new_interface_mtu:-1500}"
  ip addr replace "$new_ip_address/$new_subnet_mask" dev "$interface"
  for r in $new_routers; do ip route replace default via "$r" dev "$interface"; break; done ;;
esac
exit 0
SCRIPT
chmod +x "$SB_DIR/dhclient-script"
sb_wait 30 synced hv2 || die "server2 did not program the new port"
printf '[app]$ dhclient -1 eth0\n'
sb_exec app timeout 20 dhclient -1 -q -lf "$SB_DIR/app.leases" -pf "$SB_DIR/app-dhclient.pid" \
  -sf "$SB_DIR/dhclient-script" eth0 || die "no DHCP lease"
sb_exec app sh -c 'kill "$(cat "$0")"' "$SB_DIR/app-dhclient.pid" 2>/dev/null
show sb_exec app ip -4 addr show dev eth0
show sb_exec app ip route
show sb_exec web ping -c 3 -i 0.2 "$(addr app)" || die "routed web -> app"
echo "(ttl 63: one router hop, on server1 where web is: routing happens on the sender's server)"

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
echo "(server2: its DHCP server and router)"
sb_exec hv2 curl -s http://127.0.0.1:9464/metrics | grep -E '^vlcp_(dhcp|l3)_' | grep -v ' 0$' | head -12

step "Done: everything the demo started is being removed"
