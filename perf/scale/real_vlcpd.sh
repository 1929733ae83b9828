# A real vlcpd as the measured server (server 0, system-id s0000) beside its own OVS, for
# run_scale.sh (REAL=1; sourced). The OVS runs in a sandbox namespace (tests/sandbox/lib.sh):
# br-int with the VXLAN port (local_ip = server 0's tunnel address, layout.h) and one internal
# port per logical port server 0 hosts (external_ids:iface-id), plugged before vlcpd starts, as
# on a hypervisor that restarts its controller. vlcpd runs in the root namespace (OVS through its
# unix sockets, ZooKeeper on loopback). Measured: start -> in sync (its switch attached and
# synced, and a flow matching every bound port's in_port in table 0), RSS, flows, CPU per remote
# change. It stays up for run_scale.sh's step 3 (sb_down there) with PROBES more internal ports
# plugged (iface-ids probe0..: the probe ports, not yet in the model) and their ofports in
# $real_probe_ofports; real_monitor_start/stop record its switch's flow changes (ovs-ofctl
# monitor, CLOCK_REALTIME stamps) for aggregate.py.
# shellcheck shell=bash
. "$here/../../tests/sandbox/lib.sh"

# in_port values of table 0's flows that are bound ports' ofports: how many of them.
real_ports_covered() {
  local ofports
  ofports=$(sb_vsctl hv --columns=ofport find interface type=internal | awk '/ofport/ {print $3}' | sort -u)
  sb_ofctl hv dump-flows br-int table=0 | grep -o 'in_port=[0-9]*' | cut -d= -f2 | sort -u |
    comm -12 - <(echo "$ofports") | wc -l
}
real_status() {
  curl -sf --max-time 5 "http://127.0.0.1:$real_http/ioprocessing/status" |
    python3 -c "import json, sys; d = json.load(sys.stdin)['result']; s = (d.get('switches') or [{}])[0]; print($1)"
}
real_in_sync() {
  [ "$(real_status "bool(s.get('attached') and s.get('synced'))" 2>/dev/null)" = True ] &&
    [ "$(real_ports_covered)" -ge "$real_bound" ]
}

# real_vlcpd SIZE TAG RESULT_FILE (run_scale.sh's add and common in scope)
real_vlcpd() {
  local size=$1 tag=$2 vlcpd=$build/src/vlcpd
  [ -x "$vlcpd" ] || { echo "   REAL=1: no $vlcpd (build vlcpd)"; return 1; }
  sb_init >/dev/null || return 1
  local ids args=() k=0 id
  mapfile -t ids < <("$bin/scale_build" "${common[@]}" --list-ports 0)
  real_bound=${#ids[@]}
  for id in "${ids[@]}"; do
    args+=(-- add-port br-int "lp$k" -- set interface "lp$k" type=internal "external_ids:iface-id=$id")
    k=$((k + 1))
  done
  if ! { sb_ovs_start hv && sb_vsctl hv set Open_vSwitch . external_ids:system-id=s0000 &&
    sb_bridge hv br-int 0000000000000001 &&
    sb_vsctl hv add-port br-int vxlan0 -- set interface vxlan0 type=vxlan options:remote_ip=flow \
      options:local_ip=172.16.0.1 options:key=flow && sb_vsctl hv "${args[@]:1}" >/dev/null; }; then
    echo "   REAL=1: the sandbox's OVS did not start"
    sb_down
    return 1
  fi
  real_http=$(sb_free_port)
  echo 0 >"$SB_DIR/zk-members"  # the sandbox runs no ZooKeeper of its own (run_scale.sh's is on loopback)
  local extra=()
  [ "$sync" != all ] && extra+=("module.ioprocessing.modelsync = '$sync'")
  [ "$feed" != log ] && extra+=("module.zookeeperdb.feed = '$feed'")
  sb_vlcpd_server_conf "$SB_DIR/hv.conf" hv "server.loglevel = 'warn'" \
    "module.zookeeperdb.url = 'tcp://127.0.0.1:$zk_port'" "module.httpserver.url = 'tcp://127.0.0.1:$real_http'" \
    "module.metrics.url = ''" "${extra[@]}"
  local t0 ready_ms pid
  t0=$(date +%s%N)
  VLCP_VLCPD=$vlcpd sb_vlcpd_start hv "$SB_DIR/hv.conf"
  pid=$(sb_vlcpd_pid hv)
  if ! sb_wait 300 real_in_sync; then
    echo "   real vlcpd never in sync ($(real_ports_covered) of $real_bound ports covered); log:"
    tail -5 "$SB_DIR/vlcpd-hv.log"
    sb_down
    return 1
  fi
  ready_ms=$((($(date +%s%N) - t0) / 1000000))
  local flows rss c0 c1 c2 nets=$((size / 100))
  flows=$(real_status "s.get('installed_flows')")
  rss=$(proc_rss_mb "$pid")
  sleep 2  # its own location writes and the first rounds settle
  c0=$(proc_cpu_ms "$pid")
  "$bin/scale_build" "${common[@]}" --churn "$churn" --network $((nets - 1)) >>"$WORK/churn-$tag.jsonl"
  sleep 1
  c1=$(proc_cpu_ms "$pid")
  "$bin/scale_build" "${common[@]}" --churn "$churn" --network 0 >>"$WORK/churn-$tag.jsonl"
  sleep 1
  c2=$(proc_cpu_ms "$pid")
  add "{\"real_ready_ms\": $ready_ms, \"real_rss_mb\": $rss, \"real_flows\": ${flows:-0},
    \"real_bound\": $real_bound, \"real_rss_mb_after_churn\": $(proc_rss_mb "$pid"),
    \"real_cpu_ms_per_far_change\": $(python3 -c "print(($c1 - $c0) / (2 * $churn))"),
    \"real_cpu_ms_per_near_change\": $(python3 -c "print(($c2 - $c1) / (2 * $churn))")}"
  echo "   real vlcpd: in sync after $ready_ms ms, RSS $rss MB, $flows flows"
  real_probe_ports "$probes"
}

# Plugs K internal ports pr0.. with iface-ids probe0.. (the probes' ids) on br-int; their
# "iface-id ofport" lines in $real_probe_ofports.
real_probe_ports() {
  local k args=()
  for ((k = 0; k < $1; k++)); do
    args+=(-- add-port br-int "pr$k" -- set interface "pr$k" type=internal "external_ids:iface-id=probe$k")
  done
  real_probe_ofports=$WORK/probe-ofports
  : >"$real_probe_ofports"
  [ "$1" -gt 0 ] && sb_vsctl hv "${args[@]:1}" >/dev/null || return 0
  for ((k = 0; k < $1; k++)); do echo "probe$k $(sb_ofport hv "pr$k")" >>"$real_probe_ofports"; done
}
# Flow additions and removals on br-int as they happen, each message stamped on arrival (UTC).
real_monitor_start() {
  local d
  d=$(sb_ovs_dir hv)
  OVS_RUNDIR=$d/run OVS_DBDIR=$d/db OVS_LOGDIR=$d/log OVS_SYSCONFDIR=$d/etc \
    stdbuf -oL ovs-ofctl -O OpenFlow13 --timestamp monitor br-int 'watch:!initial' >"$1" 2>&1 &
  real_monitor_pid=$!
  sleep 0.5
}
real_monitor_stop() { stop_pid "${real_monitor_pid:-}"; }
