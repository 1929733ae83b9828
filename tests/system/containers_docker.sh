#!/usr/bin/env bash
# The Docker plugin for real (docs/CONTAINERS_DESIGN.md §2, §3): a dockerd and a userspace OVS in
# one simulated server's namespace, vlcpd beside them with the dockerplugin module on the socket
# that dockerd's plugin spec names. `docker network create -d vlcp --ipam-driver vlcp`, two
# containers ping each other and talk TCP (busybox httpd/wget: TX checksum offload is off on the
# veths), --ip is honoured and refused when taken, the address is free again after rm -f,
# `network rm` cleans the model; then nothing is left: no vlcp veth, no OVSDB row with a
# vlcp-owner, no docker-* object in the model.
. "$(dirname "$0")/../lib/system.sh"

[ -x "$SB_DOCKERD" ] || { fail "$SB_DOCKERD missing (package docker.io)"; finish; exit; }
[ -x /bin/busybox ] || { fail "/bin/busybox missing (package busybox-static)"; finish; exit; }
: "${VLCP_VLCPD:?set VLCP_VLCPD}"

sock=$SB_DIR/hv1-docker.sock
api() { sb_exec hv1 curl -sf --max-time 10 "http://127.0.0.1:8081$1"; }
post() { sb_exec hv1 curl -sf --max-time 10 -X POST -d "$2" "http://127.0.0.1:8081$1"; }
d() { sb_docker hv1 "$@"; }
ip_of() { d inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
# Python over a WebAPI answer's result: pyres PATH EXPR (r is the result).
pyres() {
  api "$1" | python3 -c "import json, sys; r = json.load(sys.stdin)['result']; print($2)"
}

check "OVS with bridge dockerbr0, vlcpd's configuration" \
  sb_docker_plugin_server hv1 "module.dockerplugin.ipcommand = 'ip'" || { finish; exit 1; }
sb_vlcpd_start hv1 "$SB_DIR/hv1.conf" hv1
check "vlcpd binds the plugin socket once OVSDB and the bridge are there" sb_wait 30 test -S "$sock"
check "VLCP's ipcommand is accepted and warned about" sb_wait 5 grep -q "ipcommand is VLCP's and is ignored" \
  "$SB_DIR/vlcpd-hv1.log"
check_output "the socket answers Plugin.Activate" '"Implements":["NetworkDriver","IpamDriver"]' \
  curl -sf --max-time 5 --unix-socket "$sock" -X POST -d '{}' http://plugin/Plugin.Activate
check_output "dockerplugin/status says it listens" "True" pyres /dockerplugin/status "r['listening']"
check "the physical network" post /viperflow/createphysicalnetwork \
  '{"id": "vx", "type": "vxlan", "vnirange": [[10000, 10100]]}'

check "dockerd in hv1" sb_dockerd_start hv1 hv1 || { finish; exit 1; }
check "the busybox image" sb_docker_image hv1
check "docker network create -d vlcp --ipam-driver vlcp" d network create -d vlcp --ipam-driver vlcp \
  -o physicalnetwork=vx -o mtu=1450 --subnet 10.1.0.0/24 --gateway 10.1.0.1 blue
nid=$(d network inspect -f '{{.Id}}' blue)
check_output "the logical network docker-<NID>-lognet exists, with its MTU" "1450" \
  pyres "/viperflow/listlogicalnetworks?id=docker-$nid-lognet" "r[0]['mtu']"
check_output "and its subnet" "10.1.0.0/24 10.1.0.1" \
  pyres "/viperflow/listsubnets?id=docker-$nid-subnet" "r[0]['cidr'] + ' ' + r[0]['gateway']"

check "a container with --ip 10.1.0.7" d run -d --name c1 --network blue --ip 10.1.0.7 "$SB_DOCKER_IMAGE" sleep 600
check "a container with an address from the pool" d run -d --name c2 --network blue "$SB_DOCKER_IMAGE" sleep 600
check_output "c1 has 10.1.0.7" "10.1.0.7" ip_of c1
ip2=$(ip_of c2)
check "c2 has an address in 10.1.0.0/24" bash -c "[[ '$ip2' == 10.1.0.* ]]"
check_output "c1's eth0 has the MTU of the network" "mtu 1450" d exec c1 ip -o link show eth0
mac1=$(d exec c1 cat /sys/class/net/eth0/address)
check_output "the model's port has c1's MAC" "$mac1" \
  pyres "/viperflow/listlogicalports?ip_address=10.1.0.7" "r[0]['mac_address']"
check "c1 pings c2" sb_wait 15 d exec c1 ping -c 1 -W 1 "$ip2"
check "c2 pings c1 (3 of 3)" d exec c2 ping -c 3 -W 2 10.1.0.7
# TCP: busybox httpd in c2, a small and a 200 KiB file fetched from c1 (a wrong TX checksum on
# the veths would drop these segments, not the pings).
check "c2 serves HTTP (busybox httpd)" d exec c2 sh -c \
  'mkdir -p /www && echo hello-vlcp >/www/index.html && head -c 204800 /dev/zero | tr "\0" x >/www/big && httpd -p 8080 -h /www'
get() { d exec c1 sh -c "printf 'GET /$1 HTTP/1.0\r\n\r\n' | nc -w 5 $ip2 8080"; }
check_output "c1 fetches a page from c2 over TCP" "hello-vlcp" sb_wait_output 10 get index.html hello-vlcp
body_size() { get "$1" | sed '1,/^\r$/d' | wc -c; }
check_output "and 200 KiB of it, whole" "204800" body_size big
owned() { sb_vsctl hv1 --bare --columns=external_ids list Interface | grep -o 'vlcp-owner="*docker:' | wc -l; }
check "two OVS interfaces with the vlcp owner" test "$(owned)" -eq 2
eid1=$(d inspect -f '{{range .NetworkSettings.Networks}}{{.EndpointID}}{{end}}' c1)
check_output "getdockerinfo names c1's endpoint" "$eid1" \
  pyres "/dockerplugin/getdockerinfo?portid=docker-$eid1" "r[0]['endpoint']"

out=$(d run -d --name c3 --network blue --ip 10.1.0.7 "$SB_DOCKER_IMAGE" sleep 600 2>&1)
check "--ip 10.1.0.7 again is refused" test $? -ne 0
check "  saying the address is in use" grep -q "in use" <<<"$out"
d rm -f c3 >/dev/null 2>&1
check "rm -f c1" d rm -f c1
check "the address is free again: a new container takes 10.1.0.7" \
  d run -d --name c4 --network blue --ip 10.1.0.7 "$SB_DOCKER_IMAGE" sleep 600
check "c4 pings c2" sb_wait 15 d exec c4 ping -c 1 -W 1 "$ip2"
check "rm -f c2 c4" d rm -f c2 c4
check "network rm blue" d network rm blue
check_output "no docker-* logical network left" "0" \
  pyres /viperflow/listlogicalnetworks "len([n for n in r if n['id'].startswith('docker-')])"
check_output "no docker-* logical port left" "0" \
  pyres /viperflow/listlogicalports "len([p for p in r if p['id'].startswith('docker-')])"
check_output "no docker-* subnet left" "0" \
  pyres /viperflow/listsubnets "len([s for s in r if s['id'].startswith('docker-')])"
check "no vlcp veth left in hv1" test -z "$(ip -n "$(sb_ns hv1)" -o link | grep -E ': vlcp[0-9a-f]+c?[@:]')"
check "no OVSDB interface with a vlcp-owner" test "$(owned)" -eq 0
check "no port left on dockerbr0" test -z "$(sb_vsctl hv1 list-ports dockerbr0)"
check_output "requests were answered, none with 500" "0" \
  pyres /dockerplugin/status "sum(x['count'] for x in r['requests'] if x['status'] >= 500)"

sb_dockerd_stop hv1
finish
