#!/usr/bin/env python3
"""run_sustained.sh's figures from its work directory: sustained_report.py DIR

params.json; samples.jsonl (one line per sample: phase start | churn | end | after; per node
rss_kb, fds, CPU ticks of vlcpd, ovs-vswitchd and ovsdb-server; ZooKeeper's CPU, znodes, data
size; the machine's busy ticks; the model's port count); pairs-K.log (id ofport create_us
created_us plugged_us seen_us done_us status); census-PHASE (the store's znodes by kind); mon-K.log (`ovs-ofctl monitor --timestamp` of server K's
br-int); times-K (the churn loop's `times`). Prints the report and writes DIR/summary.json.
"""
import datetime
import glob
import json
import os
import re
import sys


def pct(v, p):
    if not v:
        return None
    v = sorted(v)
    return v[min(len(v) - 1, int(p * len(v)))]


def slope(ts, ys):  # least squares, units of y per unit of t
    n = len(ts)
    if n < 2:
        return None
    mt, my = sum(ts) / n, sum(ys) / n
    d = sum((t - mt) ** 2 for t in ts)
    return sum((t - mt) * (y - my) for t, y in zip(ts, ys)) / d if d else None


def first_flows(path):  # in_port -> first table-0 ADDED, epoch µs
    first, t = {}, None
    with open(path, errors="replace") as f:
        for line in f:
            m = re.match(r"(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}): ", line)
            if m:
                t = datetime.datetime.strptime(m.group(1), "%Y-%m-%d %H:%M:%S.%f").replace(
                    tzinfo=datetime.timezone.utc).timestamp() * 1e6
            m = re.search(r"event=ADDED table=0 .*in_port=(\d+)", line)
            if m and t is not None:
                first.setdefault(int(m.group(1)), t)
    return first


def seconds(s):  # "1m2.345s" -> 62.345
    m = re.match(r"(\d+)m([\d.]+)s", s)
    return int(m.group(1)) * 60 + float(m.group(2)) if m else 0.0


def main(d):
    par = json.load(open(os.path.join(d, "params.json")))
    n, r, tmin, hz = par["N"], par["R"], par["T"], par["hz"]
    samples = [json.loads(line) for line in open(os.path.join(d, "samples.jsonl")) if line.strip()]
    start = next(s for s in samples if s["phase"] == "start")
    end = next(s for s in samples if s["phase"] == "end")
    after = next((s for s in samples if s["phase"] == "after"), None)
    run = [s for s in samples if s["phase"] in ("start", "churn", "end")]
    mid = min(run, key=lambda s: abs(s["t"] - (start["t"] + end["t"]) / 2))
    asked = r * tmin
    out = {"params": par, "asked_per_server": asked}
    print(f"{n} servers, {r} pairs/min each for {tmin} min: asked {asked} per server, {asked * n} in all")

    done, fails, lat_mon, lat_loop, plug, api, per = 0, {}, [], [], [], [], []
    for k in range(n):
        path = os.path.join(d, f"pairs-{k}.log")
        rows = [line.split() for line in open(path)] if os.path.exists(path) else []
        flows = first_flows(os.path.join(d, f"mon-{k}.log"))
        ok = 0
        for row in rows:
            _, ofp, tc, tr, tp, ts, _, st = row
            tc, tr, tp, ts = int(tc), int(tr), int(tp), int(ts)
            if st != "ok":
                fails[st] = fails.get(st, 0) + 1
                continue
            ok += 1
            lat_loop.append((ts - tc) / 1000)
            plug.append((tp - tc) / 1000)
            api.append((tr - tc) / 1000)
            t = flows.get(int(ofp))
            if t is not None:
                lat_mon.append((t - tc) / 1000)
        per.append(ok)
        done += ok
    out.update(done_per_server=per, done=done, failures=fails)
    print(f"pairs done per server: min {min(per)}, median {pct(per, 0.5)}, max {max(per)} (of {asked}); "
          f"total {done} of {asked * n} ({100.0 * done / max(1, asked * n):.1f}%), "
          f"{done / tmin:.0f} pairs/min for the machine, {done / tmin / n:.1f} per server; failures {fails or 0}")
    print("   per server:", " ".join(str(x) for x in per))
    out["create_to_flow_ms"] = {"p50": pct(lat_mon, 0.5), "p99": pct(lat_mon, 0.99), "max": pct(lat_mon, 1.0),
                                "n": len(lat_mon)}
    out["create_to_seen_by_loop_ms"] = {"p50": pct(lat_loop, 0.5), "p99": pct(lat_loop, 0.99)}
    out["create_to_plugged_ms"] = {"p50": pct(plug, 0.5), "p99": pct(plug, 0.99)}
    out["api_create_ms"] = {"p50": pct(api, 0.5), "p99": pct(api, 0.99)}
    c = out["create_to_flow_ms"]
    if lat_mon:
        print(f"create -> table-0 flow (monitor stamps): p50 {c['p50']:.1f} ms, p99 {c['p99']:.1f} ms, max {c['max']:.1f} ms "
              f"(n {c['n']}); the API create call p50 {pct(api, 0.5):.1f}, p99 {pct(api, 0.99):.1f} ms; create -> plugged (API create + ovs-vsctl add-port) p50 {pct(plug, 0.5):.1f}, "
              f"p99 {pct(plug, 0.99):.1f} ms; as the loop saw it (50 ms polls) p50 {pct(lat_loop, 0.5):.1f}, "
              f"p99 {pct(lat_loop, 0.99):.1f} ms")

    # RSS and fds.
    mb = lambda s, k: s["rss_kb"][k] / 1024 if s["rss_kb"][k] is not None else None
    slopes, slopes2 = [], []
    print("RSS MB per node (start / middle / end / after) and its slope over the churn and over its second half "
          "(least squares, MB per 10 min); fds start/end:")
    rows = []
    for k in range(n):
        pts = [(s["t"], s["rss_kb"][k] / 1024) for s in run if s["rss_kb"][k] is not None]
        sl = slope([p[0] for p in pts], [p[1] for p in pts])
        sl = sl * 600 if sl is not None else None
        slopes.append(sl)
        late = [p for p in pts if p[0] >= (start["t"] + end["t"]) / 2]  # the churn's second half
        sl2 = slope([p[0] for p in late], [p[1] for p in late])
        sl2 = sl2 * 600 if sl2 is not None else None
        slopes2.append(sl2)
        rows.append({"node": k, "start": mb(start, k), "middle": mb(mid, k), "end": mb(end, k),
                     "after": mb(after, k) if after else None, "slope_mb_per_10min": sl,
                     "slope_second_half_mb_per_10min": sl2,
                     "fds_start": start["fds"][k], "fds_end": end["fds"][k],
                     "fds_after": after["fds"][k] if after else None})
        fmt = lambda v: f"{v:.1f}" if v is not None else "-"
        print(f"   h{k:<3} {fmt(rows[-1]['start'])} / {fmt(rows[-1]['middle'])} / {fmt(rows[-1]['end'])} / "
              f"{fmt(rows[-1]['after'])}   slope {sl:+.2f}, second half {fmt(sl2)}   fds {start['fds'][k]} / {end['fds'][k]}")
    out["rss"] = rows
    good = [s for s in slopes if s is not None]
    print(f"   slope over nodes: min {min(good):+.2f}, median {pct(good, 0.5):+.2f}, max {max(good):+.2f} MB per 10 min; "
          f"second half: median {pct([x for x in slopes2 if x is not None], 0.5) or 0:+.2f}, "
          f"max {max([x for x in slopes2 if x is not None] or [0]):+.2f}; RSS growth end - start: median {pct([x['end'] - x['start'] for x in rows], 0.5):+.2f} MB")

    # The store.
    print("store: znodes start {} / middle {} / end {} / after horizon {}; data MB {:.2f} / {:.2f} / {:.2f}; "
          "model ports {} / max {} / {} / {}".format(
              start["znodes"], mid["znodes"], end["znodes"], after["znodes"] if after else "-",
              start["zk_data"] / 1e6, end["zk_data"] / 1e6, (after or end)["zk_data"] / 1e6,
              start["ports"], max((s["ports"] or 0) for s in run), end["ports"], after["ports"] if after else "-"))
    print("   znodes over time:", " ".join(str(int(s["znodes"])) for s in samples))
    census = {}
    for ph in ("start", "end", "after"):
        p = os.path.join(d, "census-" + ph)
        if os.path.exists(p):
            census[ph] = {line.split()[0]: int(line.split()[1]) for line in open(p) if line.strip()}
    out["census"] = census
    for ph, c in census.items():
        print(f"   census {ph}: " + ", ".join(f"{k} {v}" for k, v in sorted(c.items())))
    out["store"] = {k: {"start": start[k], "middle": mid[k], "end": end[k], "after": after[k] if after else None}
                    for k in ("znodes", "zk_data", "ports", "zk_watches")}

    # CPU between the start and end samples.
    ms = lambda a, b: (b - a) * 1000.0 / hz
    cpu = {}
    for key in ("cpu_vlcpd", "cpu_vswitchd", "cpu_ovsdb"):
        v = [ms(a, b) / max(1, p) for a, b, p in zip(start[key], end[key], per) if a is not None and b is not None]
        cpu[key + "_ms_per_local_pair"] = {"median": pct(v, 0.5), "max": pct(v, 1.0)}
    cpu["zk_ms_per_pair"] = ms(start["cpu_zk"], end["cpu_zk"]) / max(1, done)
    cpu["machine_busy_ms_per_pair"] = ms(start["machine_busy"], end["machine_busy"]) / max(1, done)
    loops = 0.0
    for f in glob.glob(os.path.join(d, "times-*")):
        for line in open(f):
            loops += sum(seconds(x) for x in line.split())
    cpu["churn_loops_ms_per_pair"] = loops * 1000 / max(1, done)
    wall = end["t"] - start["t"]
    cpu["machine_busy_cores"] = ms(start["machine_busy"], end["machine_busy"]) / 1000 / wall
    out["cpu"] = cpu
    v = cpu["cpu_vlcpd_ms_per_local_pair"]["median"]
    s = cpu["cpu_vswitchd_ms_per_local_pair"]["median"]
    o = cpu["cpu_ovsdb_ms_per_local_pair"]["median"]
    print(f"CPU per pair (ms of one core; a node's CPU / its own pairs, which includes its share of the other "
          f"servers' ports in its networks): vlcpd {v:.1f} (median node), ovs-vswitchd {s:.1f}, ovsdb-server {o:.1f}; "
          f"ZooKeeper {cpu['zk_ms_per_pair']:.1f} per pair of all; churn loops (bash, ovs-vsctl, polls) "
          f"{cpu['churn_loops_ms_per_pair']:.1f}; machine busy {cpu['machine_busy_ms_per_pair']:.1f} "
          f"({cpu['machine_busy_cores']:.2f} cores busy on average)")
    at200 = {"vlcpd_cores": v * 200 / 60000, "node_cores": (v + s + o) * 200 / 60000,
             "zk_cores_20_nodes": cpu["zk_ms_per_pair"] * 200 * 20 / 60000,
             "machine_cores_20_nodes": cpu["machine_busy_ms_per_pair"] * 200 * 20 / 60000}
    out["implied_at_200_per_min"] = at200
    print(f"at 200 pairs/min per node this implies: vlcpd {at200['vlcpd_cores']:.2f} core per node, vlcpd + OVS "
          f"{at200['node_cores']:.2f} core per node; ZooKeeper {at200['zk_cores_20_nodes']:.2f} cores for 20 nodes; "
          f"this whole test bed {at200['machine_cores_20_nodes']:.1f} cores for 20 nodes")
    json.dump(out, open(os.path.join(d, "summary.json"), "w"), indent=1)


if __name__ == "__main__":
    main(sys.argv[1])
