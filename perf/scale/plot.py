#!/usr/bin/env python3
"""Cost against model size from run_scale.sh's summaries, as a hand-written SVG (no plotting
library): one panel per cost, x the model's total ports (log scale), one line per sync mode and
feed; the simulated node solid, the real vlcpd (when measured) dashed.

Usage: perf/scale/plot.py [perf/scale/results.jsonl] [perf/scale/scale.svg]
The last summary of each (size, sync, feed) counts.
"""
import json
import math
import sys

PANELS = [  # (title, unit, simulated node's field, real vlcpd's field, field labelling each point)
    ("start \u2192 in sync", "ms", "node_ready_ms", "real_ready_ms", None),
    ("RSS", "MB", "node_rss_mb", "real_rss_mb", None),
    ("CPU per remote change", "ms", "node_cpu_ms_per_far_change", "real_cpu_ms_per_far_change", None),
    # (the simulated nodes connected meanwhile: their number labels each point)
    ("create \u2192 views / flows, p99", "ms", "probe_seen_ms_p99", "real_flows_ms_p99", "nodes"),
]
COLOURS = ["#1f5fa8", "#c0392b", "#27864a", "#8e44ad", "#d68910"]
W, H, M = 300, 220, 46  # panel size and margin


def load(path):
    runs = {}
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                r = json.loads(line)
                runs[(r["size"], r["sync"], r["feed"])] = r
    series = {}
    for (size, sync, feed), r in sorted(runs.items()):
        series.setdefault(f"sync {sync}, feed {feed}", []).append(r)
    return series


def nice_max(v):
    if v <= 0:
        return 1
    e = 10 ** math.floor(math.log10(v))
    for m in (1, 2, 5, 10):
        if v <= m * e:
            return m * e
    return 10 * e


def esc(s):
    return s.replace("&", "&amp;").replace("<", "&lt;")


def panel(x0, title, unit, node_field, real_field, label_field, series, sizes):
    out = [f'<g transform="translate({x0},30)">',
           f'<text x="{W / 2}" y="-12" text-anchor="middle" font-weight="bold">{esc(title)} ({unit})</text>']
    values = [r[f] for rs in series.values() for r in rs for f in (node_field, real_field) if f and r.get(f) is not None]
    top = nice_max(max(values) if values else 1)
    lo, hi = math.log10(min(sizes)), math.log10(max(sizes))
    span = (hi - lo) or 1

    def px(size):
        return M + (math.log10(size) - lo) / span * (W - M - 10)

    def py(v):
        return H - M + 10 - v / top * (H - M - 10)

    out.append(f'<line x1="{M}" y1="{py(0)}" x2="{W - 10}" y2="{py(0)}" stroke="#333"/>')
    out.append(f'<line x1="{M}" y1="{py(0)}" x2="{M}" y2="{py(top)}" stroke="#333"/>')
    for i in range(5):
        v = top * i / 4
        out.append(f'<line x1="{M - 4}" y1="{py(v):.1f}" x2="{W - 10}" y2="{py(v):.1f}" stroke="#ddd"/>')
        out.append(f'<text x="{M - 6}" y="{py(v) + 4:.1f}" text-anchor="end" font-size="10">{v:g}</text>')
    for s in sizes:
        label = f"{s // 1000}k" if s >= 1000 else str(s)
        out.append(f'<text x="{px(s):.1f}" y="{py(0) + 16}" text-anchor="middle" font-size="10">{label}</text>')
    out.append(f'<text x="{W / 2 + M / 2}" y="{py(0) + 32}" text-anchor="middle" font-size="10">ports in the model</text>')
    for i, (name, rs) in enumerate(series.items()):
        colour = COLOURS[i % len(COLOURS)]
        for field, dash in ((node_field, ""), (real_field, ' stroke-dasharray="5,3"')):
            pts = [(px(r["size"]), py(r[field])) for r in rs if field and r.get(field) is not None]
            if not pts:
                continue
            path = " ".join(f"{x:.1f},{y:.1f}" for x, y in pts)
            out.append(f'<polyline points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
            for x, y in pts:
                out.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="3" fill="{colour}"/>')
            if label_field and not dash:
                for r in rs:
                    if r.get(field) is not None and r.get(label_field) is not None:
                        x, left = px(r["size"]), px(r["size"]) > W / 2  # (right half: the label to its left)
                        out.append(f'<text x="{x - 5 if left else x + 5:.1f}" y="{py(r[field]) - 5:.1f}" font-size="9" '
                                   f'text-anchor="{"end" if left else "start"}" fill="{colour}">'
                                   f'{r[label_field]} nodes</text>')
    out.append("</g>")
    return out


def main():
    src = sys.argv[1] if len(sys.argv) > 1 else "perf/scale/results.jsonl"
    dst = sys.argv[2] if len(sys.argv) > 2 else "perf/scale/scale.svg"
    series = load(src)
    sizes = sorted({r["size"] for rs in series.values() for r in rs})
    width = W * len(PANELS) + 20
    height = H + 90
    svg = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
           f'font-family="sans-serif" font-size="12">',
           f'<rect width="{width}" height="{height}" fill="white"/>']
    for i, (title, unit, nf, rf, lf) in enumerate(PANELS):
        svg += panel(10 + i * W, title, unit, nf, rf, lf, series, sizes)
    y = H + 55
    x = 20
    for i, name in enumerate(series):
        colour = COLOURS[i % len(COLOURS)]
        svg.append(f'<line x1="{x}" y1="{y}" x2="{x + 24}" y2="{y}" stroke="{colour}" stroke-width="2"/>')
        svg.append(f'<text x="{x + 30}" y="{y + 4}">{esc(name)}</text>')
        x += 200
    svg.append(f'<text x="{x}" y="{y + 4}" font-size="11">solid: simulated node (server 0, 100 ports in 5 networks); '
               'dashed: real vlcpd with its OVS</text>')
    svg.append("</svg>")
    with open(dst, "w") as f:
        f.write("\n".join(svg) + "\n")


if __name__ == "__main__":
    main()
