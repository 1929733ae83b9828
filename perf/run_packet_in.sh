#!/usr/bin/env bash
# The packet-in path (issue 17), the same work for every controller, in one run: ofp_swarm's
# learnpo mode (perf/ofp_swarm.cc: unbuffered PACKET_INs as l2input's learning flow punts them,
# from a new source MAC each, to destinations learned first) against
#   ovs-testcontroller  Debian's openvswitch-testcontroller, a C learning switch: FLOW_MOD + PACKET_OUT
#   os-ken              perf/osken_packet_in.py (simple_switch_13): FLOW_MOD + PACKET_OUT
#   vlcpd-1w            vlcpd, controller learning (l2switch.nxlearn = False) on 1 worker lcore,
#                       the shared-core default: two FLOW_MODs per PACKET_IN
#   vlcpd-2w            the same on 2 workers (with module.sched.share_io_core = True when this
#                       vlcpd has the key: on 2 cores the second worker shares the I/O core)
#   vlcpd-0w            no worker lcore (module.sched.workers = 0): the control thread runs it
#   vlcpd-ded           the dedicated-core profile: 1 worker, module.sched.cores = the last core,
#                       and module.sched.poll = 'pure' when this vlcpd accepts the key
# at two shapes: latency (1 switch, 1 PACKET_IN outstanding) and throughput (16 switches x 64).
# Every controller is started afresh for each measurement (RUNS per shape, the order rotated
# each run); medians of RUNS; vlcpd / ovs-testcontroller ratios of answered/s and p99. CPU per
# answer from /proc/PID/task/*/stat (utime + stime) over the whole ofp_swarm run, divided by
# every PACKET_IN answered in it: the process, and for vlcpd its I/O thread (named vlcp-io* when
# the build names it, else the busiest thread that is neither the control thread nor a worker
# lcore), its worker lcores and its control thread.
# Usage: perf/run_packet_in.sh [BUILD_DIR] [RUNS] [SECONDS]   (defaults build/release 3 5)
#        TARGETS="ovs-testcontroller vlcpd-1w" perf/run_packet_in.sh ...   runs a subset;
#        VLCPD=/path/to/vlcpd perf/run_packet_in.sh ...   another vlcpd binary (default BUILD_DIR/src/vlcpd);
#        SHAPES="1x1 4x8" perf/run_packet_in.sh ...   other shapes (SWITCHESxWINDOW).
# Exit status 1 when a controller did not start, ofp_swarm failed, a target answered nothing or a
# destination was flooded (the harness is then not measuring the learning work): the system
# test system_packet_in_bench runs it small.
set -uo pipefail
build=$(cd "${1:-build/release}" && pwd) || exit 1
runs=${2:-3}
secs=${3:-5}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../tests/sandbox/lib.sh"
. "$here/lib.sh"
vlcpd=${VLCPD:-$build/src/vlcpd}
swarm=$build/perf/ofp_swarm
targets=${TARGETS:-ovs-testcontroller os-ken vlcpd-1w vlcpd-2w vlcpd-ded vlcpd-0w}
read -r -a shapes <<<"${SHAPES:-1x1 16x64}"
for t in $targets; do
  case $t in ovs-testcontroller | os-ken | vlcpd-1w | vlcpd-2w | vlcpd-0w | vlcpd-ded) ;;
    *) echo "run_packet_in: unknown target $t" >&2; exit 2 ;;
  esac
done
for s in "${shapes[@]}"; do
  [[ $s =~ ^[0-9]+x[0-9]+$ ]] || { echo "run_packet_in: a shape is SWITCHESxWINDOW, not $s" >&2; exit 2; }
done
need=("$swarm")
[[ " $targets " == *" vlcpd-"* ]] && need+=("$vlcpd")
[[ " $targets " == *" ovs-testcontroller "* ]] && need+=(/usr/bin/ovs-testcontroller)
[[ " $targets " == *" os-ken "* ]] && need+=(/usr/bin/osken-manager)
for f in "${need[@]}"; do
  [ -x "$f" ] || { echo "run_packet_in: $f is missing (make all; apt-get install openvswitch-testcontroller python3-os-ken)" >&2; exit 1; }
done
sb_init || exit 1
trap sb_down EXIT
t_begin=$SECONDS
kv() { sed -n "s/.* $1=\([^ ]*\).*/\1/p"; }
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
last_cpu=$(($(nproc) - 1))

# vlcpd's configuration for a target: learning_conf (perf/lib.sh, as run_l2.sh section 3) and
# the target's keys. Keys newer than the baseline (vlcpd refuses unknown keys) are added only
# when `vlcpd --check-config` accepts them, and the run says which were left out.
vlcpd_conf() {  # vlcpd_conf TARGET FILE OPENFLOW_PORT
  learning_conf "$2" "$3" "$(sb_free_port)" "$2.mdb"
  local optional=()
  case $1 in
    vlcpd-2w)  # two workers really: on 2 cores the second one shares the I/O thread's core
      sed -i 's/^module.sched.workers = .*/module.sched.workers = 2/' "$2"
      optional=("module.sched.share_io_core = True")
      ;;
    vlcpd-0w) sed -i 's/^module.sched.workers = .*/module.sched.workers = 0/' "$2" ;;
    vlcpd-ded)
      echo "module.sched.cores = '$last_cpu'" >>"$2"
      optional=("module.sched.poll = 'pure'")
      ;;
  esac
  local key
  for key in "${optional[@]}"; do
    cp "$2" "$2.try"
    echo "$key" >>"$2.try"
    if "$vlcpd" --check-config -c "$2.try" >/dev/null 2>&1; then
      mv "$2.try" "$2"
    else
      rm -f "$2.try"
      [[ " ${told:-} " == *" ${key%% *} "* ]] || echo "note: this vlcpd does not accept ${key%% *}: $1 runs without it"
      told="${told:-} ${key%% *}"
    fi
  done
}

start_target() {  # start_target TARGET PORT TAG: starts it, sets cpid, waits until it listens
  local log=$SB_DIR/$3.log
  case $1 in
    ovs-testcontroller)
      /usr/bin/ovs-testcontroller -O OpenFlow13 --unixctl="$SB_DIR/$3.ctl" "ptcp:$2:127.0.0.1" >"$log" 2>&1 &
      ;;
    os-ken)
      /usr/bin/python3 /usr/bin/osken-manager "$here/osken_packet_in.py" --ofp-listen-host 127.0.0.1 \
        --ofp-tcp-listen-port "$2" >"$log" 2>&1 &
      ;;
    vlcpd-*)
      vlcpd_conf "$1" "$SB_DIR/$3.conf" "$2"
      "$vlcpd" -c "$SB_DIR/$3.conf" >"$log" 2>&1 &
      ;;
  esac
  cpid=$!
  sb_record pid "$cpid" "$1"
  for _ in $(seq 150); do listening "$2" && break; sleep 0.1; done
  listening "$2" || { echo "$1 is not listening (see $log)" >&2; return 1; }
  sleep 0.5
}

# cpu_snapshot PID: "tid comm ticks" for each thread (utime + stime, clock ticks).
cpu_snapshot() {
  python3 - "$1" <<'PY'
import os, sys
pid = sys.argv[1]
for tid in os.listdir(f"/proc/{pid}/task"):
    try:
        s = open(f"/proc/{pid}/task/{tid}/stat").read()
    except OSError:
        continue
    comm = s[s.index("(") + 1:s.rindex(")")].replace(" ", "_")
    f = s[s.rindex(")") + 2:].split()
    print(tid, comm, int(f[11]) + int(f[12]))
PY
}

# cpu_per_answer PID BEFORE AFTER ANSWERED: CPU µs per answer, as key=value fields.
cpu_per_answer() {
  python3 - "$@" <<'PY'
import os, re, sys
pid, before, after, answered = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4] or 0)
tick_us = 1e6 / os.sysconf("SC_CLK_TCK")
def load(path):
    out = {}
    for line in open(path):
        tid, comm, ticks = line.split()
        out[tid] = (comm, int(ticks))
    return out
b, a = load(before), load(after)
delta = {tid: (comm, ticks - b.get(tid, (comm, 0))[1]) for tid, (comm, ticks) in a.items()}
per = lambda ticks: ticks * tick_us / answered if answered else 0.0
worker = re.compile(r"(lcore|rte|eal).*worker|^vlcp-w", re.I)
io = [t for t, (c, _) in delta.items() if c.startswith("vlcp-io")]
guessed = ""
if not io:
    rest = [t for t, (c, _) in delta.items() if t != pid and not worker.search(c)]
    io = [max(rest, key=lambda t: delta[t][1])] if rest else []
    guessed = "(guess)"
fields = {
    "proc_us": per(sum(x for _, x in delta.values())),
    "io_us": per(sum(delta[t][1] for t in io)),
    "worker_us": per(sum(x for t, (c, x) in delta.items() if worker.search(c))),
    "main_us": per(delta.get(pid, ("", 0))[1]),
}
busy = sorted(((x, t, c) for t, (c, x) in delta.items() if x > 0), reverse=True)[:6]
print(" ".join(f"{k}={v:.2f}" for k, v in fields.items()),
      "io_thread=" + ",".join(delta[t][0] for t in io) + guessed,
      "threads=" + ",".join(f"{c}/{t}:{x * tick_us / 1e3:.0f}ms" for x, t, c in busy))
PY
}

echo "run_packet_in: build=$build vlcpd=$vlcpd runs=$runs seconds=$secs targets=($targets) sandbox=$SB_DIR"
echo "machine: nproc=$(nproc) $(lscpu | sed -n 's/^Model name: *//p') loadavg=$(cut -d' ' -f1-3 /proc/loadavg)"
: >"$SB_DIR/runs"
read -r -a order <<<"$targets"
n=0
for r in $(seq "$runs"); do
  for shape in "${shapes[@]}"; do
    set -- ${shape/x/ }
    for who in "${order[@]}"; do
      n=$((n + 1))
      port=$(sb_free_port)
      if ! start_target "$who" "$port" "$who.$n"; then
        echo "run=$r shape=$1x$2 who=$who failed to start" | tee -a "$SB_DIR/runs"
        sb_stop_pid "$cpid"
        continue
      fi
      la=$(cut -d' ' -f1-3 /proc/loadavg)
      cpu_snapshot "$cpid" >"$SB_DIR/cpu.before"
      line=$("$swarm" 127.0.0.1 "$port" "$1" "$2" "$secs" learnpo 2>>"$SB_DIR/$who.$n.swarm") || line="failed"
      cpu_snapshot "$cpid" >"$SB_DIR/cpu.after"
      cpu=$(cpu_per_answer "$cpid" "$SB_DIR/cpu.before" "$SB_DIR/cpu.after" "$(echo " $line" | kv total_answered)")
      sb_stop_pid "$cpid"
      echo "run=$r shape=$1x$2 who=$who loadavg=${la// /,} $line $cpu" | tee -a "$SB_DIR/runs"
    done
  done
  order=("${order[@]:1}" "${order[0]}")  # rotate: each target takes each position in turn
done

echo
echo "== packet-in path, medians of $runs runs of ${secs} s (answered: both expected messages arrived)"
python3 - "$SB_DIR/runs" "$targets" "${shapes[*]}" <<'PY'
import statistics, sys
rows, problems = {}, []
for line in open(sys.argv[1]):
    kv = dict(f.split("=", 1) for f in line.split() if "=" in f)
    if "responses_per_s" not in kv:
        problems.append(line.strip())
        continue
    rows.setdefault((kv["shape"], kv["who"]), []).append(kv)
    if int(kv["responses"]) == 0 or int(kv["flooded"]) > 0:
        problems.append(f"run={kv['run']} shape={kv['shape']} who={kv['who']}: "
                        f"answered {kv['responses']}, flooded {kv['flooded']}")
def med(shape, who, key):
    xs = [float(k[key]) for k in rows.get((shape, who), []) if key in k]
    return statistics.median(xs) if xs else None
def fmt(v, spec):
    return "-" if v is None else format(v, spec)
cols = ["answered/s", "p50 µs", "p99 µs", "B/answer", "flooded", "lost", "CPU µs/ans", "I/O µs/ans",
        "worker µs/ans", "vs OTC ans/s", "vs OTC p99"]
print(f"{'shape':7} {'controller':19} " + " ".join(f"{c:>13}" for c in cols))
for shape in sys.argv[3].split():
    base_rate = med(shape, "ovs-testcontroller", "responses_per_s")
    base_p99 = med(shape, "ovs-testcontroller", "p99_us")
    for who in sys.argv[2].split():
        rate = med(shape, who, "responses_per_s")
        p99 = med(shape, who, "p99_us")
        vlcpd = who.startswith("vlcpd")
        vals = [fmt(rate, ".0f"), fmt(med(shape, who, "p50_us"), ".1f"), fmt(p99, ".1f"),
                fmt(med(shape, who, "bytes_per_answer"), ".0f"), fmt(med(shape, who, "flooded"), ".0f"),
                fmt(med(shape, who, "lost"), ".0f"), fmt(med(shape, who, "proc_us"), ".2f"),
                fmt(med(shape, who, "io_us"), ".2f") if vlcpd else "-",
                fmt(med(shape, who, "worker_us"), ".2f") if vlcpd else "-",
                fmt(rate / base_rate, ".2f") if rate and base_rate else "-",
                fmt(p99 / base_p99, ".2f") if p99 and base_p99 else "-"]
        print(f"{shape:7} {who:19} " + " ".join(f"{v:>13}" for v in vals))
for p in problems:
    print("FAIL:", p)
sys.exit(1 if problems else 0)
PY
status=$?
[ -n "${OUT:-}" ] && cp "$SB_DIR/runs" "$OUT"
echo "wall time: $((SECONDS - t_begin)) s (runs and logs: $SB_DIR, removed on exit; OUT=FILE keeps the runs)"
exit $status
