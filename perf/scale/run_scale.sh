#!/usr/bin/env bash
# The scale simulator's measurements (issue 20, docs/SCALE_DESIGN.md §4, perf/scale/README.md).
# For each model size (total ports; the measured server's share fixed): a fresh ZooKeeper on
# loopback, the model written by scale_build, then
#   1. the measured node alone in its own process (scale_nodes --nodes 1, server 0): start ->
#      ready, RSS, mirror; CPU and notifications per remote change (scale_build --churn: port
#      creates and deletes in a network it does not host, then in one it does);
#   2. with REAL=1, a real vlcpd as server 0 beside its own OVS (tests/sandbox): start -> its
#      switch in sync with its 100 ports bound, RSS, CPU per remote change;
#   3. NODES simulated nodes in one process (servers 0..NODES-1): start -> ready, then PROBES
#      ports created through the API's calls in network 0: create -> each interested node's view
#      reports it, p50/p99; ZooKeeper packets and watches around them (mntr, wchs).
# One JSON summary per size is appended to OUT (plot.py draws them); the tools' own lines go to
# $WORK/*.jsonl.
# Usage: perf/scale/run_scale.sh [BUILD_DIR] [SIZES...]
#   env: SYNC=all|interest FEED=log|watch NODES=100 START_RATE=5 PROBES=50 CHURN=50 REAL=0|1
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
nodes=${NODES:-100}  # (1,000 in one process does not get ready on 2 cores: perf/RESULTS.md)
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
    f=$WORK/nodes-$tag.jsonl
    "$bin/scale_nodes" "${common[@]}" --nodes "$m" --first-server 0 --start-rate "$start_rate" --hold \
      --probe-on-signal --probes "$probes" --probe-network 0 >"$f" 2>"$WORK/nodes-$tag.err" &
    node_pid=$!
    if wait_event "$f" ready 900 "$node_pid"; then
      local w0 p0 p1
      sleep 2
      w0=$(zk_watches)
      p0=$(zk_mntr)
      kill -USR2 "$node_pid"
      wait_event "$f" probes 600 "$node_pid"
      p1=$(zk_mntr)
      add "$(python3 -c "
import json, sys
r = json.loads(sys.argv[1]); p = json.loads(sys.argv[2]); a = json.loads(sys.argv[3]); b = json.loads(sys.argv[4])
print(json.dumps({'nodes': r['nodes'], 'nodes_ready': r['ready'], 'nodes_ready_ms_p50': r['ready_ms_p50'],
  'nodes_ready_ms_p99': r['ready_ms_p99'], 'nodes_wall_ms': r['wall_ms'], 'nodes_rss_mb': r['rss_mb'],
  'nodes_threads': r['threads'], 'watches': float(sys.argv[5] or 0),
  'probe_interested': p['interested_per_probe'], 'probe_seen_ms_p50': p['seen_ms_p50'],
  'probe_seen_ms_p99': p['seen_ms_p99'], 'probe_missed': p['missed'], 'probe_commit_ms_p50': p['commit_ms_p50'],
  'zk_received_per_probe': (b['zk_packets_received'] - a['zk_packets_received']) / p['probes'],
  'zk_sent_per_probe': (b['zk_packets_sent'] - a['zk_packets_sent']) / p['probes']}))" \
        "$(event "$f" ready)" "$(event "$f" probes)" "$p0" "$p1" "$w0")"
      echo "   $m nodes: $(event "$f" ready)"
      echo "   probes: $(event "$f" probes)"
    else
      echo "   $m nodes never all ready: $(event "$f" ready); stderr:"
      tail -5 "$WORK/nodes-$tag.err"
    fi
    stop_pid "$node_pid"
    node_pid=""
  fi
  stop_pid "$zk_pid"
  zk_pid=""
  python3 -c "import json; d = json.load(open('$res')); print(json.dumps(d))" >>"$out"
  echo "   summary: $(tail -1 "$out")"
}

[ "${REAL:-0}" = 1 ] && . "$here/real_vlcpd.sh"

for size in "${sizes[@]}"; do
  run_size "$size" || echo "size $size failed"
done
