#!/usr/bin/env python3
"""The simulated nodes' step of run_scale.sh, over all its processes (perf/scale/README.md).

aggregate.py PROBE_FILE NODE_FILE... [--ofmon FILE --ofports FILE]

PROBE_FILE: scale_nodes' lines of the probe process ("probe": key, t_us = the create call,
commit_us, servers of its network). NODE_FILE: the node processes' lines ("node": ready, with its
server; "ready": the process's summary; "seen": a node's view first showing a probe port, t_us).
--ofmon: `ovs-ofctl monitor --timestamp` of the real vlcpd's bridge; --ofports: "iface-id ofport"
lines of the probe ports plugged there: create -> the first table-0 flow with that in_port.
Every t_us is CLOCK_REALTIME (one machine), so probes and sightings compare across processes.
Prints one JSON object.
"""
import json
import sys

from sustained_report import first_flows


def lines(path, event):
    with open(path) as f:
        for line in f:
            if f'"event":"{event}"' in line:
                yield json.loads(line)


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]


def main(argv):
    ofmon = ofports = None
    if "--ofmon" in argv:
        i = argv.index("--ofmon")
        ofmon, ofports = argv[i + 1], argv[i + 3]
        argv = argv[:i]
    probe_file, node_files = argv[0], argv[1:]
    probes = list(lines(probe_file, "probe"))
    servers = {}  # node (file, index) -> server
    ready = []
    procs = []
    seen = {}  # probe key -> {(file, node): t_us}
    for f in node_files:
        for n in lines(f, "node"):
            servers[(f, n["node"])] = n["server"]
            ready.append(n["ready_ms"])
        procs += list(lines(f, "ready"))
        for s in lines(f, "seen"):
            servers.setdefault((f, s["node"]), s["server"])
            seen.setdefault(s["key"], {}).setdefault((f, s["node"]), s["t_us"])
    nodes = sum(p["nodes"] for p in procs)
    out = {"procs": len(procs), "nodes": nodes, "nodes_ready": len(ready),
           "nodes_ready_ms_p50": pct(ready, 0.5), "nodes_ready_ms_p99": pct(ready, 0.99),
           "nodes_ready_ms_max": pct(ready, 1.0),
           "nodes_rss_mb": sum(p["rss_mb"] for p in procs),
           "nodes_rss_mb_per_node": sum(p["rss_mb"] for p in procs) / max(1, nodes),
           "nodes_threads": sum(p["threads"] for p in procs),
           "nodes_cpu_s_at_ready": sum(p["cpu_ms"] for p in procs) / 1000}
    lat, missed, interested = [], 0, 0
    for p in probes:  # interested: every node whose server hosts the probe's network
        want = [k for k, s in servers.items() if s in p["servers"]]
        interested += len(want)
        got = seen.get(p["key"], {})
        for k in want:
            if k in got:
                lat.append((got[k] - p["t_us"]) / 1000)
            else:
                missed += 1
    commit = [(p["commit_us"] - p["t_us"]) / 1000 for p in probes]
    out.update({"probes": len(probes), "probe_interested": interested / max(1, len(probes)),
                "probe_seen": len(lat), "probe_missed": missed,
                "probe_seen_ms_p50": pct(lat, 0.5), "probe_seen_ms_p99": pct(lat, 0.99),
                "probe_seen_ms_max": pct(lat, 1.0), "probe_commit_ms_p50": pct(commit, 0.5),
                "probe_commit_ms_p99": pct(commit, 0.99),
                "probe_clock": "CLOCK_REALTIME"})
    if ofmon:
        port = {}
        with open(ofports) as f:
            for line in f:
                key, ofport = line.split()
                port[key] = ofport
        # in_port -> first table-0 ADDED, epoch ms (the monitor's parser is sustained_report's)
        first = {str(k): us / 1000 for k, us in first_flows(ofmon).items()}
        flows, flows_missed = [], 0
        for p in probes:
            t = first.get(port.get(p["key"], ""))
            if t is None:
                flows_missed += 1
            else:
                flows.append(t - p["t_us"] / 1000)
        out.update({"real_flows_ms_p50": pct(flows, 0.5), "real_flows_ms_p99": pct(flows, 0.99),
                    "real_flows_ms_max": pct(flows, 1.0), "real_flows_seen": len(flows),
                    "real_flows_missed": flows_missed})
    print(json.dumps(out))


if __name__ == "__main__":
    main(sys.argv[1:])
