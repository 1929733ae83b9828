#!/usr/bin/env bash
# Runs every libFuzzer target of a fuzz build for SECONDS each, on a scratch copy of its seed
# corpus (new inputs stay in build/, the committed corpus changes only by hand).
# Usage: run.sh FUZZ_BUILD_DIR SECONDS   (VLCP_FUZZ_DIFFERENTIAL=0: crash/sanitizer checks only)
set -euo pipefail
build=${1:?usage: run.sh FUZZ_BUILD_DIR SECONDS}
seconds=${2:?}
here=$(cd "$(dirname "$0")" && pwd)
status=0
# The targets and their corpora, as tests/CMakeLists.txt declares them (VLCP_FUZZ_TARGETS).
list=$build/tests/fuzz_targets.txt
[ -f "$list" ] || { echo "fuzz: $list missing (make fuzz-build)" >&2; exit 1; }
for entry in $(cat "$list"); do
  target=${entry%%:*}
  corpus=${entry#*:}
  bin=$build/tests/$target
  [ -x "$bin" ] || { echo "fuzz: $bin missing (make fuzz-build)" >&2; exit 1; }
  work=$build/corpus-$target
  mkdir -p "$work"
  cp -n "$here/corpus/$corpus/"* "$work/" 2>/dev/null || true
  echo "fuzz: $target for ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -print_final_stats=1 -artifact_prefix="$build/crash-$target-" \
      "$work" 2>"$build/$target.log"; then
    tail -40 "$build/$target.log" >&2
    status=1
  else
    grep -E "stat::number_of_executed_units|stat::peak_rss_mb" "$build/$target.log" || true
  fi
done
exit $status
