#!/usr/bin/env bash
# Controller learning, two builds of vlcpd compared in one run (perf/run_l2.sh section 3, A/B):
# vlcpd A, vlcpd B (each on one worker lcore, run_l2.sh's configuration) and os-ken
# (perf/osken_learning.py) run side by side on loopback; ofp_swarm's learn mode (B's binary for
# every target) drives them interleaved, round by round (A B os-ken, then B A os-ken, ...), at
# run_l2.sh's two loads (1 switch 1 in flight; 16 switches 4 in flight), so that a noisy machine
# weighs on both builds alike. Each line is one run, with /proc/loadavg at its start; then the
# medians per build and load, and B/A.
# Usage: perf/learn_ab.sh BUILD_A BUILD_B [ROUNDS] [SECONDS]   (BUILD: a build dir with src/vlcpd
#        and perf/ofp_swarm)
set -uo pipefail
a=$(cd "$1" && pwd) || exit 1
b=$(cd "$2" && pwd) || exit 1
rounds=${3:-3}
secs=${4:-5}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/lib.sh"
dir=$(mktemp -d "${TMPDIR:-/tmp}/vlcp-learn-ab.XXXX")
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null; done
  wait 2>/dev/null
}
trap cleanup EXIT
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
declare -A port
start_vlcpd() {  # start_vlcpd NAME BUILD
  port[$1]=$(free_port)
  learning_conf "$dir/$1.conf" "${port[$1]}" "$(free_port)" "$dir/$1.mdb"
  "$2/src/vlcpd" -c "$dir/$1.conf" >"$dir/$1.log" 2>&1 &
  pids+=($!)
}
start_vlcpd A "$a"
start_vlcpd B "$b"
port[os-ken]=$(free_port)
/usr/bin/python3 /usr/bin/osken-manager "$here/osken_learning.py" --ofp-tcp-listen-port "${port[os-ken]}" \
  >"$dir/os-ken.log" 2>&1 &
pids+=($!)
for who in A B os-ken; do
  for _ in $(seq 100); do listening "${port[$who]}" && break; sleep 0.1; done
  listening "${port[$who]}" || { echo "$who is not listening (see $dir/$who.log)"; exit 1; }
done
sleep 2
echo "A=$a B=$b rounds=$rounds seconds=$secs logs=$dir"
: >"$dir/runs"
for r in $(seq "$rounds"); do
  order="A B"
  [ $((r % 2)) -eq 0 ] && order="B A"
  for load in "1 1" "16 4"; do
    set -- $load
    for who in $order os-ken; do
      la=$(cut -d' ' -f1-3 /proc/loadavg)
      line=$("$b/perf/ofp_swarm" 127.0.0.1 "${port[$who]}" "$1" "$2" "$secs" learn) || line="failed"
      echo "round=$r who=$who load=$1x$2 loadavg=${la// /,} $line" | tee -a "$dir/runs"
    done
  done
done
echo "== medians over $rounds rounds"
for load in 1x1 16x4; do
  for who in A B os-ken; do
    sel() { grep " who=$who load=$load " "$dir/runs" | kv "$1" | median; }
    echo "$who load=$load per_s=$(sel responses_per_s) p50_us=$(sel p50_us) p99_us=$(sel p99_us)"
  done
  ra=$(grep " who=A load=$load " "$dir/runs" | kv responses_per_s | median)
  rb=$(grep " who=B load=$load " "$dir/runs" | kv responses_per_s | median)
  la=$(grep " who=A load=$load " "$dir/runs" | kv p50_us | median)
  lb=$(grep " who=B load=$load " "$dir/runs" | kv p50_us | median)
  echo "B/A load=$load per_s=$(awk -v a="$ra" -v b="$rb" 'BEGIN {printf "%.2f", b / a}') p50=$(awk -v a="$la" -v b="$lb" 'BEGIN {printf "%.2f", b / a}')"
done
