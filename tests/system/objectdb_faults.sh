#!/usr/bin/env bash
# ObjectDB under faults, on the real things:
#  1. the embedded store killed with SIGKILL during a stream of writes, three times: every
#     acknowledged transaction is there after restart, nothing partial;
#  2. a 3-node ZooKeeper ensemble whose leader is killed while two clients stream transactions:
#     each transaction either committed whole or was reported failed, none half-applied, and
#     both clients converge on the same state;
#  3. the whole ensemble down: writes fail with a clear error at once, reads come from the
#     local mirror (marked stale), and when it returns the client resyncs ("restored") and
#     hears other clients' writes again;
#  4. a client frozen past its session timeout: its session expires, it starts a new one and
#     resyncs with what changed meanwhile.
dbtool=${VLCP_DBTOOL:?set VLCP_DBTOOL to the dbtool test tool}
. "$(dirname "$0")/../lib/system.sh"

count_ok() { grep -c '^ok ' "$1" 2>/dev/null || echo 0; }
at_least() { [ "$(count_ok "$1")" -ge "$2" ]; }

# --- 1. the embedded store and kill -9 ------------------------------------------------------------
db=$SB_DIR/embedded/db
mkdir -p "$SB_DIR/embedded"
results=()
for round in 1 2 3; do
  out=$SB_DIR/kill$round.out
  "$dbtool" --embedded "$db" stream --client "k$round" --count 100000000 >"$out" 2>"$out.err" &
  pid=$!
  sb_record pid "$pid" "dbtool:k$round"
  sb_wait 30 at_least "$out" $((200 * round)) || true
  kill -KILL "$pid"
  wait "$pid" 2>/dev/null
  results+=("$out")
  check "round $round: SIGKILL after $(count_ok "$out") acknowledged transactions" test "$(count_ok "$out")" -gt 0
done
check_output "after SIGKILL: every acknowledged transaction is there, nothing partial" "check ok" \
  "$dbtool" --embedded "$db" check --clients k1,k2,k3 --results "$(IFS=,; echo "${results[*]}")"

# --- 2. the leader dies under two writers -----------------------------------------------------------
check "3-node ensemble serves" sb_zk_start 3 || { finish; exit 1; }
hosts=$(sb_zk_hosts)
pids=()
for c in c1 c2; do
  sb_exec mgmt "$dbtool" --zk "$hosts" --root /faults stream --client $c --peers c1,c2 --count 400 \
    >"$SB_DIR/$c.out" 2>"$SB_DIR/$c.err" &
  pids+=($!)
  sb_record pid "$!" "dbtool:$c"
done
sb_wait 60 at_least "$SB_DIR/c1.out" 50
sb_wait 60 at_least "$SB_DIR/c2.out" 50
leader=$(sb_zk_leader)
check "leader found ($leader) with both clients writing" test -n "$leader"
sb_zk_stop_member "$leader"
for p in "${pids[@]}"; do
  for _ in $(seq 600); do [ -e "/proc/$p" ] || break; sleep 0.5; done
  wait "$p" 2>/dev/null
done
for c in c1 c2; do
  echo "client $c: $(count_ok "$SB_DIR/$c.out") ok, $(grep -c '^fail ' "$SB_DIR/$c.out") failed"
  grep '^fail ' "$SB_DIR/$c.out" | head -3
done
d1=$(sed -n 's/^converged //p' "$SB_DIR/c1.out")
d2=$(sed -n 's/^converged //p' "$SB_DIR/c2.out")
check "both clients converged on one state ($d1)" test -n "$d1" -a "$d1" = "$d2"
check_output "every transaction committed whole or reported failed" "check ok" \
  sb_exec mgmt "$dbtool" --zk "$hosts" --root /faults check --clients c1,c2 --results "$SB_DIR/c1.out,$SB_DIR/c2.out"
check "the killed member rejoins" sb_zk_start_member "$leader"

# --- 3. the whole ensemble down ----------------------------------------------------------------------
coproc SESSION { sb_exec mgmt "$dbtool" --zk "$hosts" --root /outage session 2>"$SB_DIR/session.err"; }
sb_record pid "$SESSION_PID" "dbtool:session"
ask() {  # ask COMMAND EXPECTED-PREFIX [seconds]: send a command, wait for a line with the prefix
  echo "$1" >&"${SESSION[1]}"
  local line deadline=$((SECONDS + ${3:-20}))
  while [ $SECONDS -lt $deadline ]; do
    IFS= read -r -t 1 line <&"${SESSION[0]}" || continue
    echo "  session: $line"
    [[ $line == "$2"* ]] && { REPLY_LINE=$line; return 0; }
  done
  return 1
}
check "a client writes while the ensemble is up" ask "put demo.k {\"v\":1}" "put ok" 30
check "and reads what it watches" ask "get demo.k" 'get {"v":1} stale=0'
for i in 1 2 3; do sb_zk_stop_member "$i"; done
start=$SECONDS
check "with the ensemble down, a write fails with a clear error" ask "put demo.k {\"v\":2}" "put error unavailable" 30
check "  within seconds ($((SECONDS - start)) s): $REPLY_LINE" test $((SECONDS - start)) -le 15
check "reads come from the local mirror, marked stale" ask "get demo.k" 'get {"v":1} stale=1'
sleep 7  # longer than the session timeout: the session expires while the ensemble is away
for i in 1 2 3; do sb_zk_start_member "$i" nowait; done
for i in 1 2 3; do sb_wait 60 sb_zk_serving "$i"; done
check "when it returns, the client resyncs" ask "" "update demo.k {\"v\":1} restored" 60
check_output "another client's write after the return" "put ok" \
  bash -c "echo 'put demo.k {\"v\":3}' | ip netns exec $(sb_ns mgmt) $dbtool --zk $hosts --root /outage session"
check "reaches the first client" ask "" 'update demo.k {"v":3} updated' 30
check "which writes again" ask "put demo.k {\"v\":4}" "put ok" 30

# --- 4. a session that expires --------------------------------------------------------------------
# The client frozen longer than its session timeout (6 s) while the ensemble is up: ZooKeeper
# expires the session; thawed, the client starts a new one and resyncs.
pid=$(pgrep -f -- "--root /outage session" | head -1)
kill -STOP "$pid"
sleep 9
bash -c "echo 'put demo.k {\"v\":5}' | ip netns exec $(sb_ns mgmt) $dbtool --zk $hosts --root /outage session" >/dev/null
kill -CONT "$pid"
check "after its session expired, the client resyncs with what changed meanwhile" \
  ask "" 'update demo.k {"v":5} restored' 60
check "and writes on its new session" ask "put demo.k {\"v\":6}" "put ok" 30
echo quit >&"${SESSION[1]}"
finish
