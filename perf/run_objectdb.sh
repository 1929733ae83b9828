#!/usr/bin/env bash
# ObjectDB's benchmarks (issue 5): transactions/s and notification latency (commit started on
# client A -> the change event on client B) for the embedded store and for ZooKeeper with 1 and
# 3 members, at 1, 10 and 100 keys per transaction. Latency runs have one transaction in flight;
# throughput runs have 8 streams on disjoint keys. Each figure is the median of REPS runs.
# ZooKeeper runs in a sandbox namespace on loopback-like addresses (tests/sandbox).
# Usage: perf/run_objectdb.sh [BUILD_DIR] [REPS] [COUNT]
set -uo pipefail
build=$(cd "${1:-build/release}" && pwd)
reps=${2:-3}
count=${3:-200}
dbtool=$build/tests/dbtool
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/sandbox/lib.sh"
sb_init >/dev/null || exit 1
trap sb_down EXIT

. "$here/lib.sh"

# run LABEL KEYS PARALLEL CMD...: prints one table row of medians.
run() {
  local label=$1 keys=$2 par=$3
  shift 3
  local tx=() commit=() notify=() i out
  for i in $(seq "$reps"); do
    out=$("$@" bench --keys "$keys" --count "$count" --parallel "$par" 2>/dev/null | tail -1)
    [ -n "$out" ] || { echo "| $label | $keys | $par | failed | | |"; return; }
    tx+=("$(field tx_per_s <<<"$out")")
    commit+=("$(field commit_ms_p50 <<<"$out")")
    notify+=("$(field notify_ms_p50 <<<"$out")")
  done
  printf '| %s | %s | %s | %.0f | %.2f | %.2f |\n' "$label" "$keys" "$par" \
    "$(printf '%s\n' "${tx[@]}" | median)" "$(printf '%s\n' "${commit[@]}" | median)" \
    "$(printf '%s\n' "${notify[@]}" | median)"
}

echo "| store | keys/txn | streams | txn/s | commit p50 ms | notify p50 ms |"
echo "|---|---|---|---|---|---|"
n=0
embedded() { n=$((n + 1)); rm -rf "$SB_DIR/emb$n"; "$dbtool" --embedded "$SB_DIR/emb$n/db" "$@"; }
for keys in 1 10 100; do
  run embedded "$keys" 1 embedded
  run embedded "$keys" 8 embedded
done
for members in 1 3; do
  sb_zk_start "$members" >/dev/null 2>&1 || { echo "ZooKeeper ($members) did not start"; exit 1; }
  hosts=$(sb_zk_hosts)
  zk() { n=$((n + 1)); sb_exec mgmt "$dbtool" --zk "$hosts" --root "/bench$n" "$@"; }
  for keys in 1 10 100; do
    run "zookeeper x$members" "$keys" 1 zk
    run "zookeeper x$members" "$keys" 8 zk
  done
  for i in $(seq "$members"); do sb_zk_stop_member "$i"; done
  rm -rf "$SB_DIR"/zk*
done
