#!/usr/bin/env bash
# vlcpd's command line as an operator and a unit file use it: exit codes and messages.
set -u
vlcpd=${1:?usage: vlcpd_cli_test.sh PATH_TO_VLCPD}
here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=../../lib/assert.sh
. "$here/../../lib/assert.sh"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

check_output "--help shows usage" "Usage: vlcpd" "$vlcpd" --help
check_status "--help exits 0" 0 "$vlcpd" --help
check_output "--version names vlcpd" "vlcpd 0." "$vlcpd" --version
check_status "unknown option is a usage error" 2 "$vlcpd" --bogus
check_output "unknown option is named" "unknown option '--bogus'" "$vlcpd" --bogus

cat >"$tmp/good.conf" <<'CONF'
# a valid configuration
server.loglevel = 'debug'
module.l2switch.learning = False
CONF
check_status "--check-config accepts a good file" 0 "$vlcpd" -c "$tmp/good.conf" --check-config
check_output "--check-config reports OK" "configuration OK (2 keys)" "$vlcpd" -c "$tmp/good.conf" --check-config

printf 'server.loglevel = "info"\nmodule.x.y = [1, 2\n' >"$tmp/syntax.conf"
check_status "syntax error exits 1" 1 "$vlcpd" -c "$tmp/syntax.conf" --check-config
check_output "syntax error names file and line" "$tmp/syntax.conf:2: module.x.y: missing ']'" \
  "$vlcpd" -c "$tmp/syntax.conf" --check-config

printf 'server.syslog = "yes"\n' >"$tmp/type.conf"
check_output "type error names key and expected type" "$tmp/type.conf:1: server.syslog: expected a boolean" \
  "$vlcpd" -c "$tmp/type.conf" --check-config
check_status "missing config file exits 1" 1 "$vlcpd" -c "$tmp/absent.conf" --check-config

printf 'server.colour = 1\n' >"$tmp/unknown.conf"
check_output "unknown server key warns with line" "warning: $tmp/unknown.conf:1: unknown key 'server.colour'" \
  "$vlcpd" -c "$tmp/unknown.conf" --check-config

# The daemon starts, logs, and stops cleanly on SIGTERM.
"$vlcpd" -c "$tmp/good.conf" 2>"$tmp/run.log" &
pid=$!
for _ in $(seq 50); do grep -q "started" "$tmp/run.log" && break; sleep 0.1; done
kill -TERM "$pid"
status=0
wait "$pid" || status=$?
check "daemon exits 0 on SIGTERM" test "$status" -eq 0
check_output "daemon logged start" "|daemon|INFO|vlcpd" cat "$tmp/run.log"
check_output "daemon logged stop" "stopping" cat "$tmp/run.log"
finish
