#!/usr/bin/env bash
# L2 networking end to end on two simulated servers (each an OVS in its own namespace with a
# vlcpd beside it, all sharing one ObjectDB on ZooKeeper): the operator builds networks through
# vlcpctl, hosts in namespaces talk on one server, across servers over VXLAN, and over VLAN
# through a shared "physical" switch; networks are isolated; a port deleted through the API
# loses connectivity and a port moved to the other server regains it. Then the failure
# behaviour: vlcpd stopped -> traffic continues; started again -> no packet lost in a 10 ms
# ping and no FLOW_MOD sent (nothing removed and re-added); ZooKeeper down -> traffic continues
# and API writes fail clearly, then everything resyncs; a bridge absent at start is taken over
# when it appears.
#
# L2_STRATEGY (prepush | learn | controller | firstpacket | vxlanlearn) runs the same checks with
# that strategy (the default: prepush, with VLCP's vxlancast defaults: prepush and learning).
# vxlanlearn (l2switch pre-push, vxlancast learning only) also shows that remote MACs are
# learned from the tunnel into vxlanlearning and stop being flooded; prepush and vxlanlearn show
# that deleting the VXLAN physical port removes its flows on both servers (issue 22).
vlcpctl=${VLCP_VLCPCTL:?set VLCP_VLCPCTL}
. "$(dirname "$0")/../lib/system.sh"
strategy=${L2_STRATEGY:-prepush}

strategy_conf() {
  case "$strategy" in
    prepush) ;;
    learn) printf '%s\n' "module.l2switch.learning = True" "module.vxlancast.prepush = False" \
      "module.vxlancast.learning = True" ;;
    controller) printf '%s\n' "module.l2switch.learning = True" "module.l2switch.nxlearn = False" \
      "module.sched.workers = 1" "module.sched.memory_mb = 32" ;;
    firstpacket) printf '%s\n' "module.vxlancast.prepush = False" "module.vxlancast.learning = False" ;;
    vxlanlearn) printf '%s\n' "module.vxlancast.prepush = False" "module.vxlancast.learning = True" ;;
  esac
}

# --- two servers ----------------------------------------------------------------------------------
setup() {
  sb_zk_start 1 &&
    sb_ovs_start hv1 && sb_ovs_start hv2 &&
    sb_vsctl hv1 set Open_vSwitch . external_ids:system-id=hv1 &&
    sb_vsctl hv2 set Open_vSwitch . external_ids:system-id=hv2 &&
    sb_mgmt_attach hv1 11 && sb_mgmt_attach hv2 12 &&
    sb_underlay hv1 192.168.99.1/24 hv2 192.168.99.2/24 &&
    sb_bridge hv1 br-int 0000000000000001 && sb_vxlan_port hv1 br-int vxlan0 flow
}
check "ZooKeeper, two servers, an underlay" setup || { finish; exit 1; }
sb_physwitch phys
phys1=$(sb_physport hv1 br-int phys)

conf() {  # conf NAME: vlcpd beside OVS instance NAME, on the shared ZooKeeper
  local lines=()
  mapfile -t lines < <(strategy_conf)
  sb_vlcpd_server_conf "$SB_DIR/$1.conf" "$1" "server.loglevel = 'info'" "${lines[@]}"
}
conf hv1
conf hv2
api() { sb_exec "$1" curl -sf --max-time 5 "http://127.0.0.1:8081$2"; }
ctl() {
  local hv=$1
  shift
  sb_exec "$hv" "$vlcpctl" --api http://127.0.0.1:8081 "$@"
}
up() { api "$1" /manager/modules >/dev/null; }
# status HV EXPR: a Python expression on ioprocessing/status's first switch `s` (and `d`).
status() {
  api "$1" /ioprocessing/status | python3 -c "
import json, sys
d = json.load(sys.stdin)['result']
s = d['switches'][0] if d['switches'] else {}
print($2)"
}
synced() { [ "$(status "$1" "s.get('attached') and s.get('synced')")" = True ]; }

sb_vlcpd_start hv1 "$SB_DIR/hv1.conf" hv1
# hv2's bridge does not exist yet: vlcpd serves its API and takes the bridge over later.
sb_vlcpd_start hv2 "$SB_DIR/hv2.conf" hv2
check "vlcpd on hv1 serves its API" sb_wait 30 up hv1
check "vlcpd on hv2 serves its API before its bridge exists" sb_wait 30 up hv2
db_up() { ctl "$1" call viperflow listphysicalnetworks >/dev/null; }
check "both reach ZooKeeper" sb_wait 30 db_up hv1 && sb_wait 30 db_up hv2

# --- the network model, through vlcpctl -------------------------------------------------------
model() {
  ctl hv1 call viperflow createphysicalnetwork id=vx type=vxlan 'vnirange=[[10000,10100]]' >/dev/null &&
    ctl hv1 call viperflow createphysicalnetwork id=pv type=vlan 'vlanrange=[[100,200]]' >/dev/null &&
    ctl hv1 call viperflow createlogicalnetwork id=n1 physicalnetwork=vx >/dev/null &&
    ctl hv1 call viperflow createlogicalnetwork id=n2 physicalnetwork=pv >/dev/null &&
    ctl hv1 call viperflow createsubnet id=s1 logicalnetwork=n1 cidr=10.1.0.0/24 >/dev/null &&
    ctl hv1 call viperflow createsubnet id=s2 logicalnetwork=n2 cidr=10.1.0.0/24 >/dev/null &&
    ctl hv1 call viperflow createphysicalport name="$phys1" physicalnetwork=pv >/dev/null &&
    ctl hv1 call viperflow createphysicalport name=vxlan0 physicalnetwork=vx >/dev/null &&
    for p in "p1 n1 s1 02:00:00:01:00:01 10.1.0.1" "p2 n1 s1 02:00:00:01:00:02 10.1.0.2" \
      "p3 n1 s1 02:00:00:01:00:03 10.1.0.3" "p4 n1 s1 02:00:00:01:00:04 10.1.0.4" \
      "v1 n2 s2 02:00:00:02:00:01 10.1.0.11" "v2 n2 s2 02:00:00:02:00:02 10.1.0.12"; do
      set -- $p
      ctl hv1 call viperflow createlogicalport id="$1" logicalnetwork="$2" subnet="$3" mac_address="$4" \
        ip_address="$5" >/dev/null || return 1
    done
}
check "networks, subnets and ports created through vlcpctl" model

# Hosts: p1, p2, p4 on hv1; p3 on hv2 (created before its server's bridge); VLAN hosts on both.
sb_host vm1 hv1 br-int 10.1.0.1/24 mac=02:00:00:01:00:01 iface_id=p1
sb_host vm2 hv1 br-int 10.1.0.2/24 mac=02:00:00:01:00:02 iface_id=p2
sb_host vm4 hv1 br-int 10.1.0.4/24 mac=02:00:00:01:00:04 iface_id=p4
sb_host vv1 hv1 br-int 10.1.0.11/24 mac=02:00:00:02:00:01 iface_id=v1
check "hv1's switch reconciled and in sync" sb_wait 30 synced hv1
check "same-server ping (vm1 -> vm2)" sb_ping vm1 vm2 3

# hv2's bridge appears now: vlcpd takes it over (controller, fail_mode) and programs it.
hv2_bridge() {
  sb_bridge hv2 br-int 0000000000000002 && sb_vxlan_port hv2 br-int vxlan0 flow &&
    phys2=$(sb_physport hv2 br-int phys) &&
    ctl hv1 call viperflow createphysicalport name="$phys2" physicalnetwork=pv >/dev/null &&
    sb_host vm3 hv2 br-int 10.1.0.3/24 mac=02:00:00:01:00:03 iface_id=p3 &&
    sb_host vv2 hv2 br-int 10.1.0.12/24 mac=02:00:00:02:00:02 iface_id=v2
}
check "hv2's bridge, tunnel, physical port and hosts appear" hv2_bridge
check "vlcpd on hv2 takes the new bridge over" sb_wait 30 synced hv2
check_output "  and made itself its controller" "controller.sock" sb_vsctl hv2 get-controller br-int
check "cross-server ping over VXLAN (vm1 -> vm3)" sb_wait 10 sb_ping vm1 vm3 1
check "  and back (vm3 -> vm2)" sb_ping vm3 vm2 3
check "cross-server ping over VLAN through the shared switch (vv1 -> vv2)" sb_wait 10 sb_ping vv1 vv2 1
# What crossed the shared switch was tagged with n2's VLAN id; what crossed the underlay, VXLAN.
vlan=$(ctl hv1 --json logicalnetwork list | python3 -c "import json,sys; print([n['vlanid'] for n in json.load(sys.stdin) if n['id']=='n2'][0])")
sb_exec phys timeout 5 tcpdump -c 2 -nn -e -i "$(sb_ifname shv1)" icmp >"$SB_DIR/vlan.txt" 2>/dev/null &
capture=$!
sleep 0.5
sb_ping vv1 vv2 2 >/dev/null
wait $capture
check_output "  tagged with n2's VLAN id ($vlan) on the wire" "vlan $vlan" cat "$SB_DIR/vlan.txt"
check_fails "networks are isolated (vm1 -> vv1, same addresses' subnet, other network)" sb_ping vm1 vv1 2
check_output "hv1 names tables in its flows (vlcpctl tables)" "l2output" ctl hv1 tables
# Every metric family once in /metrics (two families of one name break Prometheus's parser).
families_once() {
  local m
  m=$(sb_exec hv1 curl -sf http://127.0.0.1:9464/metrics) && [ -n "$m" ] &&
    [ -z "$(printf '%s\n' "$m" | awk '/^# HELP/ {print $3}' | sort | uniq -d)" ]
}
check "hv1's /metrics names each metric family once" families_once
# The cluster knows where p3 is: hv2 published its location with its tunnel address.
check_output "p3's location (viperflow.logicalportvxlaninfo) names hv2's tunnel address" "192.168.99.2" \
  ctl hv1 db get viperflow.logicalportvxlaninfo.p3

# --- VXLAN learning (l2switch pre-push, vxlancast learning): learnt, then no more flooding ------
mgmt() { echo "unix:$(sb_ovs_dir "$1")/run/br-int.mgmt"; }
table() { ctl "$1" dump-flows "$(mgmt "$1")" --names --table "$2" --no-stats; }
if [ "$strategy" = learn ] || [ "$strategy" = controller ]; then
  # Learning happened (not just flooding): both MACs of the cross-server ping sit in l2learning.
  check_output "hv1 learnt vm3's MAC into l2learning ($strategy)" "dl_dst=02:00:00:01:00:03" table hv1 l2learning
  check_output "hv2 learnt vm1's MAC into l2learning ($strategy)" "dl_dst=02:00:00:01:00:01" table hv2 l2learning
fi
if [ "$strategy" = controller ]; then
  learnt_on_workers() {
    sb_exec hv1 curl -sf http://127.0.0.1:9464/metrics |
      grep -qE '^vlcp_packet_in_handled_total\{app="l2switch learning",side="workers"\} [1-9]'
  }
  check "  hv1's worker lcore ran the L2 app's learning handler (vlcp_packet_in_handled_total)" learnt_on_workers
fi
if [ "$strategy" = vxlanlearn ]; then
  check_output "vxlaninput learns from the tunnel (table by name)" "learn(" table hv1 vxlaninput
  check_output "hv1 learnt vm3's MAC into vxlanlearning" "dl_dst=02:00:00:01:00:03" table hv1 vxlanlearning
  check_output "hv2 learnt vm1's MAC into vxlanlearning" "dl_dst=02:00:00:01:00:01" table hv2 vxlanlearning
  vmtrace() {
    sb_appctl hv1 ofproto/trace br-int \
      "in_port=$(sb_ofport hv1 "$(sb_host_port vm1)"),dl_src=02:00:00:01:00:01,dl_dst=02:00:00:01:00:03"
  }
  check_output "ofproto/trace: vm1 -> vm3's MAC goes to hv2's tunnel address" "dst=192.168.99.2" vmtrace
  check_fails "  and is not flooded (no group)" bash -c '[[ "$1" == *group:* ]]' _ "$(vmtrace)"
  netid=$(ctl hv1 --json db get viperflow.logicnetworkmap.n1 | python3 -c "
import json, sys
print(json.load(sys.stdin)['viperflow.logicnetworkmap.n1']['value']['netid'])")
  check "  n1's flood group id is its netid ($netid)" test "$netid" -gt 0
  flooded() { sb_ofctl hv1 dump-group-stats br-int "group_id=$netid" | grep -o 'packet_count=[0-9]*' | head -1 | cut -d= -f2; }
  sb_ping vm1 vm3 2 >/dev/null
  before=$(flooded)
  sb_exec vm1 ping -q -i 0.05 -c 40 -W 1 10.1.0.3 >/dev/null
  after=$(flooded)
  echo "n1's flood group on hv1: $before -> $after packets across 40 pings to vm3"
  check "  40 pings to the learnt destination are not flooded (group $netid grew by $((after - before)) < 10)" \
    test -n "$before" -a -n "$after" -a $((after - before)) -lt 10
fi

# --- a port deleted through the API loses connectivity; a moved one regains it ----------------
check "vm4 reachable before the move" sb_ping vm1 vm4 2
ctl hv1 call viperflow deletelogicalport id=p2 >/dev/null
unreachable() { ! sb_ping "$1" "$2" 1; }
check "p2 deleted through the API: vm1 -> vm2 fails" sb_wait 10 unreachable vm1 vm2
check_fails "  (and keeps failing)" sb_ping vm1 vm2 2
sb_host_del vm4 hv1
sb_host vm4b hv2 br-int 10.1.0.4/24 mac=02:00:00:01:00:04 iface_id=p4
sb_neigh_flush vm1
check "p4 moved to hv2 (same MAC, address, iface-id): vm1 -> vm4 again" sb_wait 15 sb_ping vm1 vm4b 1
check_output "  its location now names hv2 only" "hv2" ctl hv1 db get viperflow.logicalportvxlaninfo.p4
check_output "  hv1's changes that replaced state went as atomic bundles, none refused" "True 0" \
  status hv1 "s['bundles'] > 0, s['errors']"

# --- the VXLAN physical port deleted: its flows go on both servers; created again: they return --
if [ "$strategy" = prepush ] || [ "$strategy" = vxlanlearn ]; then
  # tunnel_uses HV OFPORT: installer flows and groups that exist because of the tunnel.
  tunnel_uses() {
    local hex
    hex=$(printf '0x%x' "$2")
    { sb_ofctl "$1" dump-flows br-int cookie=0/0x8000000000000000 && sb_ofctl "$1" dump-groups br-int; } |
      grep -cE "tun_id=|tun_dst|in_port=$2([^0-9]|\$)|output:$2([^0-9]|\$)|reg6=$hex([^0-9a-f]|\$)"
  }
  of1=$(sb_ofport hv1 vxlan0)
  of2=$(sb_ofport hv2 vxlan0)
  uses1=$(tunnel_uses hv1 "$of1")
  uses2=$(tunnel_uses hv2 "$of2")
  echo "flows and groups using the tunnel: hv1 $uses1, hv2 $uses2"
  check "both servers have flows for their tunnel" test "$uses1" -gt 0 -a "$uses2" -gt 0
  check_output "deletephysicalport name=vxlan0 answers OK" '"status": "OK"' \
    ctl hv1 --json call viperflow deletephysicalport name=vxlan0
  no_uses() { [ "$(tunnel_uses "$1" "$2")" = 0 ]; }
  check "  hv1 keeps no flow or group that used its tunnel" sb_wait 10 no_uses hv1 "$of1"
  check "  nor does hv2" sb_wait 10 no_uses hv2 "$of2"
  check "  VXLAN traffic stops (vm1 -> vm3)" sb_wait 10 unreachable vm1 vm3
  check "  the VLAN network is untouched (vv1 -> vv2)" sb_ping vv1 vv2 2
  withdrawn() { ! ctl hv1 db get viperflow.logicalportvxlaninfo.p3 | grep -q 192.168.99.2; }
  check "  hv2 withdrew its ports' locations" sb_wait 10 withdrawn
  ctl hv1 call viperflow createphysicalport name=vxlan0 physicalnetwork=vx >/dev/null
  same_uses() { [ "$(tunnel_uses hv1 "$of1")" = "$uses1" ] && [ "$(tunnel_uses hv2 "$of2")" = "$uses2" ]; }
  check "created again: the same flows on both servers" sb_wait 15 same_uses
  sb_neigh_flush vm1 vm3
  check "  and VXLAN traffic flows again (vm1 -> vm3)" sb_wait 15 sb_ping vm1 vm3 1
fi

# --- failure behaviour ---------------------------------------------------------------------------
# vlcpd stopped: the switches keep their flows and traffic flows.
sb_stop_pid "$(sb_vlcpd_pid hv1)"
check "vlcpd on hv1 stopped: traffic continues (vm1 -> vm3, vm1 -> vm2 still cut)" sb_ping vm1 vm3 5
# Started again during a 10 ms ping: not one packet lost, no FLOW_MOD sent.
# The installer's flows (learned ones, with the dynamic cookie bit, come and go with traffic).
flows_now() { sb_ofctl hv1 dump-flows br-int cookie=0/0x8000000000000000 | sed 's/duration=[^,]*, //; s/n_packets=[^,]*, //; s/n_bytes=[^,]*, //; s/idle_age=[^,]*, //' | sort | md5sum; }
flows_before=$(flows_now)
sb_exec vm1 ping -q -i 0.01 -c 500 -W 1 10.1.0.3 >"$SB_DIR/restart-ping.txt" 2>&1 &
pinger=$!
sleep 0.5
sb_vlcpd_start hv1 "$SB_DIR/hv1.conf" hv1
check "vlcpd on hv1 started again and in sync" sb_wait 30 synced hv1
wait $pinger
check_output "  a 10 ms ping across the restart lost no packet" " 0% packet loss" cat "$SB_DIR/restart-ping.txt"
check_output "  the reconcile sent no FLOW_MOD" "0 0" status hv1 "s['last_reconcile_flow_mods'], s['group_mods']"
check_output "  the flows are the ones that were there" "$flows_before" flows_now

# ZooKeeper down: traffic continues, writes fail clearly; back: everything resyncs.
sb_zk_stop_member 1
check "ZooKeeper down: traffic continues (vm1 -> vm3)" sb_ping vm1 vm3 3
check_output "  an API write fails with 503" "503" sb_exec hv1 curl -s -o /dev/null -w '%{http_code}' --max-time 20 \
  "http://127.0.0.1:8081/viperflow/createlogicalport?id=p5&logicalnetwork=n1&subnet=s1&mac_address=02:00:00:01:00:05&ip_address=10.1.0.5"
sb_zk_start_member 1
ctl_ok() { ctl hv1 call viperflow createlogicalport id=p5 logicalnetwork=n1 subnet=s1 mac_address=02:00:00:01:00:05 ip_address=10.1.0.5 >/dev/null; }
check "ZooKeeper back: API writes work again" sb_wait 60 ctl_ok
sb_host vm5 hv2 br-int 10.1.0.5/24 mac=02:00:00:01:00:05 iface_id=p5
check "  a port created after it returned works across servers (vm1 -> vm5)" sb_wait 20 sb_ping vm1 vm5 1
check "  and the old ones still do (vm3 -> vm1)" sb_ping vm3 vm1 2
# --- native and local networks, and what l2input drops (once: they do not depend on strategy) --
if [ "$strategy" = prepush ]; then
  native() {
    local n1 n2
    n1=$(sb_physport hv1 br-int phys n) && n2=$(sb_physport hv2 br-int phys n) &&
      ctl hv1 call viperflow createphysicalnetwork id=pn type=native >/dev/null &&
      ctl hv1 call viperflow createphysicalnetwork id=pl type=local >/dev/null &&
      ctl hv1 call viperflow createlogicalnetwork id=n3 physicalnetwork=pn >/dev/null &&
      ctl hv1 call viperflow createlogicalnetwork id=n4 physicalnetwork=pl >/dev/null &&
      ctl hv1 call viperflow createphysicalport name="$n1" physicalnetwork=pn >/dev/null &&
      ctl hv1 call viperflow createphysicalport name="$n2" physicalnetwork=pn >/dev/null &&
      for p in "w1 n3 02:00:00:03:00:01" "w2 n3 02:00:00:03:00:02" "l1 n4 02:00:00:04:00:01" \
        "l2 n4 02:00:00:04:00:02" "l3 n4 02:00:00:04:00:03"; do
        set -- $p
        ctl hv1 call viperflow createlogicalport id="$1" logicalnetwork="$2" mac_address="$3" >/dev/null || return 1
      done &&
      sb_host w1 hv1 br-int 10.3.0.1/24 mac=02:00:00:03:00:01 iface_id=w1 &&
      sb_host w2 hv2 br-int 10.3.0.2/24 mac=02:00:00:03:00:02 iface_id=w2 &&
      sb_host l1 hv1 br-int 10.4.0.1/24 mac=02:00:00:04:00:01 iface_id=l1 &&
      sb_host l2 hv1 br-int 10.4.0.2/24 mac=02:00:00:04:00:02 iface_id=l2 &&
      sb_host l3 hv2 br-int 10.4.0.3/24 mac=02:00:00:04:00:03 iface_id=l3
  }
  check "a native and a local network, their ports and hosts" native
  check "native network across servers, untagged through the shared switch (w1 -> w2)" sb_wait 15 sb_ping w1 w2 1
  check "local network on one server (l1 -> l2)" sb_wait 15 sb_ping l1 l2 1
  check_fails "local network does not leave its server (l1 -> l3 on hv2)" sb_ping l1 l3 2
  check_fails "VLAN n2's tagged frames do not enter native n3 on the shared switch (vv1 -> w2)" sb_ping vv1 10.3.0.2 2
  trace() { sb_appctl hv1 ofproto/trace br-int "in_port=$(sb_ofport hv1 "$(sb_host_port vm1)"),$1" | tail -1; }
  check_output "l2input drops a frame with a multicast source" "drop" trace "dl_src=01:00:5e:00:00:01,dl_dst=ff:ff:ff:ff:ff:ff"
  check_output "l2input drops 802.1D (STP) frames" "drop" trace "dl_src=02:00:00:01:00:01,dl_dst=01:80:c2:00:00:00"
  check_fails "  while a broadcast from vm1 is flooded" bash -c "[ \"\$1\" = 'Datapath actions: drop' ]" _ \
    "$(trace 'dl_src=02:00:00:01:00:01,dl_dst=ff:ff:ff:ff:ff:ff')"
fi
finish
