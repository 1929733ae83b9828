#!/usr/bin/env bash
# Crashes around the Docker plugin (docs/CONTAINERS_DESIGN.md §4, §8.2): a dockerd and a userspace
# OVS in one simulated server's namespace, vlcpd beside them with the dockerplugin module (as in
# containers_docker.sh) and its reconcile reading that dockerd (dockerurl, grace 0).
# For each plug fault point (after the model step, after the veth, after the OVSDB port) vlcpd is
# started with VLCP_FAULT=containers.<point>: `docker run` makes it die there (exit 137, the kill -9
# moment) and fails; vlcpd started again without it, the reconcile (dockerplugin/reconcile) leaves
# nothing of that container: no veth with a vlcp: alias, no OVSDB interface with a vlcp-owner, no
# docker-* logical port or DockerInfo but the running containers'; the address is free (the next
# `docker run --ip` of it works). The same for DeleteEndpoint dying after its OVSDB step under
# `docker rm -f`. vlcpd down ~10 s while `docker run` waits on the plugin: the container runs
# connected or the run fails cleanly, and nothing is left half-made. Then dockerd is killed with
# -9 with a container running and started again: its own cleanup plus the reconcile leave
# nothing. A container kept running throughout is never touched by any reconcile.
. "$(dirname "$0")/../lib/system.sh"

[ -x "$SB_DOCKERD" ] || { fail "$SB_DOCKERD missing (package docker.io)"; finish; exit; }
[ -x /bin/busybox ] || { fail "/bin/busybox missing (package busybox-static)"; finish; exit; }
: "${VLCP_VLCPD:?set VLCP_VLCPD}"

sock=$SB_DIR/hv1-docker.sock
api() { sb_exec hv1 curl -sf --max-time 30 "http://127.0.0.1:8081$1"; }
post() { sb_exec hv1 curl -sf --max-time 60 -X POST -d "$2" "http://127.0.0.1:8081$1"; }
d() { sb_docker hv1 "$@"; }
dt() { timeout 120 env DOCKER_HOST="unix://$(sb_docker_sock hv1)" DOCKER_CONFIG="$(sb_docker_dir hv1)/cli" "$SB_DOCKER" "$@"; }
ip_of() { d inspect -f '{{range .NetworkSettings.Networks}}{{.IPAddress}}{{end}}' "$1"; }
pyres() {
  api "$1" | python3 -c "import json, sys; r = json.load(sys.stdin)['result']; print($2)"
}

check "OVS with bridge dockerbr0, vlcpd's configuration (the reconcile reads hv1's dockerd, grace 0)" \
  sb_docker_plugin_server hv1 "module.dockerplugin.dockerurl = 'unix://$(sb_docker_sock hv1)'" \
  "module.dockerplugin.reconcilegrace = 0" "module.dockerplugin.reconcileinterval = 0" || { finish; exit 1; }
check "dockerd in hv1" sb_dockerd_start hv1 hv1 || { finish; exit 1; }
check "the busybox image" sb_docker_image hv1

# vlcpd_up [FAULT]: starts vlcpd hv1 (with VLCP_FAULT=FAULT in its environment when given) and
# waits until its plugin listens.
vlcpd_up() {
  if [ -n "${1:-}" ]; then export VLCP_FAULT=$1; else unset VLCP_FAULT; fi
  sb_vlcpd_start hv1 "$SB_DIR/hv1.conf" hv1
  unset VLCP_FAULT
  sb_wait 30 listening
}
listening() { [ "$(pyres /dockerplugin/status "r['listening']" 2>/dev/null)" = True ]; }
vlcpd_down() { sb_stop_pid "$(sb_vlcpd_pid hv1)"; }
vlcpd_alive() { kill -0 "$(sb_vlcpd_pid hv1)" 2>/dev/null; }
# died WHAT: vlcpd hv1 is gone within 20 s and exited 137 (it is a child of this shell: `wait`
# here, never in a subshell), having logged the point.
died() {
  local what=$1 pid rc=0 killed=
  pid=$(sb_vlcpd_pid hv1)
  # (a child of this shell stays a zombie until waited: gone or Z)
  if ! sb_wait 20 bash -c "[ ! -e /proc/$pid ] || [ \"\$(awk '{print \$3}' /proc/$pid/stat)\" = Z ]"; then
    fail "$what: vlcpd is gone (it still runs: killed now)"
    sb_stop_pid "$pid" KILL
    killed=1
  else
    pass "$what: vlcpd is gone"
  fi
  wait "$pid" 2>/dev/null || rc=$?
  check "$what: vlcpd exited 137 at the fault point (exit $rc)" test "$rc" -eq 137 -a -z "$killed"
  check "$what: vlcpd logged where it died" grep -q "VLCP_FAULT: dying at containers.$what" \
    "$SB_DIR/vlcpd-hv1.log" || tail -5 "$SB_DIR/vlcpd-hv1.log" >&2
}
kept() { check_output "$1: the kept container's port is still there" "ports=1" \
  pyres "/viperflow/listlogicalports?id=docker-$keep_eid" "'ports=%d' % len(r)"; }
# The reconcile now; prints its result ("ok", ...).
reconcile() {
  post /dockerplugin/reconcile '{}' | python3 -c "import json, sys; print(json.load(sys.stdin)['result']['result'])"
}

# The endpoint ids of the running containers (theirs are not leaks).
running_eids() {
  local c
  for c in $(d ps -q); do
    d inspect -f '{{range .NetworkSettings.Networks}}{{.EndpointID}} {{end}}' "$c"
  done
}
# One line: what is left that no running container owns.
leaks() {
  local keep veths owners ports infos
  keep=$(running_eids | tr ' ' '\n' | grep . | paste -sd'|')
  [ -n "$keep" ] || keep=NONE
  veths=$(ip -n "$(sb_ns hv1)" -o link | grep -o 'alias vlcp:[^ \\]*' | grep -vcE "$keep")
  owners=$(sb_vsctl hv1 --bare --columns=external_ids list Interface | grep -o 'vlcp-owner="*docker:[0-9a-f]*' |
    grep -vcE "$keep")
  ports=$(api /viperflow/listlogicalports | python3 -c "
import json, re, sys
r = json.load(sys.stdin)['result']
print(len([p for p in r if p['id'].startswith('docker-') and not re.search('$keep', p['id'])]))")
  infos=$(api "/objectdb/list?prefix=viperflow.dockerplugin.portinfo." | python3 -c "
import json, re, sys
r = json.load(sys.stdin)['result']
print(len([k for k in r if not re.search('$keep', k)]))")
  echo "veth=$veths ovsdb=$owners ports=$ports infos=$infos"
}
no_leaks() { check_output "$1: nothing left (veth, OVSDB row, port, DockerInfo)" \
  "veth=0 ovsdb=0 ports=0 infos=0" leaks; }

check "vlcpd with the Docker plugin" vlcpd_up || { tail -20 "$SB_DIR/vlcpd-hv1.log"; finish; exit 1; }
check_output "the first reconcile at start found Docker" "True" \
  pyres /dockerplugin/status "r['reconcile']['last']['docker']['reachable']"
check "the physical network" post /viperflow/createphysicalnetwork \
  '{"id": "vx", "type": "vxlan", "vnirange": [[10000, 10100]]}'
check "docker network create -d vlcp --ipam-driver vlcp" d network create -d vlcp --ipam-driver vlcp \
  -o physicalnetwork=vx --subnet 10.1.0.0/24 --gateway 10.1.0.1 blue
check "a container kept running throughout (10.1.0.10)" \
  d run -d --name keep --network blue --ip 10.1.0.10 "$SB_DOCKER_IMAGE" sleep 600
keep_eid=$(running_eids | tr -d ' ')
check_output "a reconcile with nothing to do says ok" "ok" reconcile
no_leaks "before any crash"

# crash POINT NAME IP: vlcpd dies at POINT under `docker run --ip IP`; vlcpd again, the reconcile,
# nothing left, and the address taken by the next run.
crash() {
  local point=$1 name=$2 addr=$3 out rc
  vlcpd_down
  check "vlcpd with VLCP_FAULT=containers.$point" vlcpd_up "containers.$point" || return 1
  out=$(dt run -d --name "$name" --network blue --ip "$addr" "$SB_DOCKER_IMAGE" sleep 600 2>&1)
  rc=$?
  check "$point: docker run fails" test "$rc" -ne 0
  died "$point"
  d rm -f "$name" >/dev/null 2>&1
  check "$point: vlcpd again, without the fault" vlcpd_up || return 1
  check_output "$point: the reconcile runs and says ok" "ok" reconcile
  no_leaks "$point"
  kept "$point"
  check "$point: the address is free: docker run --ip $addr works" \
    d run -d --name "$name-again" --network blue --ip "$addr" "$SB_DOCKER_IMAGE" sleep 600
  check_output "$point: it has $addr" "$addr" ip_of "$name-again"
  check "$point: it pings the kept container" sb_wait 15 d exec "$name-again" ping -c 1 -W 1 10.1.0.10
  check "$point: rm -f it" d rm -f "$name-again"
  no_leaks "$point, after rm -f"
}
crash after_model f1 10.1.0.21
crash after_veth f2 10.1.0.22
crash after_ovsdb f3 10.1.0.23

# DeleteEndpoint dies after its OVSDB step.
check "a container to remove (10.1.0.24)" d run -d --name f4 --network blue --ip 10.1.0.24 "$SB_DOCKER_IMAGE" sleep 600
vlcpd_down
check "vlcpd with VLCP_FAULT=containers.delete_after_ovsdb" vlcpd_up containers.delete_after_ovsdb
dt rm -f f4 >"$SB_DIR/rm-f4.out" 2>&1
died delete_after_ovsdb
d rm -f f4 >/dev/null 2>&1
check_fails "delete_after_ovsdb: the container is gone for Docker" d inspect f4
check "delete_after_ovsdb: vlcpd again, without the fault" vlcpd_up
check_output "delete_after_ovsdb: the reconcile runs and says ok" "ok" reconcile
no_leaks "delete_after_ovsdb"
kept delete_after_ovsdb
check "delete_after_ovsdb: the address is free: docker run --ip 10.1.0.24 works" \
  d run -d --name f4-again --network blue --ip 10.1.0.24 "$SB_DOCKER_IMAGE" sleep 600
check "delete_after_ovsdb: rm -f it" d rm -f f4-again

# vlcpd down ~10 s while `docker run` waits on the plugin (Docker retries the socket for about
# 15 s): either the container runs connected (vlcpd came back in time) or the run fails cleanly;
# either way the reconcile leaves nothing half-made and the address can be taken again.
vlcpd_down
dt run -d --name w1 --network blue --ip 10.1.0.26 "$SB_DOCKER_IMAGE" sleep 600 >"$SB_DIR/run-w1.out" 2>&1 &
runpid=$!
sleep 10
if kill -0 "$runpid" 2>/dev/null; then echo "down 10 s: docker run waits on the plugin"; else
  echo "down 10 s: docker run ended while vlcpd was down"; fi
check "down 10 s: vlcpd again" vlcpd_up
rc=0
wait "$runpid" || rc=$?
if [ "$rc" -eq 0 ]; then
  pass "down 10 s: docker run succeeded once vlcpd was back"
  check_output "down 10 s: it has 10.1.0.26" "10.1.0.26" ip_of w1
  check "down 10 s: it pings the kept container" sb_wait 15 d exec w1 ping -c 1 -W 1 10.1.0.10
  check_output "down 10 s: the reconcile says ok" "ok" reconcile
  no_leaks "down 10 s, running"
  check "down 10 s: rm -f it" d rm -f w1
else
  pass "down 10 s: docker run failed (exit $rc): $(tail -1 "$SB_DIR/run-w1.out")"
  d rm -f w1 >/dev/null 2>&1
  check_output "down 10 s: the reconcile says ok" "ok" reconcile
fi
no_leaks "down 10 s"
kept "down 10 s"
check "down 10 s: the address is free: docker run --ip 10.1.0.26 works" \
  d run -d --name w2 --network blue --ip 10.1.0.26 "$SB_DOCKER_IMAGE" sleep 600
check "down 10 s: rm -f it" d rm -f w2

# dockerd killed with -9, a container running (besides the kept one), started again.
check "a container running when dockerd dies (10.1.0.25)" \
  d run -d --name f5 --network blue --ip 10.1.0.25 "$SB_DOCKER_IMAGE" sleep 600
kill -KILL "$(sb_dockerd_pid hv1)"
check "dockerd is gone" sb_wait 10 bash -c "! kill -0 $(sb_dockerd_pid hv1) 2>/dev/null"
# Its containerd outlives it (as a service manager would not let it): stopped, the shims and the
# containers left running; a new dockerd otherwise waits on the old containerd's socket.
for p in $(sb_docker_procs hv1); do
  [[ "$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)" == containerd\ * ]] && sb_stop_pid "$p"
done
check_output "the reconcile with Docker away removes nothing" "docker_unreachable" reconcile
check "dockerd started again" sb_dockerd_start hv1 hv1
check_output "the reconcile after dockerd's restart says ok" "ok" reconcile
no_leaks "dockerd kill -9"
check "Docker's network blue is still there" d network inspect blue
d rm -f f5 keep >/dev/null 2>&1
check "the address is free: docker run --ip 10.1.0.25 works" \
  d run -d --name f6 --network blue --ip 10.1.0.25 "$SB_DOCKER_IMAGE" sleep 600
check "and --ip 10.1.0.10 (the kept container's)" \
  d run -d --name f7 --network blue --ip 10.1.0.10 "$SB_DOCKER_IMAGE" sleep 600
check "rm -f them" d rm -f f6 f7

check "network rm blue" d network rm blue
check_output "no docker-* logical network left" "0" \
  pyres /viperflow/listlogicalnetworks "len([n for n in r if n['id'].startswith('docker-')])"
check_output "no docker-* subnet left" "0" \
  pyres /viperflow/listsubnets "len([s for s in r if s['id'].startswith('docker-')])"
no_leaks "at the end"
check "no port left on dockerbr0" test -z "$(sb_vsctl hv1 list-ports dockerbr0)"
check_output "no Docker plugin object left (pools, reservations, networks, infos)" "[]" \
  pyres "/objectdb/list?prefix=viperflow.dockerplugin." "r"
check "vlcpd hv1 still runs" vlcpd_alive

sb_dockerd_stop hv1
finish
