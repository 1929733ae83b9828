#!/usr/bin/env bash
# Interest-based sync on real servers (issue 20, docs/SCALE_DESIGN.md): two simulated servers
# (OVS + vlcpd each, one ObjectDB on ZooKeeper with the targeted feed) and four networks — na
# with a host on each server, nb and nc routed to na by r1 (hosts on hv2 only), nd with a host on
# hv2 and 30 more ports. hv1 hosts only na's port: it holds na and its router neighbours nb and
# nc (routed pings work), never nd, and hears nothing of nd's churn (no ZooKeeper notification
# for 20 ports created and deleted there, while hv2 hears them). A host of nd bound on hv1 widens
# its interest (nd's members and locations read, then the flows: the ping works); unbound, hv1
# lets nd go after the linger (its mirror shrinks back).
. "$(dirname "$0")/../lib/system.sh"
. "$(dirname "$0")/../lib/l3_servers.sh"

l3_servers_up
l3_conf hv1 "module.ioprocessing.interestlinger = 1"
l3_conf hv2 "module.ioprocessing.interestlinger = 1"
l3_start_vlcpd

model() {
  l3_three_networks "a1 na sa 02:00:00:0a:00:0b 10.1.0.11" "a2 na sa 02:00:00:0a:00:0c 10.1.0.12" \
    "b2 nb sb 02:00:00:0b:00:0c 10.2.0.12" "c2 nc sc 02:00:00:0c:00:0c 10.3.0.12" || return 1
  ctl hv1 call viperflow createlogicalnetwork id=nd physicalnetwork=vx >/dev/null &&
    ctl hv1 call viperflow createsubnet id=sd logicalnetwork=nd cidr=10.4.0.0/24 gateway=10.4.0.1 >/dev/null ||
    return 1
  local i
  for i in $(seq 20 49); do
    ctl hv1 call viperflow createlogicalport id="d$i" logicalnetwork=nd subnet=sd \
      mac_address="02:00:00:0d:00:$i" ip_address="10.4.0.$i" >/dev/null || return 1
  done
  for i in 1 2; do
    ctl hv1 call viperflow createlogicalport id="dh$i" logicalnetwork=nd subnet=sd \
      mac_address="02:00:00:0d:01:0$i" ip_address="10.4.0.20$i" >/dev/null || return 1
  done
}
check "four networks (nd: 32 ports), a router on na, nb, nc, through the API" model
check "hosts: a1 on hv1; a2, b2, c2, dh2 on hv2" l3_host a1 hv1 10.1.0.11 02:00:00:0a:00:0b a1 10.1.0.1 &&
  l3_host a2 hv2 10.1.0.12 02:00:00:0a:00:0c a2 10.1.0.1 &&
  l3_host b2 hv2 10.2.0.12 02:00:00:0b:00:0c b2 10.2.0.1 &&
  l3_host c2 hv2 10.3.0.12 02:00:00:0c:00:0c c2 10.3.0.1 &&
  l3_host dh2 hv2 10.4.0.202 02:00:00:0d:01:02 dh2 10.4.0.1
check "both switches in sync" sb_wait 30 synced hv1 && sb_wait 30 synced hv2
check "a1 -> a2 across servers (its own network)" sb_wait 10 sb_ping a1 10.1.0.12 1
check "a1 -> b2 routed (a neighbour network over VXLAN)" sb_wait 10 sb_ping a1 10.2.0.12 1
check "a1 -> c2 routed (a neighbour network over VLAN)" sb_wait 10 sb_ping a1 10.3.0.12 1

metric() {  # metric SERVER NAME: the value of an unlabelled metric on its /metrics
  sb_exec "$1" curl -sf --max-time 5 http://127.0.0.1:9464/metrics | awk -v n="$2" '$1 == n {print int($2)}'
}
st() {  # st SERVER EXPR: a Python expression on ioprocessing/status `d` (its model_interest: `i`)
  api "$1" /ioprocessing/status | python3 -c "
import json, sys
d = json.load(sys.stdin)['result']
i = d.get('model_interest', {})
print($2)"
}
wanted() { [ "$(st "$1" "i.get('networks_wanted')")" = "$2" ]; }
held_d() { [ "$(st "$1" "sum(1 for p in d.get('logical_port_ids', []) if p.startswith('d'))")" = "$2" ]; }
check_output "hv1 follows by interest" "interest" st hv1 "d.get('model_sync')"
check "hv1 wants na and its router neighbours nb, nc: 3 networks (not nd)" wanted hv1 3
check "hv2 wants all four" wanted hv2 4
check "hv1 holds none of nd's 32 ports" held_d hv1 0
check "hv2 holds all of them" held_d hv2 32
sb_wait 5 test -n "$(metric hv1 vlcp_objectdb_mirrored_keys)"
narrow=$(metric hv1 vlcp_objectdb_mirrored_keys)
wide=$(metric hv2 vlcp_objectdb_mirrored_keys)
check "hv1 mirrors fewer keys than hv2 ($narrow < $wide - 90)" test "$narrow" -lt $((wide - 90))

# Churn in nd: hv2 follows nd and hears it; hv1 hears nothing. (The first deletes also create
# the parents of classes no port had written yet — Docker's and CNI's port info, read absent by
# the delete's cascade: a one-off notification to every node listing parents. So a first round,
# then the round measured.)
churn() {  # churn FIRST LAST: ports d<FIRST>..d<LAST> of nd created and deleted through the API
  local i
  for i in $(seq "$1" "$2"); do
    ctl hv1 call viperflow createlogicalport id="d$i" logicalnetwork=nd subnet=sd \
      mac_address="02:00:00:0d:00:$i" ip_address="10.4.0.$i" >/dev/null &&
      ctl hv1 call viperflow deletelogicalport id="d$i" >/dev/null || return 1
  done
}
check "10 ports of nd created and deleted through the API" churn 60 69
sleep 2
before1=$(metric hv1 vlcp_zookeeper_watch_events_total)
before2=$(metric hv2 vlcp_zookeeper_watch_events_total)
check "20 more" churn 70 89
sleep 2
after1=$(metric hv1 vlcp_zookeeper_watch_events_total)
after2=$(metric hv2 vlcp_zookeeper_watch_events_total)
check "hv1 got no ZooKeeper notification for them ($before1 -> $after1)" test "$after1" -eq "$before1"
check "hv2 heard them ($before2 -> $after2, >= 20)" test "$after2" -ge $((before2 + 20))

# A host of nd bound on hv1: its interest widens, then its flows come (never partial ones).
check "dh1 bound on hv1 (nd)" l3_host dh1 hv1 10.4.0.201 02:00:00:0d:01:01 dh1 10.4.0.1
check "hv1's interest widens to nd (4 networks)" sb_wait 10 wanted hv1 4
check "hv1 holds nd's 32 ports now" sb_wait 10 held_d hv1 32
check "dh1 -> dh2 across servers" sb_wait 10 sb_ping dh1 10.4.0.202 1
check_fails "  nd has no router interface: dh1 cannot reach a1" sb_ping dh1 10.1.0.11 1

# Unbound: after the linger (1 s) hv1 lets nd go.
sb_host_del dh1 hv1
gone() { wanted hv1 3 && [ "$(st hv1 "i.get('networks_lingering')")" = 0 ]; }
check "dh1 unbound: hv1 lets nd go after the linger" sb_wait 15 gone
check "  and holds none of its ports" held_d hv1 0
shrunk() { [ "$(metric hv1 vlcp_objectdb_mirrored_keys)" -le $((narrow + 2)) ]; }
check "  its mirror is back to its size before ($narrow)" sb_wait 10 shrunk
check "a1 -> a2 and a1 -> b2 still work" sb_ping a1 10.1.0.12 2 && sb_ping a1 10.2.0.12 2
finish
