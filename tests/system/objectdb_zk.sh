#!/usr/bin/env bash
# ObjectDB on a real ZooKeeper: the conformance suite that the unit tests run on the embedded
# store, run again on a ZooKeeper server (two clients, two sessions), plus what only ZooKeeper
# has: a chroot, digest auth, ZooKeeper's request limit.
suite=${VLCP_OBJECTDB_TEST:?set VLCP_OBJECTDB_TEST to the objectdb_conformance_test binary}
. "$(dirname "$0")/../lib/system.sh"

check "ZooKeeper serves" sb_zk_start 1 || { finish; exit 1; }
hosts=$(sb_zk_hosts)
out=$SB_DIR/suite.log
sb_exec mgmt env VLCP_ZK_HOSTS="$hosts" "$suite" --gtest_filter='*zookeeper*:ZkOnly.*' >"$out" 2>&1
rc=$?
ran=$(grep -c '^\[       OK \]' "$out")
check "the conformance suite passes on ZooKeeper ($ran tests)" test "$rc" -eq 0 -a "$ran" -ge 14
[ "$rc" -eq 0 ] || grep -E 'FAILED|Failure|Expected|Which is|actual' "$out" | head -30 >&2
finish
