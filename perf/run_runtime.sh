#!/usr/bin/env bash
# The runtime's benchmarks (issue 4): events/s through one ring between two lcores, then vlcpd
# under the ofp_swarm switch emulator. vlcpd runs in hub mode with one worker lcore, so every
# PACKET_IN crosses I/O thread -> ring -> worker lcore -> ring -> I/O thread and comes back as a
# PACKET_OUT. Latency mode (one packet-in in flight per switch) at 1, 16 and 64 switches, then
# throughput mode (16 in flight per switch).
# Usage: perf/run_runtime.sh [BUILD_DIR] [SECONDS]
set -euo pipefail
build=${1:-build/release}
seconds=${2:-5}
dir=$(mktemp -d)
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
of=$(free_port)
http=$(free_port)
cat >"$dir/vlcp.conf" <<CONF
server.loglevel = 'warn'
module.openflowserver.url = 'tcp://127.0.0.1:$of'
module.openflowserver.packetin = 'hub'
module.ovsdbmanager.url = ''
module.httpserver.url = 'tcp://127.0.0.1:$http'
module.metrics.url = ''
module.sched.workers = 1
module.sched.memory_mb = 32
CONF

echo "== ring_bench: 20 M events per run, 5 runs, bursts of 32"
"$build/perf/ring_bench" 20000000 5 32

"$build/src/vlcpd" -c "$dir/vlcp.conf" >"$dir/vlcpd.log" 2>&1 &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do curl -sf "http://127.0.0.1:$http/introspect/placement" >"$dir/placement" && break; sleep 0.05; done
echo "== vlcpd placement: $(tr -d '\n ' <"$dir/placement")"
echo "== ofp_swarm against vlcpd (hub on the worker lcore), ${seconds} s each"
for n in 1 16 64; do "$build/perf/ofp_swarm" 127.0.0.1 "$of" "$n" 1 "$seconds"; done
for n in 16 64; do "$build/perf/ofp_swarm" 127.0.0.1 "$of" "$n" 16 "$seconds"; done
