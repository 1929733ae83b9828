#!/usr/bin/env bash
# Runs the test suite of a build tree: unit tests, then system tests (or just one label), and
# closes with one "N passed, N failed" line over both. Usage: run-suite.sh BUILD_DIR [unit|system]
set -uo pipefail
build=${1:?usage: run-suite.sh BUILD_DIR [unit|system]}
only=${2:-}
labels=(unit system)
[ -n "$only" ] && labels=("$only")

if [ "$(id -u)" -ne 0 ] && [[ " ${labels[*]} " == *" system "* ]]; then
  echo "run-suite: system tests create network namespaces and need root" >&2
  exit 1
fi

passed=0
failed=0
status=0
start=$(date +%s)
for label in "${labels[@]}"; do
  echo "=== $label tests ==="
  # Unit tests run two at a time; system tests one at a time (each stands up OVS/ZooKeeper).
  jobs=1
  [ "$label" = unit ] && jobs=$(nproc)
  log=$(mktemp)
  ctest --test-dir "$build" -L "^$label\$" --output-on-failure -j"$jobs" 2>&1 | tee "$log"
  [ "${PIPESTATUS[0]}" -eq 0 ] || status=1
  line=$(grep -E 'tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -1)
  rm -f "$log"
  if [[ $line =~ ([0-9]+)\ tests?\ failed\ out\ of\ ([0-9]+) ]]; then
    failed=$((failed + BASH_REMATCH[1]))
    passed=$((passed + BASH_REMATCH[2] - BASH_REMATCH[1]))
  else
    echo "run-suite: no ctest summary for label '$label'" >&2
    status=1
    failed=$((failed + 1))
  fi
done
echo "suite took $(($(date +%s) - start)) s"
echo "$passed passed, $failed failed"
exit $status
