#!/usr/bin/env bash
# The DHCP server app end to end on one simulated server: vlcpd with the full L3 pipeline (its
# DHCP handler on a worker lcore), a network whose subnet has a gateway, DNS, MTU 1400 and host
# routes, and namespace hosts configured by the real ISC dhclient (Debian's dhclient-script and
# its RFC 3442 hook). The bound port gets exactly its model address, prefix, default gateway,
# MTU and classless routes; a second run (INIT-REBOOT from the lease file) keeps the address; a
# port on a subnet with DHCP disabled gets no answer (its DHCP is not punted at all); /metrics
# counts the replies and the worker handler's runs. With ZooKeeper down, h1's renewals (every
# few seconds: T1 = 3 s) are still acknowledged from the lease table the workers hold. Prints the
# lease time (dhclient start -> address configured).
vlcpctl=${VLCP_VLCPCTL:?set VLCP_VLCPCTL}
. "$(dirname "$0")/../lib/system.sh"
DHCLIENT=${DHCLIENT:-/usr/sbin/dhclient}
[ -x "$DHCLIENT" ] || { fail "no dhclient at $DHCLIENT (isc-dhcp-client)"; finish; exit 1; }

setup() {
  sb_zk_start 1 && sb_ovs_start hv1 && sb_vsctl hv1 set Open_vSwitch . external_ids:system-id=hv1 &&
    sb_mgmt_attach hv1 11 && sb_bridge hv1 br-int 0000000000000001
}
check "ZooKeeper, one server" setup || { finish; exit 1; }
# Renewal time T1 = 3 s (the subnet's lease is 60 s, the least the model takes): dhclient renews
# all along.
sb_vlcpd_server_conf "$SB_DIR/hv1.conf" hv1 "server.loglevel = 'info'" \
  "module.openflowmanager.apps = ['ioprocessing','l2switch','vxlancast','arpresponder','dhcpserver','icmpresponder','l3router']" \
  "module.dhcpserver.t1 = 3" "module.sched.workers = 1" "module.sched.memory_mb = 32"
api() { sb_exec hv1 curl -sf --max-time 5 "http://127.0.0.1:8081$1"; }
ctl() { sb_exec hv1 "$vlcpctl" --api http://127.0.0.1:8081 "$@"; }
metrics() { sb_exec hv1 curl -sf --max-time 5 http://127.0.0.1:9464/metrics; }
synced() {
  [ "$(api /ioprocessing/status | python3 -c "
import json, sys
s = json.load(sys.stdin)['result']['switches']
print(bool(s) and s[0].get('attached') and s[0].get('synced'))")" = True ]
}
sb_vlcpd_start hv1 "$SB_DIR/hv1.conf" hv1
check "vlcpd serves its API" sb_wait 30 api /manager/modules
db_up() { ctl call viperflow listphysicalnetworks >/dev/null 2>&1; }
check "  and reaches ZooKeeper" sb_wait 30 db_up

model() {
  ctl call viperflow createphysicalnetwork id=pl type=local >/dev/null &&
    ctl call viperflow createlogicalnetwork id=n1 physicalnetwork=pl >/dev/null &&
    ctl call viperflow createsubnet id=s1 logicalnetwork=n1 cidr=10.1.0.0/24 gateway=10.1.0.1 \
      'dns_nameservers=["10.1.0.53"]' domain_name=dhcp.example mtu=1400 lease_time=60 \
      'host_routes=[["192.168.50.0/24","10.1.0.254"]]' >/dev/null &&
    ctl call viperflow createsubnet id=s2 logicalnetwork=n1 cidr=10.2.0.0/24 gateway=10.2.0.1 \
      dhcp_enabled=false >/dev/null &&
    ctl call viperflow createlogicalport id=p1 logicalnetwork=n1 subnet=s1 mac_address=02:00:00:00:d0:01 \
      ip_address=10.1.0.10 >/dev/null &&
    ctl call viperflow createlogicalport id=p2 logicalnetwork=n1 subnet=s2 mac_address=02:00:00:00:d0:02 \
      ip_address=10.2.0.10 >/dev/null &&
    # (s1's gateway on a router: its unicast renewals go through the gateway, which the ARP
    # responder answers for only as a router interface; without one they wait for T2's broadcast)
    ctl call vrouterapi createvirtualrouter id=r1 >/dev/null &&
    ctl call vrouterapi addrouterinterface router=r1 subnet=s1 >/dev/null
}
check "a network, a subnet with DHCP, one without, two ports, a router on s1 (vlcpctl)" model

# Hosts with no address (sb_host gives one: flushed).
host() {
  sb_host "$1" hv1 br-int 192.0.2.1/32 mac="$2" iface_id="$3" && sb_exec "$1" ip addr flush dev eth0
}
check "hosts h1 (p1) and h2 (p2) bound, without addresses" host h1 02:00:00:00:d0:01 p1
host h2 02:00:00:00:d0:02 p2
check "the switch is reconciled" sb_wait 30 synced

# dhclient HOST TIMEOUT: the real client, once (-1), with its own lease and pid files and a
# config of its own. It runs in a private mount namespace where /etc/resolv.conf and the hook
# directories are the test's files, so dhclient-script touches nothing of the machine's (RFC
# 3442 routes come from Debian's exit hook, copied in). On success dhclient stays in the
# background holding the lease: its pid is recorded for teardown.
dhclient_run() {
  local h=$1 timeout=$2 d=$SB_DIR/dhclient-$1
  mkdir -p "$d/exit-hooks" "$d/enter-hooks"
  cp /etc/dhcp/dhclient-exit-hooks.d/rfc3442-classless-routes "$d/exit-hooks/"
  [ -f "$d/resolv.conf" ] || : >"$d/resolv.conf"
  cat >"$d/dhclient.conf" <<EOF
option rfc3442-classless-static-routes code 121 = array of unsigned integer 8;
timeout $timeout;
initial-interval 1;
request subnet-mask, broadcast-address, routers, domain-name, domain-name-servers, interface-mtu,
  rfc3442-classless-static-routes, ntp-servers;
EOF
  sb_dhclient "$h" "$d"
  local rc=$?
  [ -s "$d/pid" ] && [ -e "/proc/$(cat "$d/pid")" ] && sb_record pid "$(cat "$d/pid")" "dhclient:$h"
  return $rc
}
dhclient_stop() {  # stops the client without releasing (the address stays configured)
  local d=$SB_DIR/dhclient-$1
  [ -s "$d/pid" ] && sb_stop_pid "$(cat "$d/pid")"
  rm -f "$d/pid"
}

t0=$(date +%s%N)
check "dhclient on h1 gets a lease" dhclient_run h1 10
t1=$(date +%s%N)
lease_ms=$(((t1 - t0) / 1000000))
echo "lease time (dhclient start -> address configured) for p1: ${lease_ms} ms"
check_output "  exactly p1's model address and prefix (10.1.0.10/24)" "inet 10.1.0.10/24" \
  sb_exec h1 ip -4 addr show dev eth0
check_output "  the default route through the subnet's gateway" "default via 10.1.0.1" sb_exec h1 ip -4 route
check_output "  the subnet's host route (option 121)" "192.168.50.0/24 via 10.1.0.254" sb_exec h1 ip -4 route
check_output "  MTU 1400 (option 26)" "mtu 1400" sb_exec h1 ip link show dev eth0
check_output "  the subnet's DNS server and domain" "nameserver 10.1.0.53" cat "$SB_DIR/dhclient-h1/resolv.conf"
check_output "  the server identified itself as 169.254.169.254" "169.254.169.254" \
  grep dhcp-server-identifier "$SB_DIR/dhclient-h1/leases"
only_one() { [ "$(sb_exec h1 ip -4 -o addr show dev eth0 | wc -l)" -eq 1 ]; }
check "  and no other address" only_one

# The DHCP of p2 (subnet with DHCP disabled) is not punted: no answer, a short timeout.
mgmt() { echo "unix:$(sb_ovs_dir hv1)/run/br-int.mgmt"; }
l3input() { ctl dump-flows "$(mgmt)" --names --table l3input --no-stats; }
p1_port=$(sb_ofport hv1 "$(sb_host_port h1)")
p2_port=$(sb_ofport hv1 "$(sb_host_port h2)")
check_output "l3input punts p1's DHCP to the workers (cookie 0x4007...)" "in_port=$p1_port" l3input
check_fails "  and not p2's (DHCP disabled on its subnet)" bash -c '[[ "$1" == *"in_port=$2,"* ]]' _ "$(l3input)" "$p2_port"
check_fails "dhclient on h2 (subnet with DHCP disabled) gets no lease" dhclient_run h2 3
no_addr() { [ -z "$(sb_exec h2 ip -4 -o addr show dev eth0)" ]; }
check "  and has no address" no_addr

# A second run from the lease file, the address gone meanwhile (a reboot): INIT-REBOOT, a
# REQUEST for the address it had, without a DISCOVER; the server acknowledges it.
dhclient_stop h1
sb_exec h1 ip addr flush dev eth0
check "dhclient on h1 again (INIT-REBOOT from its lease file)" dhclient_run h1 10
check_output "  gets 10.1.0.10/24 back" "inet 10.1.0.10/24" sb_exec h1 ip -4 addr show dev eth0
check_output "  acknowledged by the server" "DHCPACK of 10.1.0.10 from 169.254.169.254" cat "$SB_DIR/dhclient-h1/log"
check_fails "  without a DISCOVER" grep -q DHCPDISCOVER "$SB_DIR/dhclient-h1/log"

# /metrics: the replies, and the handler on the worker lcores.
value() { metrics | awk -v m="$1" '$1 == m {print int($2)}'; }
at_least() { local v; v=$(value "$1"); [ -n "$v" ] && [ "$v" -ge "$2" ]; }
check "/metrics: one OFFER" sb_wait 10 at_least 'vlcp_dhcp_replies_total{type="offer"}' 1
check "/metrics: two ACKs (BOUND, then REBOOT)" sb_wait 10 at_least 'vlcp_dhcp_replies_total{type="ack"}' 2
check "/metrics: the handler ran on the workers" \
  sb_wait 10 at_least 'vlcp_packet_in_handled_total{app="dhcpserver",side="workers"}' 3
check "/metrics: one lease published" sb_wait 10 at_least 'vlcp_dhcp_leases' 1
none_dropped() { [ "$(value 'vlcp_dhcp_dropped_total{reason="malformed"}')" = 0 ]; }
check "/metrics: nothing malformed" none_dropped

# ZooKeeper down (killed): renewals of the known lease continue. The workers answer from the lease
# table the app built from the model; nothing asks the store. The renewals are unicast REQUESTs
# to the server address (RENEWING); each ACK makes dhclient-script reset the address's valid_lft
# to the 60 s lease, so after 10 s without ZooKeeper it is still above 55 s only if one came
# within the last few seconds.
acks0=$(value 'vlcp_dhcp_replies_total{type="ack"}')
sb_zk_stop_member 1
check_fails "ZooKeeper down" sb_zk_serving 1
sb_exec h1 timeout 10 tcpdump -l -nn -i eth0 udp port 67 or udp port 68 >"$SB_DIR/renew.txt" 2>/dev/null
check_output "h1 still holds 10.1.0.10/24" "inet 10.1.0.10/24" sb_exec h1 ip -4 addr show dev eth0
valid_lft() { sb_exec h1 ip -4 addr show dev eth0 | sed -n 's/.*valid_lft \([0-9]*\)sec.*/\1/p'; }
fresh() { local v; v=$(valid_lft); [ -n "$v" ] && [ "$v" -gt 55 ]; }
check "  its lifetime renewed meanwhile (valid_lft $(valid_lft) s of 60)" fresh
check_output "  h1 renewed by unicast to the server" "10.1.0.10.68 > 169.254.169.254.67" cat "$SB_DIR/renew.txt"
check_output "  and the server answered" "169.254.169.254.67 > 10.1.0.10.68" cat "$SB_DIR/renew.txt"
check_output "  its lease file holds the same address" "fixed-address 10.1.0.10;" tail -n 20 "$SB_DIR/dhclient-h1/leases"
check "  /metrics: at least two more ACKs while ZooKeeper was down" \
  at_least 'vlcp_dhcp_replies_total{type="ack"}' $((acks0 + 2))
none_nak() { [ "$(value 'vlcp_dhcp_replies_total{type="nak"}')" = 0 ]; }
check "  and no NAK" none_nak
metrics | grep '^vlcp_dhcp_\(replies\|dropped\)_total' | grep -v ' 0$'
dhclient_stop h1
finish
