#!/usr/bin/env bash
# The sandbox used by hand: up, status, exec, ofctl, down; two sandboxes at once do not
# collide, and down leaves nothing of either.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/assert.sh"
sandbox=$here/../sandbox/sandbox

a=$("$sandbox" up l2) || { fail "sandbox up l2"; finish; exit 1; }
b=$("$sandbox" up l2) || { fail "second sandbox up l2"; "$sandbox" down "$a"; finish; exit 1; }
trap '"$sandbox" down "$a" 2>/dev/null; "$sandbox" down "$b" 2>/dev/null' EXIT
pass "two l2 sandboxes up side by side"
check "they have different directories" test "$a" != "$b"
id_a=$(cat "$a/id")
id_b=$(cat "$b/id")
check "and different ids" test "$id_a" != "$id_b"
check_output "status shows running OVS" "ovs-vswitchd:hv1 pid" "$sandbox" status "$a"
check_fails "status shows nothing stopped" bash -c "'$sandbox' status '$a' | grep -q stopped"

"$sandbox" ofctl "$a" hv1 add-flow br0 actions=NORMAL
check "exec: ping inside sandbox a" "$sandbox" exec "$a" h1 ping -c 2 -i 0.2 -W 2 10.0.0.2
check_fails "sandbox b has no flows: no ping" "$sandbox" exec "$b" h1 ping -c 1 -W 1 10.0.0.2

pids_a=$(awk '$1 == "pid" {print $2}' "$a/resources")
"$sandbox" down "$a"
check "down removes the directory" test ! -e "$a"
check_fails "down removes the namespaces" bash -c "ip netns list | grep -q '^vsb$id_a-'"
gone=1
for p in $pids_a; do [ -e "/proc/$p" ] && [ "$(awk '{print $3}' /proc/$p/stat)" != Z ] && gone=0; done
check "down stops every process by PID" test $gone -eq 1
check "sandbox b still works after a is gone" bash -c "ip netns list | grep -q '^vsb$id_b-h1'"
"$sandbox" down "$b"
check "down of b removes it" test ! -e "$b"
check_status "unknown topology is a usage error" 2 "$sandbox" up nonsense

# Standalone ZooKeeper, by hand.
z=$("$sandbox" up zk1) || fail "sandbox up zk1"
if [ -n "$z" ]; then
  check_output "standalone ZooKeeper runs" "zookeeper:1 pid" "$sandbox" status "$z"
  check_output "and serves in standalone mode" "Mode: standalone" \
    bash -c "echo srvr | '$sandbox' exec '$z' mgmt nc -w 2 -N 10.254.0.1 2181"
  "$sandbox" down "$z"
  check "down of zk1 removes it" test ! -e "$z"
fi
finish
