#!/usr/bin/env bash
# Runs after every other system test: nothing any sandbox recorded in the ledger may survive
# (process, namespace, link, directory). Whatever did survive is reported, then removed, so a
# failed run leaves the machine clean as well. Usage: sandbox_leaks.sh LEDGER
set -u
ledger=${1:?usage: sandbox_leaks.sh LEDGER}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/assert.sh"
. "$here/../sandbox/lib.sh"

if [ ! -s "$ledger" ]; then
  fail "ledger $ledger is empty: no system test recorded anything"
  finish
  exit
fi
pass "ledger has $(wc -l <"$ledger") records"

leaks=0
while read -r kind a b c; do
  case "$kind" in
    pid)
      if sb_pid_alive "$a" "$b"; then
        fail "process left running: pid $a ($c)"
        kill -KILL "$a" 2>/dev/null
        leaks=1
      fi ;;
    netns)
      if ip netns list | grep -q "^$a\b"; then
        fail "namespace left: $a"
        ip netns pids "$a" 2>/dev/null | xargs -r kill -KILL
        ip netns del "$a"
        leaks=1
      fi ;;
    link)
      if ip link show "$a" >/dev/null 2>&1; then
        fail "link left in the root namespace: $a"
        ip link del "$a"
        leaks=1
      fi ;;
    dir)
      if [ -e "$a" ]; then
        fail "directory left: $a"
        rm -rf "$a"
        leaks=1
      fi ;;
  esac
done <"$ledger"
check "nothing of any sandbox is left" test $leaks -eq 0
finish
