# Small assertion helpers for shell tests: each failure names the check; `finish` prints the
# closing "N passed, N failed" line and sets the exit status.
# shellcheck shell=bash
T_PASSED=0
T_FAILED=0

pass() { T_PASSED=$((T_PASSED + 1)); echo "ok: $*"; }
fail() { T_FAILED=$((T_FAILED + 1)); echo "FAIL: $*" >&2; }

# check "description" command...   (passes when the command exits 0)
check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}

# check_fails "description" command...   (passes when the command fails)
check_fails() {
  local what=$1
  shift
  if "$@" >/dev/null 2>&1; then fail "$what (it succeeded)"; else pass "$what"; fi
}

# check_output "description" "expected substring" command...
check_output() {
  local what=$1 want=$2
  shift 2
  local out
  out=$("$@" 2>&1) || true
  if [[ $out == *"$want"* ]]; then pass "$what"; else fail "$what (wanted '$want', got: ${out:0:400})"; fi
}

# check_status "description" expected_status command...
check_status() {
  local what=$1 want=$2
  shift 2
  local got=0
  "$@" >/dev/null 2>&1 || got=$?
  if [ "$got" -eq "$want" ]; then pass "$what"; else fail "$what (exit $got, wanted $want)"; fi
}

finish() {
  echo "$T_PASSED passed, $T_FAILED failed"
  [ "$T_FAILED" -eq 0 ]
}
