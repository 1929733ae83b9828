#!/usr/bin/env bash
# The network model's checks through a real vlcpd's WebAPI (curl) and vlcpctl (issue 14, items
# 9-13): a MAC is one address whatever its letter case; ports need unicast MACs; routes are
# IPv4 prefixes and a router's subnets do not overlap; gateways are host addresses; an exhausted
# pool is the client's problem (409); reserved and other types' attributes are refused; a batch
# naming one object twice says so. Every refusal leaves the daemon answering.
vlcpctl=${VLCP_VLCPCTL:?set VLCP_VLCPCTL}
. "$(dirname "$0")/../lib/system.sh"

port=$(sb_free_port)
sb_vlcpd_api_conf "$SB_DIR/a.conf" "$port"
sb_vlcpd_start a "$SB_DIR/a.conf"
api="http://127.0.0.1:$port"
api_up() { curl -sf "$api/manager/modules" >/dev/null; }
check "vlcpd serves its WebAPI" sb_wait 20 api_up
# code PATH?QUERY: the HTTP status of a GET; body PATH?QUERY: its body.
code() { curl -sg -m 10 -o /dev/null -w '%{http_code}' "$api/$1"; }
body() { curl -sg -m 10 "$api/$1"; }
post() { curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST -H 'Content-Type: application/json' -d "$2" "$api/$1"; }
vf=viperflow

check_output "setup: a VLAN physical network with two VLANs" '"_key"' body "$vf/createphysicalnetwork?id=pn&vlanrange=\`[[10,11]]\`"
check_output "setup: a VXLAN one" '"_key"' body "$vf/createphysicalnetwork?id=vx&type=vxlan&vnirange=\`[[100,200]]\`"
check_output "setup: a logical network" '"vlanid":10' body "$vf/createlogicalnetwork?id=ln&physicalnetwork=pn"
check_output "setup: a /29 subnet" '"_key"' body "$vf/createsubnet?id=s&logicalnetwork=ln&cidr=10.0.0.0/29&gateway=10.0.0.1"

# 9: one MAC whatever its spelling
check_output "9: a port with an upper-case MAC is stored lower case" '"mac_address":"02:00:00:00:00:0a"' \
  body "$vf/createlogicalport?id=up&logicalnetwork=ln&mac_address=02:00:00:00:00:0A"
check_output "9: the same MAC in lower case is a 409" 409 code "$vf/createlogicalport?id=low&logicalnetwork=ln&mac_address=02:00:00:00:00:0a"
check_output "9: a list by MAC in either case finds it" '"id":"up"' body "$vf/listlogicalports?mac_address=02:00:00:00:00:0A"
for mac in ff:ff:ff:ff:ff:ff 01:00:5e:00:00:01 00:00:00:00:00:00; do
  check_output "10: a port MAC $mac is a 400" 400 code "$vf/createlogicalport?logicalnetwork=ln&mac_address=$mac"
done

# 10: routers and gateways
check_output "10: a route to 10.0.0.0/33 is a 400" 400 \
  post vrouterapi/createvirtualrouter '{"id": "bad", "routes": [["10.0.0.0/33", "10.0.0.1"]]}'
check_output "10: a default route is fine, host bits cleared" '"routes":[["0.0.0.0/0","10.0.0.6"],["10.9.0.0/16","10.0.0.6"]]' \
  curl -s -m 10 -X POST -H 'Content-Type: application/json' \
  -d '{"id": "r", "routes": [["0.0.0.0/0", "10.0.0.6"], ["10.9.1.1/16", "10.0.0.6"]]}' "$api/vrouterapi/createvirtualrouter"
check_output "10: a gateway on the network address is a 400" 400 code "$vf/createsubnet?id=g0&logicalnetwork=ln&cidr=10.1.0.0/24&gateway=10.1.0.0"
check_output "10: a gateway on the broadcast address is a 400" 400 code "$vf/createsubnet?id=g1&logicalnetwork=ln&cidr=10.1.0.0/24&gateway=10.1.0.255"
check_output "setup: a second logical network" '"vlanid":11' body "$vf/createlogicalnetwork?id=ln2&physicalnetwork=pn"
check_output "setup: 10.2.0.0/24 in ln" '"_key"' body "$vf/createsubnet?id=big&logicalnetwork=ln&cidr=10.2.0.0/24&gateway=10.2.0.1"
check_output "setup: 10.2.0.0/25 in ln2" '"_key"' body "$vf/createsubnet?id=small&logicalnetwork=ln2&cidr=10.2.0.0/25&gateway=10.2.0.126"
check_output "setup: big joins router r" '"_key"' body "vrouterapi/addrouterinterface?router=r&subnet=big"
check_output "10: an overlapping subnet on the same router is a 409" 409 code "vrouterapi/addrouterinterface?router=r&subnet=small"
check_output "10:   naming the subnet it overlaps" 'overlaps subnet big' body "vrouterapi/addrouterinterface?router=r&subnet=small"

# 11: exhaustion is a 409 with its message
check_output "11: the last VLAN is allocated" '"vlanid"' body "$vf/listlogicalnetworks?id=ln2"
check_output "11: no free VLAN is a 409" 409 code "$vf/createlogicalnetwork?physicalnetwork=pn"
check_output "11:   saying so" 'has no free vlanid' body "$vf/createlogicalnetwork?physicalnetwork=pn"
for i in 1 2 3 4 5; do body "$vf/createlogicalport?logicalnetwork=ln&subnet=s" >/dev/null; done
check_output "11: no free address is a 409" 409 code "$vf/createlogicalport?logicalnetwork=ln&subnet=s"
check_output "11:   saying so" 'has no free address' body "$vf/createlogicalport?logicalnetwork=ln&subnet=s"

# 12: reserved names and other types' fields
check_output "12: _key from a client is a 400" 400 code "$vf/createlogicalport?id=k&logicalnetwork=ln&_key=viperflow.logicalport.up"
check_output "12: _type from a client is a 400" 400 code "$vf/updatelogicalport?id=up&_type=x"
check_output "12: a filter on _key finds the object with that key" '"id":"up"' body "$vf/listlogicalports?_key=viperflow.logicalport.up"
check_output "12: vni on a VLAN network is a 400" 400 code "$vf/createlogicalnetwork?physicalnetwork=pn&vni=150"
check_output "12: vlanid on a VXLAN network is a 400" 400 code "$vf/createlogicalnetwork?physicalnetwork=vx&vlanid=5"
check_output "12: a vni given as text is stored as a number" '"vni":150' body "$vf/createlogicalnetwork?id=lx&physicalnetwork=vx&vni=150"

# 13: one object named twice in a batch
check_output "setup: port gx" '"_key"' body "$vf/createlogicalport?id=gx&logicalnetwork=ln"
check_output "13: a batch delete naming gx twice is a 400" 400 post "$vf/deletelogicalports" '{"ports": [{"id": "gx"}, {"id": "gx"}]}'
echo '[{"id": "gx"}, {"id": "gx"}]' >"$SB_DIR/twice.json"
check_output "13:   vlcpctl says what is wrong" 'logical port gx is named twice in the batch' \
  "$vlcpctl" --api "$api" logicalport delete-batch "$SB_DIR/twice.json"
check_output "13:   and gx is still there" '"id":"gx"' body "$vf/listlogicalports?id=gx"
check_output "13: a batch update of one router twice is a 400" 400 \
  post vrouterapi/updatevirtualrouters '{"routers": [{"id": "r"}, {"id": "r"}]}'
check "vlcpd still answers after every refusal" api_up
finish
