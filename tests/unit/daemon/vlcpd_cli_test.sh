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
long=$tmp/$(head -c 5000 /dev/zero | tr '\0' a).conf
check_status "a path the file system refuses (too long) exits 1, not an abort" 1 "$vlcpd" -c "$long" --check-config
check_output "  and says why" "cannot open config file" "$vlcpd" -c "$long" --check-config

# Unknown keys are errors at their file:line: under a known module (a typo), under a module
# nobody declares, in a known section. An explicit opt-out turns them into warnings.
printf '# typo\nmodule.httpserver.urll = "tcp://127.0.0.1:1"\n' >"$tmp/typo.conf"
check_status "unknown key under a known module exits 1" 1 "$vlcpd" -c "$tmp/typo.conf" --check-config
check_output "  named with file:line and the likely key" \
  "$tmp/typo.conf:2: unknown key 'module.httpserver.urll' (did you mean 'module.httpserver.url'?)" \
  "$vlcpd" -c "$tmp/typo.conf" --check-config
check_status "  and vlcpd does not start with it" 1 "$vlcpd" -c "$tmp/typo.conf"
printf 'server.loglevel = "info"\nmodule.frobnicator.x = 1\n' >"$tmp/module.conf"
check_status "unknown module exits 1" 1 "$vlcpd" -c "$tmp/module.conf" --check-config
check_output "  named with file:line" "$tmp/module.conf:2: unknown key 'module.frobnicator.x'" \
  "$vlcpd" -c "$tmp/module.conf" --check-config
printf 'server.colour = 1\nmodule.frobnicator.x = 1\n' >"$tmp/unknown.conf"
check_output "every unknown key is listed" "$tmp/unknown.conf:1: unknown key 'server.colour'" \
  "$vlcpd" -c "$tmp/unknown.conf" --check-config
check_status "--allow-unknown-keys: unknown keys pass" 0 "$vlcpd" -c "$tmp/unknown.conf" --check-config --allow-unknown-keys
check_output "  with a warning naming file:line" "warning: $tmp/unknown.conf:2: unknown key 'module.frobnicator.x'" \
  "$vlcpd" -c "$tmp/unknown.conf" --check-config --allow-unknown-keys
printf 'config.allowunknown = True\nmodule.frobnicator.x = 1\n' >"$tmp/optout.conf"
check_status "config.allowunknown = True: unknown keys pass" 0 "$vlcpd" -c "$tmp/optout.conf" --check-config

# A key given twice, in one file or across the files of a directory.
printf 'server.loglevel = "info"\nserver.syslog = False\nserver.loglevel = "debug"\n' >"$tmp/twice.conf"
check_status "a key given twice exits 1" 1 "$vlcpd" -c "$tmp/twice.conf" --check-config
check_output "  named with both lines" "$tmp/twice.conf:3: server.loglevel: given twice (first at $tmp/twice.conf:1)" \
  "$vlcpd" -c "$tmp/twice.conf" --check-config
mkdir "$tmp/empty.d" "$tmp/conf.d"
check_status "-c DIR without config files exits 1" 1 "$vlcpd" -c "$tmp/empty.d" --check-config
check_output "  and says so" "$tmp/empty.d: no configuration files (*.conf)" "$vlcpd" -c "$tmp/empty.d" --check-config
printf 'server.loglevel = "debug"\n' >"$tmp/conf.d/10-log.conf"
printf 'module.l2switch.learning = False\n' >"$tmp/conf.d/20-l2.conf"
check_output "-c DIR reads every *.conf in it" "configuration OK (2 keys from 2 files)" \
  "$vlcpd" -c "$tmp/conf.d" --check-config
printf '\nserver.loglevel = "info"\n' >"$tmp/conf.d/30-again.conf"
check_status "-c DIR with a key in two files exits 1" 1 "$vlcpd" -c "$tmp/conf.d" --check-config
check_output "  named with both files' lines" \
  "$tmp/conf.d/30-again.conf:2: server.loglevel: given twice (first at $tmp/conf.d/10-log.conf:1)" \
  "$vlcpd" -c "$tmp/conf.d" --check-config

# A file with its drop-ins (FILE.d/*.conf, name order): a later file's key replaces an earlier
# one's — how first boot and perf profiles configure without touching the packaged conffile.
mkdir "$tmp/vlcp.conf.d"
printf 'server.loglevel = "info"\nmodule.l2switch.learning = False\n' >"$tmp/vlcp.conf"
printf 'server.loglevel = "debug"\nmodule.httpserver.token = "s3cret-token"\nmodule.zookeeperdb.auth = "vlcp:s3cret-pw"\nmodule.metrics.password = "s3cret-m"\n' >"$tmp/vlcp.conf.d/50-firstboot.conf"
printf '# profile\nserver.loglevel = "warn"\n' >"$tmp/vlcp.conf.d/60-perf-profile.conf"
check_output "-c FILE reads FILE.d's drop-ins too" "configuration OK (5 keys from 3 files)" \
  "$vlcpd" -c "$tmp/vlcp.conf" --check-config
check_output "--show-config: the last drop-in's value, with its file:line" \
  "server.loglevel = \"warn\"  # $tmp/vlcp.conf.d/60-perf-profile.conf:2" "$vlcpd" -c "$tmp/vlcp.conf" --show-config
check_output "  the packaged file's other keys stay" \
  "module.l2switch.learning = false  # $tmp/vlcp.conf:2" "$vlcpd" -c "$tmp/vlcp.conf" --show-config
check_output "  a secret is masked" "module.httpserver.token = '***'  # $tmp/vlcp.conf.d/50-firstboot.conf:2" \
  "$vlcpd" -c "$tmp/vlcp.conf" --show-config
check_output "  so is ZooKeeper's user:password" "module.zookeeperdb.auth = '***'" \
  "$vlcpd" -c "$tmp/vlcp.conf" --show-config
check_output "  and the metrics password" "module.metrics.password = '***'" "$vlcpd" -c "$tmp/vlcp.conf" --show-config
check_fails "  no secret is ever printed" bash -c "'$vlcpd' -c '$tmp/vlcp.conf' --show-config | grep -q s3cret"
printf 'server.loglevel = "warn"\nserver.loglevel = "info"\n' >"$tmp/vlcp.conf.d/70-twice.conf"
check_output "a key twice within one drop-in is still an error" \
  "$tmp/vlcp.conf.d/70-twice.conf:2: server.loglevel: given twice" "$vlcpd" -c "$tmp/vlcp.conf" --check-config
rm "$tmp/vlcp.conf.d/70-twice.conf"
printf 'server.loglevel = "loud"\n' >"$tmp/vlcp.conf.d/80-bad.conf"
check_output "a bad value in a drop-in names the drop-in's line" \
  "$tmp/vlcp.conf.d/80-bad.conf:1: server.loglevel" "$vlcpd" -c "$tmp/vlcp.conf" --check-config

# Values out of range: at the key's own line.
printf '# handshake\nprotocol.openflow.hellotimeout = 0\n' >"$tmp/hello.conf"
check_status "hellotimeout = 0 exits 1" 1 "$vlcpd" -c "$tmp/hello.conf" --check-config
check_output "  reported at its own key and line" "$tmp/hello.conf:2: protocol.openflow.hellotimeout:" \
  "$vlcpd" -c "$tmp/hello.conf" --check-config
printf '\n\nmodule.openflowserver.iothreads = 1000\n' >"$tmp/range.conf"
check_output "out-of-range value at its line" "$tmp/range.conf:3: module.openflowserver.iothreads:" \
  "$vlcpd" -c "$tmp/range.conf" --check-config

# TLS files that do not exist (or are not what they claim) fail the check and the start.
printf 'module.httpserver.url = "tcp://127.0.0.1:1"\nmodule.httpserver.key = "%s/absent-key.pem"\n' "$tmp" \
  >"$tmp/tls.conf"
check_status "a missing TLS key fails --check-config" 1 "$vlcpd" -c "$tmp/tls.conf" --check-config
check_output "  naming the key and its line" "$tmp/tls.conf:2: module.httpserver.key: cannot read '$tmp/absent-key.pem'" \
  "$vlcpd" -c "$tmp/tls.conf" --check-config
check_status "  and the start" 1 "$vlcpd" -c "$tmp/tls.conf"
if command -v openssl >/dev/null; then
  for n in a b; do
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$tmp/$n-key.pem" -out "$tmp/$n-cert.pem" -days 1 \
      -subj "/CN=$n" 2>/dev/null
  done
  printf 'module.openflowserver.key = "%s"\nmodule.openflowserver.certificate = "%s"\n' \
    "$tmp/a-key.pem" "$tmp/a-cert.pem" >"$tmp/pair.conf"
  check_status "a matching TLS key and certificate pass" 0 "$vlcpd" -c "$tmp/pair.conf" --check-config
  printf 'module.openflowserver.key = "%s"\nmodule.openflowserver.certificate = "%s"\n' \
    "$tmp/a-key.pem" "$tmp/b-cert.pem" >"$tmp/mismatch.conf"
  check_output "a certificate not matching the key fails at its line" \
    "$tmp/mismatch.conf:2: module.openflowserver.certificate: certificate '$tmp/b-cert.pem' does not match" \
    "$vlcpd" -c "$tmp/mismatch.conf" --check-config
  printf 'module.httpserver.ca_certs = "%s"\n' "$tmp/a-key.pem" >"$tmp/ca.conf"
  check_status "a key given as the CA file fails" 1 "$vlcpd" -c "$tmp/ca.conf" --check-config
fi

# The configuration that ships passes the check as it is.
check_status "appliance/vlcp.conf passes --check-config" 0 "$vlcpd" -c "$here/../../../appliance/vlcp.conf" --check-config

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
