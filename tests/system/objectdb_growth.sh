#!/usr/bin/env bash
# Bounded store growth on a real ZooKeeper (issue 20): 10,000 logical-port create+delete cycles
# through the model's calls (ViperFlow on ObjectDB, what vlcpd's WebAPI runs; not over HTTP),
# with compaction's horizon shortened to 1 s, then the znodes counted: only the live model's,
# the change log and fences of two epochs and the fixed nodes remain. Also measures znodes per
# live port and per cycle before compaction (the figures in docs/ARCHITECTURE.md §6).
# VLCP_GROWTH_CYCLES overrides the 10,000.
suite=${VLCP_OBJECTDB_TEST:?set VLCP_OBJECTDB_TEST to the objectdb_conformance_test binary}
growth=$(dirname "$suite")/objectdb_growth_test
. "$(dirname "$0")/../lib/system.sh"

check "the growth test is built" test -x "$growth" || { finish; exit 1; }
check "ZooKeeper serves" sb_zk_start 1 || { finish; exit 1; }
hosts=$(sb_zk_hosts)
out=$SB_DIR/growth.log
cycles=${VLCP_GROWTH_CYCLES:-10000}
start=$SECONDS
sb_exec mgmt env VLCP_ZK_HOSTS="$hosts" VLCP_GROWTH_CYCLES="$cycles" VLCP_GROWTH_MEASURE=1000 \
  "$growth" --gtest_filter='*zookeeper*' >"$out" 2>&1
rc=$?
grep '^growth' "$out"
check "$cycles cycles leave only the live model, and compaction takes the store back to it ($((SECONDS - start)) s)" \
  test "$rc" -eq 0 -a "$(grep -c '^\[       OK \]' "$out")" -eq 2
[ "$rc" -eq 0 ] || grep -E 'FAILED|Failure|Expected|Which is|actual|left' "$out" | head -30 >&2
finish
