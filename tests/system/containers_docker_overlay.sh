#!/usr/bin/env bash
# The Docker plugin on two servers (docs/CONTAINERS_DESIGN.md §2.4): each a namespace with a
# userspace OVS, a dockerd and a vlcpd with the dockerplugin module, the model on one ZooKeeper,
# a VXLAN underlay between them. The network is created on hv1 and attached on hv2 with
# `-o logicalnetwork=docker-<NID>-lognet` (scope local: Docker knows it per server, VLCP once);
# containers on both servers ping and talk TCP across the tunnel; an address taken on one server
# is refused on the other; `network rm` on hv2 keeps the logical network (hv1 made it), on hv1
# removes it; nothing is left on either server.
. "$(dirname "$0")/../lib/system.sh"

[ -x "$SB_DOCKERD" ] || { fail "$SB_DOCKERD missing (package docker.io)"; finish; exit; }
[ -x /bin/busybox ] || { fail "/bin/busybox missing (package busybox-static)"; finish; exit; }
: "${VLCP_VLCPD:?set VLCP_VLCPD}"

api() { sb_exec "$1" curl -sf --max-time 10 "http://127.0.0.1:8081$2"; }
post() { sb_exec "$1" curl -sf --max-time 10 -X POST -d "$3" "http://127.0.0.1:8081$2"; }
pyres() { api "$1" "$2" | python3 -c "import json, sys; r = json.load(sys.stdin)['result']; print($3)"; }
ip_of() { sb_docker "$1" inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$2"; }

check "ZooKeeper, two servers with dockerbr0 and a VXLAN underlay" sb_overlay_servers dockerbr0 || { finish; exit 1; }
for hv in hv1 hv2; do
  sb_vlcpd_server_conf "$SB_DIR/$hv.conf" "$hv" "server.loglevel = 'info'" \
    "module.ovsdbmanager.bridges = ['dockerbr0']" "module.dockerplugin.url = 'unix://$SB_DIR/$hv-docker.sock'" \
    "module.dockerplugin.ovsbridge = 'dockerbr0'" "module.dockerplugin.drivername = 'vlcp'"
  sb_vlcpd_start "$hv" "$SB_DIR/$hv.conf" "$hv"
done
for hv in hv1 hv2; do
  check "$hv: vlcpd binds its plugin socket" sb_wait 30 test -S "$SB_DIR/$hv-docker.sock"
done
phys() {
  post hv1 /viperflow/createphysicalnetwork '{"id": "vx", "type": "vxlan", "vnirange": [[10000, 10100]]}' &&
    post hv1 /viperflow/createphysicalport '{"name": "vxlan0", "physicalnetwork": "vx"}'
}
check "the VXLAN physical network and its port" phys
for hv in hv1 hv2; do
  check "$hv: dockerd" sb_dockerd_start "$hv" "$hv" || { finish; exit 1; }
  check "$hv: the busybox image" sb_docker_image "$hv"
done

check "hv1: docker network create blue" sb_docker hv1 network create -d vlcp --ipam-driver vlcp \
  -o physicalnetwork=vx -o mtu=1450 --subnet 10.1.0.0/24 --gateway 10.1.0.1 blue
nid=$(sb_docker hv1 network inspect -f '{{.Id}}' blue)
check "hv2: the same network attached with -o logicalnetwork=" sb_docker hv2 network create -d vlcp \
  --ipam-driver vlcp -o logicalnetwork="docker-$nid-lognet" --subnet 10.1.0.0/24 --gateway 10.1.0.1 blue
check_output "hv2's network maps to hv1's logical network" "1" \
  pyres hv2 /viperflow/listlogicalnetworks "len([n for n in r if n['id'].startswith('docker-')])"

check "hv1: c1 with --ip 10.1.0.7" sb_docker hv1 run -d --name c1 --network blue --ip 10.1.0.7 "$SB_DOCKER_IMAGE" sleep 600
check "hv2: c2 with --ip 10.1.0.8" sb_docker hv2 run -d --name c2 --network blue --ip 10.1.0.8 "$SB_DOCKER_IMAGE" sleep 600
taken() { sb_docker hv2 run -d --name c3 --network blue --ip 10.1.0.7 "$SB_DOCKER_IMAGE" sleep 600; }
check_fails "hv2: --ip 10.1.0.7 (taken on hv1) is refused" taken
sb_docker hv2 rm -f c3 >/dev/null 2>&1
check "c1 (hv1) pings c2 (hv2) over VXLAN" sb_wait 20 sb_docker hv1 exec c1 ping -c 1 -W 1 10.1.0.8
check "c2 pings c1 (3 of 3)" sb_docker hv2 exec c2 ping -c 3 -W 2 10.1.0.7
check "c2 serves HTTP" sb_docker hv2 exec c2 sh -c \
  'mkdir -p /www && head -c 204800 /dev/zero | tr "\0" x >/www/big && httpd -p 8080 -h /www'
body_size() { sb_docker hv1 exec c1 sh -c "printf 'GET /big HTTP/1.0\r\n\r\n' | nc -w 5 10.1.0.8 8080" | sed '1,/^\r$/d' | wc -c; }
check_output "c1 fetches 200 KiB from c2 across the tunnel, whole" "204800" sb_wait_output 10 body_size 204800

check "hv1: rm -f c1" sb_docker hv1 rm -f c1
check "hv2: rm -f c2" sb_docker hv2 rm -f c2
check "hv2: network rm" sb_docker hv2 network rm blue
check_output "the logical network stays (hv1 made it and still maps it)" "1" \
  pyres hv1 /viperflow/listlogicalnetworks "len([n for n in r if n['id'].startswith('docker-')])"
check "hv1: network rm" sb_docker hv1 network rm blue
check_output "no docker-* logical network left" "0" \
  pyres hv1 /viperflow/listlogicalnetworks "len([n for n in r if n['id'].startswith('docker-')])"
check_output "no docker-* port" "0" \
  pyres hv1 /viperflow/listlogicalports "len([p for p in r if p['id'].startswith('docker-')])"
check_output "no docker-* subnet" "0" \
  pyres hv1 /viperflow/listsubnets "len([s for s in r if s['id'].startswith('docker-')])"
for hv in hv1 hv2; do
  check "$hv: no vlcp veth left" test -z "$(ip -n "$(sb_ns "$hv")" -o link | grep -E ': vlcp[0-9a-f]+c?[@:]')"
  check "$hv: no OVSDB interface with a vlcp-owner" \
    test -z "$(sb_vsctl "$hv" --bare --columns=external_ids list Interface | grep vlcp-owner)"
  check_output "$hv: no 500 answered" "0" \
    pyres "$hv" /dockerplugin/status "sum(x['count'] for x in r['requests'] if x['status'] >= 500)"
done
for hv in hv1 hv2; do sb_dockerd_stop "$hv"; done
finish
