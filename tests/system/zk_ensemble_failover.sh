#!/usr/bin/env bash
# A 3-node ZooKeeper ensemble in the management namespace: a znode written before the leader
# is killed stays readable after, the ensemble elects a new leader and takes writes, and the
# killed member rejoins as a follower. Also a server namespace reaching ZooKeeper over the
# management network.
zkcli=${VLCP_ZKCLI:?set VLCP_ZKCLI to the zkcli test tool}
. "$(dirname "$0")/../lib/system.sh"

check "3-node ensemble serves" sb_zk_start 3 || { finish; exit 1; }
hosts=$(sb_zk_hosts)
zk() { sb_exec mgmt "$zkcli" --timeout 30 "$hosts" "$@"; }

modes=$(for i in 1 2 3; do sb_zk_mode "$i"; done | sort | tr '\n' ' ')
check "one leader, two followers ($modes)" test "$modes" = "follower follower leader "
check "create a znode" zk create /vlcp-test before-failover

leader=$(sb_zk_leader)
check "leader found" test -n "$leader"
sb_zk_stop_member "$leader"
check_fails "old leader is gone" sb_zk_serving "$leader"
check_output "znode readable after the leader died" "before-failover" zk get /vlcp-test
new_leader=""
for _ in $(seq 100); do new_leader=$(sb_zk_leader) && break; sleep 0.1; done
check "a new leader was elected ($new_leader)" test -n "$new_leader" -a "$new_leader" != "$leader"
check "the ensemble takes writes after failover" zk set /vlcp-test after-failover

check "the killed member restarts" sb_zk_start_member "$leader"
check_output "it rejoins as a follower" "follower" sb_zk_mode "$leader"
check_output "and serves the data written while it was down" "after-failover" \
  sb_exec mgmt "$zkcli" "$SB_ZK_HOST:$(sb_zk_client_port "$leader")" get /vlcp-test

# A server namespace reaches the ensemble over the management network.
sb_netns srv1
sb_mgmt_attach srv1 11
check_output "server namespace reads through the management network" "after-failover" \
  sb_exec srv1 "$zkcli" "$hosts" get /vlcp-test
finish
