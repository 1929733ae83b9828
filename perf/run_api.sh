#!/usr/bin/env bash
# The WebAPI's createlogicalport benchmark (issue 6): one vlcpd on the embedded store (fsync on),
# one logical network and a /16 subnet; perf/api_load sends `viperflow/createlogicalport`
# (single form) on 1 and 8 keep-alive connections, and `createlogicalports` batches of 100.
# Each row is the median of REPS runs (each on a fresh database); JSON lines go to stderr.
# Usage: perf/run_api.sh [BUILD_DIR] [REPS] [REQUESTS]
set -uo pipefail
build=$(cd "${1:-build/release}" && pwd)
reps=${2:-3}
requests=${3:-3000}
load=$build/perf/api_load
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/sandbox/lib.sh"
export VLCP_VLCPD=$build/src/vlcpd
sb_init >/dev/null || exit 1
trap sb_down EXIT

. "$here/lib.sh"

# one_run CONNS REQUESTS BATCH: a fresh vlcpd and network, one api_load run; prints its JSON.
one_run() {
  local n=$RANDOM$RANDOM  # (runs in a subshell: a counter would not advance)
  local port conf=$SB_DIR/api-$n.conf
  port=$(sb_free_port)
  sb_vlcpd_api_conf "$conf" "$port" "module.objectdb.path = \"$SB_DIR/api-$n.mdb\"" "server.loglevel = 'warn'"
  sb_vlcpd_start "api$n" "$conf"
  local api=http://127.0.0.1:$port i
  for i in $(seq 100); do curl -sf "$api/viperflow/listphysicalnetworks" >/dev/null && break; sleep 0.1; done
  curl -sf -d 'id=pn&type=vxlan&vnirange=`[[1000,2000]]`' "$api/viperflow/createphysicalnetwork" >/dev/null &&
    curl -sf -d 'id=ln&physicalnetwork=pn' "$api/viperflow/createlogicalnetwork" >/dev/null &&
    curl -sf -d 'id=sn&logicalnetwork=ln&cidr=10.0.0.0/16&gateway=10.0.0.1' "$api/viperflow/createsubnet" >/dev/null ||
    { echo "setting up the network failed" >&2; tail -5 "$SB_DIR/vlcpd-api$n.log" >&2; return 1; }
  "$load" 127.0.0.1 "$port" ln sn "$1" "$2" "$3" || tail -5 "$SB_DIR/vlcpd-api$n.log" >&2
  kill "$(sb_vlcpd_pid "api$n")" 2>/dev/null
  wait "$(sb_vlcpd_pid "api$n")" 2>/dev/null
}

echo "| form | connections | requests | ports/s | requests/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|---|---|"
for spec in "1 $requests 1" "8 $requests 1" "32 $requests 1" "4 $((requests / 100 + 8)) 100"; do
  set -- $spec
  ports=() rps=() p50=() p99=() errs=()
  for r in $(seq "$reps"); do
    out=$(one_run "$1" "$2" "$3" | tail -1)
    echo "$out" >&2
    [ -n "$out" ] || continue
    ports+=("$(field ports_per_s <<<"$out")")
    rps+=("$(field requests_per_s <<<"$out")")
    p50+=("$(field p50_ms <<<"$out")")
    p99+=("$(field p99_ms <<<"$out")")
    errs+=("$(field errors <<<"$out")")
  done
  form=$([ "$3" = 1 ] && echo single || echo "batch of $3")
  printf '| %s | %s | %s | %.0f | %.0f | %.2f | %.2f | %s |\n' "$form" "$1" "$2" \
    "$(printf '%s\n' "${ports[@]}" | median)" "$(printf '%s\n' "${rps[@]}" | median)" \
    "$(printf '%s\n' "${p50[@]}" | median)" "$(printf '%s\n' "${p99[@]}" | median)" \
    "$(printf '%s\n' "${errs[@]}" | sort -n | tail -1)"
done
