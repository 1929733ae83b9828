#!/usr/bin/env bash
# ObjectDB inside vlcpd, through the WebAPI and vlcpctl:
#  - the embedded store (the default): vlcpctl db restore/get/list/dump/watch, clear errors,
#    and what was written survives vlcpd killed with SIGKILL;
#  - two vlcpd nodes on one ZooKeeper: a dump of the embedded node restored into one node is
#    read by the other, and a write on one reaches a watch on the other (change push);
#  - ZooKeeper gone: writes fail with a clear 503 at once.
vlcpctl=${VLCP_VLCPCTL:?set VLCP_VLCPCTL}
. "$(dirname "$0")/../lib/system.sh"

node_conf() {  # node_conf NAME HTTP_PORT [extra lines]
  local name=$1
  shift
  sb_vlcpd_api_conf "$SB_DIR/$name.conf" "$@"
}
api_up() { curl -sf "http://127.0.0.1:$1/manager/modules" >/dev/null; }
db() {  # db PORT ARGS...
  local port=$1
  shift
  "$vlcpctl" db --api "http://127.0.0.1:$port" "$@"
}

# --- the embedded store ----------------------------------------------------------------------------
pa=$(sb_free_port)
node_conf a "$pa"
sb_vlcpd_start a "$SB_DIR/a.conf"
check "vlcpd a serves its WebAPI" sb_wait 20 api_up "$pa"
cat >"$SB_DIR/seed.json" <<'JSON'
{"viperflow.physicalnetwork.pn1": {"id": "pn1", "type": "vlan", "vlanrange": [[100, 200]]},
 "viperflow.logicalnetwork.ln1": {"id": "ln1", "physicalnetwork": "viperflow.physicalnetwork.pn1", "vlanid": 100},
 "viperflow.logicalport.lp1": {"id": "lp1", "network": "viperflow.logicalnetwork.ln1", "mac_address": "02:00:00:00:00:01"}}
JSON
check_output "db restore writes a JSON dump" "restored 3 keys" db "$pa" restore "$SB_DIR/seed.json"
check_output "db get shows a value and its version" '{"id":"ln1"' db "$pa" get viperflow.logicalnetwork.ln1
check_status "db get of an absent key exits 1" 1 db "$pa" get viperflow.logicalport.nope
check_output "db list lists by prefix" "viperflow.logicalport.lp1" db "$pa" list viperflow.logical
db "$pa" dump viperflow. >"$SB_DIR/dump.json"
check "db dump gives back what was restored" python3 -c "
import json,sys
a=json.load(open('$SB_DIR/seed.json')); b=json.load(open('$SB_DIR/dump.json'))
sys.exit(0 if a==b else 1)"
db "$pa" watch viperflow.logicalport.lp1 --count 1 >"$SB_DIR/watch-a.out" 2>&1 &
watcher=$!
sleep 0.5
echo '{"viperflow.logicalport.lp1": {"id": "lp1", "mac_address": "02:00:00:00:00:02"}}' | db "$pa" restore - >/dev/null
for _ in $(seq 100); do [ -e "/proc/$watcher" ] || break; sleep 0.1; done
check_output "db watch prints the change" '02:00:00:00:00:02' cat "$SB_DIR/watch-a.out"
check_output "an unknown method is a 404 at once" '"error"' curl -s -m 2 "http://127.0.0.1:$pa/objectdb/nosuch"
check_output "  with status 404" "404" curl -s -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pa/objectdb/nosuch"
check_output "a body that is not a JSON object is a 400" "400" \
  curl -s -m 2 -o /dev/null -w '%{http_code}' -X POST -d '[1,2' "http://127.0.0.1:$pa/objectdb/restore"
check_output "a bad key is a 400 naming it" "bad key" \
  curl -s -m 2 -X POST -d '{"bad key": 1}' "http://127.0.0.1:$pa/objectdb/restore"
check_output "  and wrote nothing" "viperflow.logicalport.lp1" db "$pa" list
kill -KILL "$(sb_vlcpd_pid a)"
sb_vlcpd_start a "$SB_DIR/a.conf"
check "vlcpd a restarts after SIGKILL" sb_wait 20 api_up "$pa"
check_output "and has everything it acknowledged" '02:00:00:00:00:02' db "$pa" get viperflow.logicalport.lp1

# --- two nodes on ZooKeeper ----------------------------------------------------------------------
check "ZooKeeper serves" sb_zk_start 1 || { finish; exit 1; }
zk=$(sb_zk_hosts)
# The two nodes run in the management namespace, where ZooKeeper is.
pb=$(sb_free_port)
pc=$(sb_free_port)
node_conf b "$pb" "module.objectdb.backend = 'zookeeper'" "module.zookeeperdb.url = 'tcp://$zk'"
node_conf c "$pc" "module.objectdb.backend = 'zookeeper'" "module.zookeeperdb.url = 'tcp://$zk'"
sb_vlcpd_start b "$SB_DIR/b.conf" mgmt
sb_vlcpd_start c "$SB_DIR/c.conf" mgmt
inmgmt() { sb_exec mgmt "$@"; }
check "vlcpd b serves" sb_wait 20 inmgmt curl -sf "http://127.0.0.1:$pb/manager/modules"
check "vlcpd c serves" sb_wait 20 inmgmt curl -sf "http://127.0.0.1:$pc/manager/modules"
zk_ready() { inmgmt curl -s "http://127.0.0.1:$1/objectdb/getonce?key=x" | grep -q '"result"'; }
check "node b reaches ZooKeeper" sb_wait 30 zk_ready "$pb" || tail -20 "$SB_DIR/vlcpd-b.log"
check "node c reaches ZooKeeper" sb_wait 30 zk_ready "$pc" || tail -20 "$SB_DIR/vlcpd-c.log"
db "$pa" dump >"$SB_DIR/move.json"
check_output "the embedded node's dump restores into ZooKeeper through node b" "restored 3 keys" \
  inmgmt "$vlcpctl" db --api "http://127.0.0.1:$pb" restore "$SB_DIR/move.json"
check_output "node c reads it" '02:00:00:00:00:02' \
  inmgmt "$vlcpctl" db --api "http://127.0.0.1:$pc" get viperflow.logicalport.lp1
inmgmt "$vlcpctl" db --api "http://127.0.0.1:$pc" watch viperflow.logicalnetwork.ln1 --count 1 >"$SB_DIR/watch-c.out" 2>&1 &
watcher=$!
sleep 0.5
echo '{"viperflow.logicalnetwork.ln1": {"id": "ln1", "vlanid": 101}}' |
  inmgmt "$vlcpctl" db --api "http://127.0.0.1:$pb" restore - >/dev/null
for _ in $(seq 100); do [ -e "/proc/$watcher" ] || break; sleep 0.1; done
check_output "a write on node b reaches a watch on node c" '"vlanid":101' cat "$SB_DIR/watch-c.out"
check_output "node c's mirror has it" '"vlanid":101' \
  inmgmt curl -s "http://127.0.0.1:$pc/objectdb/getonce?key=viperflow.logicalnetwork.ln1"

# The network model through VLCP's WebAPI: created on node b, listed by node c.
check_output "viperflow: a physical network created through node b" '"_key":"viperflow.physicalnetwork.pn9"' \
  inmgmt curl -sg "http://127.0.0.1:$pb/viperflow/createphysicalnetwork?id=pn9&vlanrange=\`[[100,199]]\`"
check_output "  and a logical network, its VLAN allocated" '"vlanid":100' \
  inmgmt curl -sg -X POST -H 'Content-Type: application/json' -d '{"id": "ln9", "physicalnetwork": "pn9"}' \
  "http://127.0.0.1:$pb/viperflow/createlogicalnetwork"
check_output "  are listed by node c" '"id":"ln9"' inmgmt curl -sg "http://127.0.0.1:$pc/viperflow/listlogicalnetworks?physicalnetwork=pn9"
check_output "  a VLAN out of range is a 400" "400" \
  inmgmt curl -sg -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pc/viperflow/createlogicalnetwork?physicalnetwork=pn9&vlanid=300"
check_output "  an unknown method a 404 at once" "404" \
  inmgmt curl -sg -m 2 -o /dev/null -w '%{http_code}' "http://127.0.0.1:$pc/viperflow/nosuchmethod"

sb_zk_stop_member 1
sleep 1
check_output "ZooKeeper down: a write is refused with 503" "503" \
  inmgmt curl -s -m 10 -o /dev/null -w '%{http_code}' -X POST -d '{"viperflow.x": 1}' "http://127.0.0.1:$pb/objectdb/restore"
check_output "  saying why" "ZooKeeper" \
  inmgmt curl -s -m 10 -X POST -d '{"viperflow.x": 1}' "http://127.0.0.1:$pb/objectdb/restore"
finish
