#!/usr/bin/env python3
"""vlcpd's Grafana dashboard, declared here row by row and written to vlcpd-dashboard.json.

One row per concern (switches, flows, packet-in path, ObjectDB, API); each panel is a title, a
unit and its PromQL queries. Recorded names (level:metric:operations) come from alerts.yml.
`dashboard.py` rewrites the JSON; `dashboard.py --check` fails when the JSON is not what this
file declares (tests/system/prometheus_kit.sh runs it).
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "vlcpd-dashboard.json")
SEL = 'instance=~"$instance"'  # every query is narrowed to the chosen vlcpd instances

# (row title, [(panel title, unit, [(expr, legend)], panel type)])
ROWS = [
    ("Switches", [
        ("Switches connected", "none",
         [(f"sum(vlcp_switches_connected{{{SEL}}})", "connected")], "stat"),
        ("Flow owners in sync", "percentunit",
         [(f"min(instance:vlcp_flow_owner_in_sync:ratio{{{SEL}}})", "in sync")], "stat"),
        ("vlcpd up (scrapes answered)", "none",
         [(f'up{{job=~"vlcpd.*",{SEL}}}', "{{instance}}")], "timeseries"),
        ("Connected, by datapath", "none",
         [(f"vlcp_switch_connected{{{SEL}}}", "{{instance}} {{dpid}}")], "timeseries"),
        ("In sync, by bridge", "none",
         [(f"vlcp_flow_owner_in_sync{{{SEL}}}", "{{instance}} {{bridge}} {{dpid}}")], "timeseries"),
        ("Switch connections in the last hour", "none",
         [(f"instance:vlcp_switch_connections:increase1h{{{SEL}}}", "{{instance}}")], "timeseries"),
        ("Control loop lag", "s",
         [(f"vlcp_control_loop_lag_seconds{{{SEL}}}", "{{instance}}")], "timeseries"),
        ("Ports, by datapath", "none",
         [(f"vlcp_switch_ports{{{SEL}}}", "{{instance}} {{dpid}}")], "timeseries"),
    ]),
    ("Flows", [
        ("Flows on each switch", "none",
         [(f"vlcp_flow_owner_flows{{{SEL}}}", "{{instance}} {{bridge}}")], "timeseries"),
        ("Flows by app", "none",
         [(f"sum by (instance, app) (vlcp_app_flows_installed{{{SEL}}})", "{{instance}} {{app}}")], "timeseries"),
        ("FLOW_MODs sent", "ops",
         [(f"instance:vlcp_flow_owner_flow_mods:rate5m{{{SEL}}}", "{{instance}}")], "timeseries"),
        ("Flow-mod errors from the switch", "ops",
         [(f"instance_dpid:vlcp_flow_owner_batch_errors:rate5m{{{SEL}}}", "{{instance}} {{bridge}}")],
         "timeseries"),
        ("Barrier round trip (p99)", "s",
         [(f"instance:vlcp_barrier_rtt_seconds:p99_rate5m{{{SEL}}}", "{{instance}}")], "timeseries"),
        ("Last reconcile: connect to in sync", "s",
         [(f"vlcp_flow_owner_last_reconcile_seconds{{{SEL}}}", "{{instance}} {{bridge}}")], "timeseries"),
    ]),
    ("Packet-in path", [
        ("PACKET_INs received", "ops",
         [(f"instance:vlcp_packet_ins:rate5m{{{SEL}}}", "{{instance}}")], "timeseries"),
        ("Handled, by app and side", "ops",
         [(f"instance_app:vlcp_packet_in_handled:rate5m{{{SEL}}}", "{{instance}} {{app}} ({{side}})")],
         "timeseries"),
        ("Shed, unclaimed, failed", "ops",
         [(f"instance:vlcp_packet_ins_shed:rate5m{{{SEL}}}", "{{instance}} shed (workers behind)"),
          (f"rate(vlcp_packet_in_unclaimed_total{{{SEL}}}[5m])", "{{instance}} unclaimed"),
          (f"sum by (instance) (rate(vlcp_packet_in_failed_total{{{SEL}}}[5m]))", "{{instance}} handler failed"),
          (f"rate(vlcp_openflow_messages_dropped_total{{{SEL}}}[5m])", "{{instance}} all switch messages shed")],
         "timeseries"),
        ("Ring occupancy", "percentunit",
         [(f"vlcp_ring_occupancy{{{SEL}}} / vlcp_ring_capacity{{{SEL}}}", "{{instance}} {{ring}}")],
         "timeseries"),
        ("Ring full (back-pressure)", "ops",
         [(f"instance_ring:vlcp_ring_full:rate5m{{{SEL}}}", "{{instance}} {{ring}}")], "timeseries"),
        ("Handed to worker lcores", "ops",
         [(f"rate(vlcp_packet_ins_to_workers_total{{{SEL}}}[5m])", "{{instance}}")], "timeseries"),
    ]),
    ("ObjectDB", [
        ("Store connected", "none",
         [(f"vlcp_objectdb_store_connected{{{SEL}}}", "{{instance}} {{store}}")], "timeseries"),
        ("Transactions", "ops",
         [(f"instance:vlcp_objectdb_transactions:rate5m{{{SEL}}}", "{{instance}} committed"),
          (f"rate(vlcp_objectdb_conflicts_total{{{SEL}}}[5m])", "{{instance}} conflicts (retried)"),
          (f"instance:vlcp_objectdb_failed:rate5m{{{SEL}}}", "{{instance}} failed")], "timeseries"),
        ("Walks", "ops",
         [(f"rate(vlcp_objectdb_walks_total{{{SEL}}}[5m])", "{{instance}} walks"),
          (f"rate(vlcp_objectdb_stale_walks_total{{{SEL}}}[5m])", "{{instance}} from the mirror (store unreachable)")],
         "timeseries"),
        ("Watch notifications and restores", "ops",
         [(f"rate(vlcp_objectdb_notifications_total{{{SEL}}}[5m])", "{{instance}} notifications"),
          (f"rate(vlcp_objectdb_restores_total{{{SEL}}}[5m])", "{{instance}} feed lost, re-read")], "timeseries"),
    ]),
    ("API", [
        ("Requests, by module and code", "reqps",
         [(f"instance_module_code:vlcp_api_requests:rate5m{{{SEL}}}", "{{instance}} {{module}} {{code}}")],
         "timeseries"),
        ("5xx ratio", "percentunit",
         [(f"instance:vlcp_api_requests_5xx:ratio_rate5m{{{SEL}}}", "{{instance}}")], "timeseries"),
        ("Mean answer time, by module", "s",
         [(f"instance_module:vlcp_api_request_seconds:mean5m{{{SEL}}}", "{{instance}} {{module}}")], "timeseries"),
        ("In flight and connections", "none",
         [(f"vlcp_api_requests_in_flight{{{SEL}}}", "{{instance}} requests in flight"),
          (f"vlcp_api_connections_open{{{SEL}}}", "{{instance}} connections open")], "timeseries"),
        ("Connections shed or refused", "ops",
         [(f"rate(vlcp_api_connections_shed_total{{{SEL}}}[5m])", "{{instance}} shed ({{cap}} cap)"),
          (f"rate(vlcp_api_connections_refused_total{{{SEL}}}[5m])", "{{instance}} refused (503)")],
         "timeseries"),
    ]),
]

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def panel(pid, title, unit, queries, kind, x, y, w, h):
    p = {
        "id": pid,
        "type": kind,
        "title": title,
        "datasource": DATASOURCE,
        "gridPos": {"h": h, "w": w, "x": x, "y": y},
        "fieldConfig": {"defaults": {"unit": unit}, "overrides": []},
        "targets": [{"datasource": DATASOURCE, "expr": expr, "legendFormat": legend, "refId": chr(ord("A") + i)}
                    for i, (expr, legend) in enumerate(queries)],
    }
    if kind == "stat":
        p["options"] = {"reduceOptions": {"calcs": ["lastNotNull"], "fields": "", "values": False},
                        "colorMode": "value", "graphMode": "area"}
    else:
        p["options"] = {"legend": {"displayMode": "list", "placement": "bottom", "showLegend": True},
                        "tooltip": {"mode": "multi", "sort": "desc"}}
    return p


def dashboard():
    panels, pid, y = [], 1, 0
    for title, row in ROWS:
        panels.append({"id": pid, "type": "row", "title": title, "collapsed": False,
                       "gridPos": {"h": 1, "w": 24, "x": 0, "y": y}, "panels": []})
        pid, y = pid + 1, y + 1
        x = 0
        for ptitle, unit, queries, kind in row:
            w, h = (4, 4) if kind == "stat" else (8, 8)
            if x + w > 24:
                x, y = 0, y + 8
            panels.append(panel(pid, ptitle, unit, queries, kind, x, y, w, h))
            pid, x = pid + 1, x + w
        y += 8
    return {
        "uid": "vlcpd-overview",
        "title": "vlcpd",
        "description": "vlcpd (VLCP SDN controller): switches, flows, packet-in path, ObjectDB, API. "
                       "Needs the recording rules of appliance/prometheus/alerts.yml.",
        "tags": ["vlcp", "sdn", "openvswitch"],
        "timezone": "browser",
        "editable": True,
        "schemaVersion": 38,
        "version": 1,
        "refresh": "30s",
        "time": {"from": "now-6h", "to": "now"},
        "templating": {"list": [
            {"name": "datasource", "label": "Data source", "type": "datasource", "query": "prometheus",
             "current": {}, "hide": 0, "refresh": 1},
            {"name": "instance", "label": "vlcpd", "type": "query", "datasource": DATASOURCE,
             "definition": "label_values(vlcp_build_info, instance)",
             "query": {"query": "label_values(vlcp_build_info, instance)", "refId": "instance"},
             "includeAll": True, "multi": True, "allValue": ".*", "refresh": 2, "sort": 1,
             "current": {"selected": True, "text": ["All"], "value": ["$__all"]}, "hide": 0},
        ]},
        "annotations": {"list": []},
        "panels": panels,
    }


def main():
    text = json.dumps(dashboard(), indent=2) + "\n"
    if sys.argv[1:] == ["--check"]:
        with open(OUT) as f:
            if f.read() != text:
                sys.exit(f"{OUT} is not what dashboard.py declares: run appliance/prometheus/dashboard.py")
        return
    with open(OUT, "w") as f:
        f.write(text)


if __name__ == "__main__":
    main()
