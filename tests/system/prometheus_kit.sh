#!/usr/bin/env bash
# The operator's Prometheus kit (appliance/prometheus/): the scrape config (and its commented
# remote variant, uncommented) passes `promtool check config`, the rules `promtool check rules`
# and their tests `promtool test rules`; the dashboard JSON is what dashboard.py declares and its
# queries parse. Then a real vlcpd beside a real OVS bridge: every metric name the rules and the
# dashboard use (taken from the files) is in its /metrics with HELP text, and every recorded name
# they use is recorded. Last, a real Prometheus with the kit's config and rules scrapes that
# vlcpd: the in-sync ratio is 1, and a stopped switch puts VlcpSwitchDisconnected in pending.
. "$(dirname "$0")/../lib/system.sh"
kit=$(cd "$here/../../appliance/prometheus" && pwd)

# --- the files ----------------------------------------------------------------------------------
check "promtool check config prometheus.yml" promtool check config "$kit/prometheus.yml"
check "promtool check rules alerts.yml" promtool check rules "$kit/alerts.yml"
check "promtool test rules alerts_test.yml" promtool test rules "$kit/alerts_test.yml"
# The commented blocks (alertmanager, the remote job over TLS with basic auth) uncommented, with
# the files they name made here.
mkdir -p "$SB_DIR/kit"
cp "$kit/alerts.yml" "$SB_DIR/kit/"
echo secret >"$SB_DIR/kit/password"
openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=vlcp-ca -days 1 -keyout "$SB_DIR/kit/ca.key" \
  -out "$SB_DIR/kit/ca.pem" >/dev/null 2>&1
python3 - "$kit/prometheus.yml" "$SB_DIR/kit" >"$SB_DIR/kit/remote.yml" <<'PY'
import re, sys
src, d = sys.argv[1], sys.argv[2]
out, live = [], False
for line in open(src):
    body = re.sub(r"^(\s*)# ?", r"\1", line) if line.lstrip().startswith("#") else None
    if body is not None and re.match(r"\s*(alerting:|- job_name:)", body):
        live = True
    elif body is None or not body.strip():
        live = False
    out.append(body if live else line)
text = "".join(out).replace("/etc/prometheus/vlcpd-metrics.password", d + "/password")
print(text.replace("/etc/prometheus/vlcp-ca.pem", d + "/ca.pem"), end="")
PY
check_output "the remote variant uncommented" "job_name: vlcpd-remote" cat "$SB_DIR/kit/remote.yml"
check "... passes promtool check config" promtool check config "$SB_DIR/kit/remote.yml"
check "the dashboard JSON is what dashboard.py declares" python3 "$kit/dashboard.py" --check
# Every dashboard query as a recording rule: promtool parses each one.
python3 - "$kit/vlcpd-dashboard.json" >"$SB_DIR/kit/dashboard_exprs.yml" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
exprs = [t["expr"] for p in d["panels"] for t in p.get("targets", [])]
print("groups:\n  - name: dashboard\n    rules:")
for i, e in enumerate(exprs):
    print(f"      - record: dashboard_query_{i}\n        expr: {json.dumps(e.replace('$instance', '.*'))}")
PY
check "every dashboard query parses (promtool check rules)" promtool check rules "$SB_DIR/kit/dashboard_exprs.yml"

# --- a real vlcpd beside a real OVS ---------------------------------------------------------------
sb_ovs_start hv1 || { fail "start OVS"; finish; exit; }
sb_vsctl hv1 set Open_vSwitch . external_ids:system-id=hv1
sb_bridge hv1 br-int 0000000000000001
sb_host h1 hv1 br-int 10.0.0.1/24 ofport=1 iface_id=lp-1
http=$(sb_free_port) metrics=$(sb_free_port)
cat >"$SB_DIR/vlcpd.conf" <<CONF
server.loglevel = 'info'
module.openflowserver.url = 'unix://$(sb_ovs_controller_socket hv1)'
protocol.openflow.keepalivetime = 1
protocol.openflow.keepalivetimeout = 1
module.ovsdbmanager.url = 'unix://$(sb_ovs_dir hv1)/run/db.sock'
module.ovsdbmanager.controller = 'unix:$(sb_ovs_controller_socket hv1)'
module.ovsdbmanager.bridges = ['br-int']
module.httpserver.url = 'tcp://127.0.0.1:$http'
module.metrics.url = 'tcp://127.0.0.1:$metrics'
module.sched.workers = 1
module.sched.memory_mb = 32
# The whole pipeline: its apps' packet-in handlers (DHCP on the worker, L3 on the control thread).
module.openflowmanager.apps = ['ioprocessing','l2switch','vxlancast','arpresponder','dhcpserver','icmpresponder','l3router']
CONF
sb_vlcpd_start hv1 "$SB_DIR/vlcpd.conf"
scrape() { curl -sf --max-time 5 "http://127.0.0.1:$metrics/metrics"; }
check_output "the switch connects" 'vlcp_switch_connected{dpid="0000000000000001"} 1' \
  sb_wait_output 30 scrape 'vlcp_switch_connected{dpid="0000000000000001"} 1'
# The flow owner's series join the switch's on dpid (the same 16 hex digits).
check_output "its flow owner is in sync" 'vlcp_flow_owner_in_sync{dpid="0000000000000001",bridge="br-int"} 1' \
  sb_wait_output 30 scrape 'vlcp_flow_owner_in_sync{dpid="0000000000000001",bridge="br-int"} 1'
check_output "the bridge vlcpd controls is counted" 'vlcp_ovsdb_bridges_managed 1' \
  sb_wait_output 10 scrape 'vlcp_ovsdb_bridges_managed 1'
check_output "  and its switch is connected: none missing" 'vlcp_switches_missing 0' \
  sb_wait_output 10 scrape 'vlcp_switches_missing 0'
# WebAPI requests (their counters appear with the first), one of them a 404.
curl -sf --max-time 5 "http://127.0.0.1:$http/introspect/switches" >/dev/null
curl -s --max-time 5 -o /dev/null "http://127.0.0.1:$http/nosuch"
check_output "the WebAPI's requests are counted by code" 'code="404"' sb_wait_output 10 scrape 'code="404"'
scrape >"$SB_DIR/metrics.txt"
check "promtool accepts /metrics" promtool check metrics <"$SB_DIR/metrics.txt"

# Every vlcp_ name in the rules and the dashboard is served with HELP text (a histogram's
# _bucket/_sum/_count by its family's); every recorded name they use is recorded in alerts.yml.
names_check() {
  python3 - "$SB_DIR/metrics.txt" "$kit/alerts.yml" "$kit/vlcpd-dashboard.json" <<'PY'
import re, sys
metrics = open(sys.argv[1]).read()
kit = {f: open(f).read() for f in sys.argv[2:]}
served = {l.split("{")[0].split(" ")[0] for l in metrics.splitlines() if l and not l.startswith("#")}
helps = {m.group(1) for m in re.finditer(r"^# HELP (\w+) \S", metrics, re.M)}
recorded = set(re.findall(r"^\s*- record: (\S+)", kit[sys.argv[2]], re.M))
bad, used = [], set()
for f, text in kit.items():
    names = set(re.findall(r"(?<![\w:])vlcp_\w+(?![\w:])", text))
    used |= names
    for n in sorted(names):
        family = re.sub(r"_(bucket|sum|count)$", "", n)
        if n not in served:
            bad.append(f"{f}: {n} is not in /metrics")
        elif n not in helps and family not in helps:
            bad.append(f"{f}: {n} has no HELP text")
    for r in sorted(set(re.findall(r"\b[a-z_]+:vlcp_\w+:\w+", text)) - recorded):
        bad.append(f"{f}: {r} is not recorded in alerts.yml")
print(f"{len(used)} vlcp_ metric names used by the kit, all served with HELP" if not bad else "\n".join(bad))
sys.exit(1 if bad else 0)
PY
}
check_output "every metric the kit uses is served with HELP text" "all served with HELP" names_check

# --- a real Prometheus with the kit's config and rules ----------------------------------------------
prom_port=$(sb_free_port)
mkdir -p "$SB_DIR/prom"
sed -e "s/scrape_interval: 15s/scrape_interval: 1s/" -e "s/evaluation_interval: 15s/evaluation_interval: 1s/" \
  -e "s/127.0.0.1:9464/127.0.0.1:$metrics/" "$kit/prometheus.yml" >"$SB_DIR/prom/prometheus.yml"
cp "$kit/alerts.yml" "$SB_DIR/prom/"
prometheus --config.file="$SB_DIR/prom/prometheus.yml" --storage.tsdb.path="$SB_DIR/prom/data" \
  --web.listen-address="127.0.0.1:$prom_port" >"$SB_DIR/prom/log" 2>&1 &
sb_record pid $! prometheus
query() {
  curl -sf --max-time 5 "http://127.0.0.1:$prom_port/api/v1/query" --data-urlencode "query=$1" |
    python3 -c 'import json, sys; print(" ".join(r["value"][1] for r in json.load(sys.stdin)["data"]["result"]))'
}
check_output "Prometheus scrapes vlcpd (up = 1)" "1" sb_wait_output 30 query 'up{job="vlcpd"}' 1
check_output "the recorded in-sync ratio is 1" "1" sb_wait_output 20 query 'instance:vlcp_flow_owner_in_sync:ratio' 1
alerts() {
  curl -sf --max-time 5 "http://127.0.0.1:$prom_port/api/v1/alerts" |
    python3 -c 'import json, sys; print(" ".join(a["labels"]["alertname"] + ":" + a["state"] for a in json.load(sys.stdin)["data"]["alerts"]))'
}
check "no alert on a healthy vlcpd" test -z "$(alerts)"
vswitchd=$(cat "$(sb_ovs_dir hv1)/run/ovs-vswitchd.pid")
kill -STOP "$vswitchd"  # the inactivity probe drops it after 2 s
check_output "a stopped switch: VlcpSwitchDisconnected pending" "VlcpSwitchDisconnected:pending" \
  sb_wait_output 20 alerts "VlcpSwitchDisconnected:pending"
check_output "  vlcp_switches_missing 1" 'vlcp_switches_missing 1' sb_wait_output 20 scrape 'vlcp_switches_missing 1'
check_output "  and VlcpSwitchMissing pending" \
  "VlcpSwitchMissing:pending" sb_wait_output 20 alerts "VlcpSwitchMissing:pending"
kill -CONT "$vswitchd"
no_alerts() { [ -z "$(alerts)" ]; }
check "the switch comes back: the alert clears" sb_wait 30 no_alerts

if [ "$T_FAILED" -gt 0 ]; then
  tail -20 "$SB_DIR/vlcpd-hv1.log"
  tail -5 "$SB_DIR/prom/log"
fi
finish
