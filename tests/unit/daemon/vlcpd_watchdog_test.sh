#!/usr/bin/env bash
# vlcpd under a fake systemd: $NOTIFY_SOCKET is a unix datagram socket this test binds
# (fake_notify_socket.py) and WATCHDOG_USEC=200000. vlcpd says READY=1, then WATCHDOG=1 about
# every 100 ms from its own pid with a STATUS= line; a stopped vlcpd (SIGSTOP) pings no more
# and resumes on SIGCONT; WATCHDOG_PID naming another process turns the pings off; SIGTERM sends
# STOPPING=1. (That the pings come from the control loop's timer, so a wedged loop alone stops
# them, is shown by daemon_systemd_test against a fake clock.)
set -u
vlcpd=${1:?usage: vlcpd_watchdog_test.sh PATH_TO_VLCPD}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../lib/assert.sh
. "$here/../../lib/assert.sh"
tmp=$(mktemp -d)
pids=()
cleanup() {
  local p
  for p in "${pids[@]}"; do kill -CONT "$p" 2>/dev/null; kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
  rm -rf "$tmp"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

python3 "$here/fake_notify_socket.py" "$tmp/notify" "$tmp/notify.log" &
pids+=($!)
for _ in $(seq 100); do [ -S "$tmp/notify" ] && break; sleep 0.05; done

# A vlcpd with its WebAPI and embedded store only (no switch, no OVSDB, no metrics, no workers).
cat >"$tmp/vlcpd.conf" <<CONF
module.openflowserver.url = 'tcp://127.0.0.1:$(free_port)'
module.ovsdbmanager.url = ''
module.metrics.url = ''
module.httpserver.url = 'tcp://127.0.0.1:$(free_port)'
module.sched.workers = 0
module.objectdb.path = '$tmp/objectdb.mdb'
CONF

# wait_for SECONDS PATTERN: until the log has a line matching PATTERN (grep -E).
wait_for() {
  local deadline=$((SECONDS + $1))
  until grep -qE "$2" "$tmp/notify.log" 2>/dev/null; do
    [ $SECONDS -ge "$deadline" ] && return 1
    sleep 0.05
  done
}
pings() { grep -c ' WATCHDOG=1' "$tmp/notify.log" 2>/dev/null || true; }

NOTIFY_SOCKET=$tmp/notify WATCHDOG_USEC=200000 "$vlcpd" -c "$tmp/vlcpd.conf" >"$tmp/vlcpd.log" 2>&1 &
pid=$!
pids+=("$pid")
check "READY=1 once started" wait_for 30 " READY=1$"
check "... from vlcpd's own pid (NotifyAccess=main)" grep -q "^[0-9.]* $pid READY=1$" "$tmp/notify.log"
sleep 1.5
n=$(pings)
echo "pings in the first 1.5 s after READY=1: $n (one per 100 ms expected)"
check "WATCHDOG=1 at half WATCHDOG_USEC: at least 5 in 1.5 s" test "$n" -ge 5
check "every ping from vlcpd's pid" test "$(grep ' WATCHDOG=1' "$tmp/notify.log" | grep -vc "^[0-9.]* $pid ")" = 0
check_output "the first ping carries the status" "WATCHDOG=1|STATUS=0 switches connected; ObjectDB connected" \
  cat "$tmp/notify.log"
check_output "the log names the watchdog" "systemd watchdog: a ping every 100 ms" cat "$tmp/vlcpd.log"

kill -STOP "$pid"
sleep 0.2  # a ping being sent as it stopped lands
stopped=$(pings)
sleep 0.6
check "a stopped vlcpd sends no ping (systemd would restart it)" test "$(pings)" = "$stopped"
kill -CONT "$pid"
resumed() { [ "$(pings)" -gt "$stopped" ]; }
deadline=$((SECONDS + 5))
until resumed || [ $SECONDS -ge $deadline ]; do sleep 0.05; done
check "pings resume after SIGCONT" resumed

kill -TERM "$pid"
wait "$pid"
check "exit 0 on SIGTERM" test $? -eq 0
check "STOPPING=1 on SIGTERM" grep -q " $pid STOPPING=1" "$tmp/notify.log"

# WATCHDOG_PID names another process: the variables are not ours, no pings (the status still).
: >"$tmp/notify.log"
NOTIFY_SOCKET=$tmp/notify WATCHDOG_USEC=200000 WATCHDOG_PID=1 "$vlcpd" -c "$tmp/vlcpd.conf" >"$tmp/vlcpd2.log" 2>&1 &
pid=$!
pids+=("$pid")
check "READY=1 with another process's WATCHDOG_PID" wait_for 30 " READY=1$"
sleep 1
check "... and no ping" test "$(pings)" = 0
kill -TERM "$pid"
wait "$pid"
[ "$T_FAILED" -gt 0 ] && { cat "$tmp/notify.log"; tail -20 "$tmp/vlcpd.log"; }
finish
