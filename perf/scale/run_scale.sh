#!/usr/bin/env bash
# The scale simulator's measurements (issue 20, docs/SCALE_DESIGN.md §4, perf/scale/README.md).
# For each model size (total ports; the measured server's share fixed): a fresh ZooKeeper on
# loopback, the model written by scale_build, then
#   1. the measured node alone in its own process (scale_nodes --nodes 1, server 0): start ->
#      ready, RSS, mirror; CPU and notifications per remote change (scale_build --churn: port
#      creates and deletes in a network it does not host, then in one it does);
#   2. with REAL=1, a real vlcpd as server 0 beside its own OVS (tests/sandbox): start -> its
#      switch in sync with its 100 ports bound, RSS, CPU per remote change;
#   3. NODES simulated nodes in PROCS processes (servers 0..NODES-1): start -> ready, then PROBES
#      ports created through the API's calls in network 0 (from a process of their own): create ->
#      each interested node's view reports it, p50/p99 (CLOCK_REALTIME across the processes), and
#      with REAL=1 create -> the real vlcpd's first table-0 flow for it (the port plugged on its
#      switch beforehand; ovs-ofctl monitor); ZooKeeper packets and watches around them (mntr, wchs).
# One JSON summary per size is appended to OUT (plot.py draws them); the tools' own lines go to
# $WORK/*.jsonl.
# Usage: perf/scale/run_scale.sh [BUILD_DIR] [SIZES...]
#   env: SYNC=all|interest FEED=log|watch NODES=100 PROCS=1 START_RATE=5 (nodes/s, all processes)
#        PROBES=50 PROBE_HOLD_MS=1000 CHURN=50 REAL=0|1 READY_TIMEOUT_S=900
#        OUT=perf/scale/results.jsonl CODE=<commit of the binaries>
# With sync all every simulated node mirrors the whole model (~8 MB at 1k ports, ~100 MB at 10k):
# step 3 then runs at most 1,000 nodes at 1k ports, 50 at 10k, 5 at 100k.
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:-build/release}" && pwd)
shift
sizes=("${@:-1000 10000 100000}")
read -r -a sizes <<<"${sizes[*]}"
sync=${SYNC:-all}
feed=${FEED:-log}
nodes=${NODES:-100}  # in PROCS processes (1,000 in one did not get ready on 2 cores: perf/RESULTS.md)
procs=${PROCS:-1}
ready_timeout=${READY_TIMEOUT_S:-900}
probe_hold_ms=${PROBE_HOLD_MS:-1000}
probes=${PROBES:-50}
churn=${CHURN:-50}
code=${CODE:-}  # the commit the binaries were built from (recorded in the summaries)
start_rate=${START_RATE:-5}  # nodes started per second (each loads its view: ~0.5 s CPU at 1k ports)
out=${OUT:-$here/results.jsonl}
bin=$build/perf
[ -x "$bin/scale_build" ] && [ -x "$bin/scale_nodes" ] || { echo "build scale_build and scale_nodes in $build first"; exit 1; }

WORK=$(mktemp -d /tmp/vlcp-scale.XXXX)
zk_pid=""
node_pid=""
node_pids=()
stop_pid() {  # by PID: TERM, then KILL after 10 s
  local pid=$1 i
  [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
  kill -TERM "$pid" 2>/dev/null
  for i in $(seq 200); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null
  wait "$pid" 2>/dev/null
}
cleanup() {
  stop_pid "$node_pid"
  local p
  for p in "${node_pids[@]}"; do stop_pid "$p"; done
  [ -n "${SB_DIR:-}" ] && sb_down
  stop_pid "$zk_pid"
  rm -rf "$WORK"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# A standalone ZooKeeper on 127.0.0.1 with its data under $WORK, every four-letter word allowed,
# no per-client connection limit (1,000 sessions come from one address).
zk_start() {
  local d=$WORK/zk
  rm -rf "$d"
  mkdir -p "$d/data"
  zk_port=$(free_port)
  cat >"$d/zoo.cfg" <<CFG
tickTime=2000
dataDir=$d/data
clientPort=$zk_port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=*
maxClientCnxns=0
maxSessionTimeout=60000
CFG
  # Debian's start line (tests/sandbox/lib.sh), with a heap for a 100k-port model and 1,000
  # sessions, and no fsync per commit (a simulation on a shared disk, not a durability test).
  java -Xms256m -Xmx${ZK_HEAP:-3g} -Dzookeeper.forceSync=no \
    -cp "/etc/zookeeper/conf:/usr/share/java/zookeeper.jar:/usr/share/java/slf4j-log4j12.jar:/usr/share/java/log4j-1.2.jar" \
    -Dzookeeper.log.dir="$d" -Dzookeeper.root.logger=WARN,ROLLINGFILE -Dzookeeper.log.file=zookeeper.log \
    org.apache.zookeeper.server.quorum.QuorumPeerMain "$d/zoo.cfg" >"$d/stdout.log" 2>&1 </dev/null &
  zk_pid=$!
  local i
  for i in $(seq 600); do
    zk_4lw srvr | grep -q '^Mode: ' && return 0
    sleep 0.1
  done
  echo "ZooKeeper did not start; log:"
  tail -20 "$d/zookeeper.log" "$d/stdout.log"
  return 1
}
zk_4lw() { echo "$1" | nc -w 5 -N 127.0.0.1 "$zk_port" 2>/dev/null; }
# mntr as JSON ({name: number}).
zk_mntr() {
  zk_4lw mntr | python3 -c '
import json, sys
out = {}
for line in sys.stdin:
    k, _, v = line.strip().partition("\t")
    try: out[k] = float(v)
    except ValueError: pass
print(json.dumps(out))'
}
zk_watches() { zk_4lw wchs | sed -n 's/^Total watches://p'; }

# The last JSON line with "event": EVENT in FILE.
event() { grep "\"event\":\"$2\"" "$1" | tail -1; }
events() { grep -c "\"event\":\"$2\"" "$1"; }
# Waits (at most SECONDS) until FILE has more than N (default 0) lines with event EVENT.
wait_event() {
  local file=$1 ev=$2 limit=$3 pid=${4:-} n=${5:-0} i
  for i in $(seq $((limit * 10))); do
    [ "$(events "$file" "$ev")" -gt "$n" ] && return 0
    [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null && return 1
    sleep 0.1
  done
  return 1
}
# CPU (user + system) of PID so far, ms.
proc_cpu_ms() { awk -v t="$(getconf CLK_TCK)" '{sub(/.*\) /, ""); print ($12 + $13) * 1000 / t}' "/proc/$1/stat"; }
proc_rss_mb() { awk '/^VmRSS:/ {print $2 / 1024}' "/proc/$1/status"; }

# 3. M simulated nodes in PROCS processes (servers 0..M-1; process k plays M/PROCS of them from
# server k*M/PROCS, its starts interleaved with the others' at START_RATE nodes/s in all), then
# PROBES creates through the API's calls from a process of their own (scale_nodes --nodes 0), each
# port living PROBE_HOLD_MS before its delete; with REAL=1 the real vlcpd is still up, a probe
# port plugged on its switch (real_probe_ports). aggregate.py matches probes to sightings.
nodes_step() {
  local m=$1 tag=$2 k per first files=() pids=() t0 i
  per=$(((m + procs - 1) / procs))
  local interval=$((procs * 1000 / start_rate))
  node_pids=()
  for ((k = 0; k * per < m; k++)); do
    first=$((k * per))
    local n=$((m - first < per ? m - first : per))
    local f=$WORK/nodes-$tag-$k.jsonl
    files+=("$f")
    "$bin/scale_nodes" "${common[@]}" --nodes "$n" --first-server "$first" --start-interval-ms "$interval" \
      --start-delay-ms $((k * 1000 / start_rate)) --ready-timeout-s "$ready_timeout" --hold \
      >"$f" 2>"$WORK/nodes-$tag-$k.err" &
    node_pids+=($!)
  done
  t0=$(date +%s%N)
  local c0 z0
  z0=$(proc_cpu_ms "$zk_pid")
  # Every 10 s: seconds, nodes ready, ZooKeeper's connections, ZooKeeper's and the nodes' CPU.
  local done_procs=0 last=-1
  while :; do
    done_procs=0
    for f in "${files[@]}"; do [ "$(events "$f" ready)" -gt 0 ] && done_procs=$((done_procs + 1)); done
    local secs=$((($(date +%s%N) - t0) / 1000000000))
    if [ $((secs / 10)) -ne "$last" ] || [ "$done_procs" -eq "${#files[@]}" ]; then
      last=$((secs / 10))
      local cpu p  # (awk, not a python per process: the driver's own CPU stays small)
      cpu=$(for p in "${node_pids[@]}"; do proc_cpu_ms "$p" 2>/dev/null; done | awk '{s += $1} END {printf "%d", s}')
      echo "   t=${secs}s ready $(cat "${files[@]}" | grep -c '"event":"node"')/$m," \
        "zk connections $(zk_4lw mntr | awk '$1 == "zk_num_alive_connections" {print $2}')," \
        "zk cpu $((($(proc_cpu_ms "$zk_pid" | cut -d. -f1) - ${z0%.*}) / 1000)) s, nodes cpu ${cpu%.*} ms," \
        "load $(cut -d' ' -f1 /proc/loadavg)"
    fi
    [ "$done_procs" -eq "${#files[@]}" ] && break
    sleep 1
  done
  local connect_s zcpu
  connect_s=$(python3 -c "print(($(date +%s%N) - $t0) / 1e9)")
  zcpu=$(python3 -c "print(($(proc_cpu_ms "$zk_pid") - $z0) / 1000)")
  sleep 2
  local w0 p0 p1 pf=$WORK/probes-$tag.jsonl mon=() monf=$WORK/ofmon-$tag.log
  w0=$(zk_watches)
  p0=$(zk_mntr)
  if [ "${REAL:-0}" = 1 ] && [ -n "${real_probe_ofports:-}" ]; then
    real_monitor_start "$monf"
    mon=(--ofmon "$monf" --ofports "$real_probe_ofports")
  fi
  "$bin/scale_nodes" "${common[@]}" --nodes 0 --probes "$probes" --probe-network 0 \
    --probe-hold-ms "$probe_hold_ms" >"$pf" 2>"$WORK/probes-$tag.err"
  p1=$(zk_mntr)
  sleep 1
  [ "${REAL:-0}" = 1 ] && real_monitor_stop
  local agg
  agg=$("$here/aggregate.py" "$pf" "${files[@]}" "${mon[@]}")
  add "$agg"
  add "$(python3 -c "
import json, sys
a = json.loads(sys.argv[1]); b = json.loads(sys.argv[2]); n = max(1, json.loads(sys.argv[3])['probes'])
print(json.dumps({'nodes_connect_s': $connect_s, 'zk_cpu_s_connect': $zcpu, 'watches': float(sys.argv[4] or 0),
  'zk_connections': a.get('zk_num_alive_connections'),
  'start_rate': $start_rate, 'procs': ${#files[@]},
  'zk_received_per_probe': (b['zk_packets_received'] - a['zk_packets_received']) / n,
  'zk_sent_per_probe': (b['zk_packets_sent'] - a['zk_packets_sent']) / n}))" "$p0" "$p1" "$agg" "$w0")"
  echo "   $m nodes in ${#files[@]} processes, connected in ${connect_s%.*} s (ZooKeeper CPU ${zcpu%.*} s): $agg"
  for i in "${!node_pids[@]}"; do stop_pid "${node_pids[$i]}"; done
  node_pids=()
}

common=()
run_size() {
  local size=$1 tag=$sync-$feed-$1
  local servers=$((size / 100))
  [ "$servers" -lt 10 ] && servers=10
  local res=$WORK/$tag.json
  echo "{}" >"$res"
  add() { python3 -c "import json,sys; d=json.load(open('$res')); d.update(json.loads(sys.argv[1])); json.dump(d, open('$res','w'))" "$1"; }

  echo "== $size ports on $servers servers (sync $sync, feed $feed)"
  zk_start || return 1
  common=(--zk "127.0.0.1:$zk_port" --root /vlcp --ports "$size" --servers "$servers" --feed "$feed" --sync "$sync")
  local t=$SECONDS
  "$bin/scale_build" "${common[@]}" >"$WORK/build-$tag.jsonl" || { echo "scale_build failed"; return 1; }
  local built
  built=$(event "$WORK/build-$tag.jsonl" built)
  echo "   built in $((SECONDS - t)) s: $built"
  local m0
  m0=$(zk_mntr)
  add "$(python3 -c "
import json, sys
b = json.loads(sys.argv[1]); m = json.loads(sys.argv[2])
print(json.dumps({'size': $size, 'servers': $servers, 'sync': '$sync', 'feed': '$feed', 'code': '$code',
  'build_s': b['seconds'], 'keys': b['keys'], 'keys_per_s': b['keys_per_s'], 'census': b['census'],
  'znodes': m.get('zk_znode_count'), 'znodes_per_port': m.get('zk_znode_count', 0) / $size,
  'zk_data_mb': m.get('zk_approximate_data_size', 0) / 1e6}))" "$built" "$m0")"

  # 1. The measured node alone.
  local f=$WORK/node-$tag.jsonl
  "$bin/scale_nodes" "${common[@]}" --nodes 1 --first-server 0 --hold >"$f" 2>"$WORK/node-$tag.err" &
  node_pid=$!
  if wait_event "$f" ready 300 "$node_pid"; then
    local nets=$((size / 100)) before after near mb ma
    stats() {  # the node's counters now (SIGUSR1: one more stats line)
      local n
      n=$(events "$f" stats)
      kill -USR1 "$node_pid"
      wait_event "$f" stats 10 "$node_pid" "$n"
      event "$f" stats
    }
    before=$(stats)
    "$bin/scale_build" "${common[@]}" --churn "$churn" --network $((nets - 1)) >>"$WORK/churn-$tag.jsonl"
    sleep 1
    after=$(stats)
    mb=$(zk_mntr)
    "$bin/scale_build" "${common[@]}" --churn "$churn" --network 0 >>"$WORK/churn-$tag.jsonl"
    sleep 1
    near=$(stats)
    ma=$(zk_mntr)
    add "$(python3 -c "
import json, sys
r = json.loads(sys.argv[1]); b = json.loads(sys.argv[2]); a = json.loads(sys.argv[3]); n = json.loads(sys.argv[4])
mb = json.loads(sys.argv[5]); ma = json.loads(sys.argv[6])
k = 2 * $churn  # changes: each create and each delete (the create's location write included)
print(json.dumps({'node_ready_ms': r['ready_ms_p50'], 'node_rss_mb': r['rss_mb'], 'node_mirror_at_ready': r['mirror_per_node'],
  'node_mirror': n['mirror'],
  'node_threads': r['threads'],
  'node_cpu_ms_per_far_change': (a['cpu_ms'] - b['cpu_ms']) / k,
  'node_notifications_per_far_change': (a['notifications'] - b['notifications']) / k,
  'node_cpu_ms_per_near_change': (n['cpu_ms'] - a['cpu_ms']) / k,
  'node_notifications_per_near_change': (n['notifications'] - a['notifications']) / k,
  'node_rss_mb_after_churn': n['rss_mb'],
  'zk_packets_per_churn_cycle_1node': (ma['zk_packets_received'] + ma['zk_packets_sent'] - mb['zk_packets_received'] - mb['zk_packets_sent']) / $churn}))" \
      "$(event "$f" ready)" "$before" "$after" "$near" "$mb" "$ma")"
    echo "   measured node: $(event "$f" ready)"
  else
    echo "   measured node never ready; stderr:"
    tail -5 "$WORK/node-$tag.err"
  fi
  stop_pid "$node_pid"
  node_pid=""

  # 2. A real vlcpd as server 0 (REAL=1).
  [ "${REAL:-0}" = 1 ] && real_vlcpd "$size" "$tag" "$res"

  # 3. NODES simulated nodes, then probes.
  local m=$nodes
  if [ "$sync" = all ]; then  # each node mirrors the whole model: as many as memory holds
    local cap
    case $size in 1000) cap=1000 ;; 10000) cap=50 ;; *) cap=$((5000000 / size)) ;; esac
    [ "$m" -gt "$cap" ] && m=$cap
  fi
  if [ "$m" -ge 1 ]; then
    nodes_step "$m" "$tag"
  fi
  [ "${REAL:-0}" = 1 ] && sb_down
  stop_pid "$zk_pid"
  zk_pid=""
  python3 -c "import json; d = json.load(open('$res')); print(json.dumps(d))" >>"$out"
  echo "   summary: $(tail -1 "$out")"
}

[ "${REAL:-0}" = 1 ] && . "$here/real_vlcpd.sh"

for size in "${sizes[@]}"; do
  run_size "$size" || echo "size $size failed"
done
