#!/usr/bin/env python3
"""Which packet the churn's slow pairs lost, and where (diagnosis for perf/run_containers.sh).

Usage: perf/churn_losses.py DIR WORKERS, DIR written by run_containers.sh with CHURN_CAPTURE=DIR:
a1.pcap, a2.pcap (the anchors' eth0), c<server>-<worker>.pcap (a churn namespace, every pair's
eth0), ul.pcap (the underlay between the servers, VXLAN and ICMP). The anchor of server 1 is
10.1.0.2, of server 2 10.1.0.3; a worker on one server pings the other server's anchor.

For each pair whose first reply came 0.9 s or more after its first packet (an ARP request for
the anchor), it says whether that request reached the anchor; if not, it was lost on arrival at
the anchor's server; if it did and the anchor answered, the answer was lost on arrival at the
container's server. And whether that server's kernel refused the lost packet (an ICMP port 4789
unreachable quoting it on the underlay): then OVS handed the VXLAN packet to the kernel instead
of decapsulating it.
"""
import collections
import re
import subprocess
import sys

ANCHOR = {'1': '10.1.0.2', '2': '10.1.0.3'}


def packets(path, *extra):
    """(time, text) per packet; tcpdump's continuation lines joined with ' | '."""
    out = subprocess.run(['tcpdump', '-n', '-e', '-tt', *extra, '-r', path], capture_output=True, text=True).stdout
    res = []
    for line in out.splitlines():
        try:
            res.append([float(line.split()[0]), line])
        except (ValueError, IndexError):
            if res:
                res[-1][1] += ' | ' + line.strip()
    return res


def main(d, workers):
    anchors = {s: packets(f'{d}/a{s}.pcap') for s in '12'}
    refused = []  # (time, refusing server, the quoted packet)
    for t, line in packets(f'{d}/ul.pcap', '-v'):
        m = re.search(r'192\.168\.99\.(\d) > 192\.168\.99\.\d: ICMP 192\.168\.99\.\d udp port 4789 unreachable', line)
        if m:
            refused.append((t, m.group(1), line.split('vni')[-1]))
    kinds = collections.Counter(
        'ARP request' if 'Request' in q else 'ARP reply' if 'Reply' in q else
        'ICMP echo request' if 'echo request' in q else 'ICMP echo reply' if 'echo reply' in q else 'other'
        for _, _, q in refused)
    print('tunnelled packets refused by the receiving server\'s kernel: %d (hv1 %d, hv2 %d): %s' % (
        len(refused), sum(r[1] == '1' for r in refused), sum(r[1] == '2' for r in refused),
        ', '.join('%s %d' % kv for kv in sorted(kinds.items()))))
    verdicts = collections.Counter()
    pairs = 0
    for near in '12':
        far = '2' if near == '1' else '1'
        for w in range(workers):
            by_link = collections.OrderedDict()  # every pair has its own veth (ifindex)
            for t, line in packets(f'{d}/c{near}-{w}.pcap'):
                m = re.search(r'ifindex (\d+)', line)
                if m:
                    by_link.setdefault(m.group(1), []).append((t, line))
            for ev in by_link.values():
                first = next(((t, l) for t, l in ev if ' Out ' in l and 'tell' in l), None)
                if not first:
                    continue
                pairs += 1
                t0, line = first
                ip = re.search(r'tell (\S+),', line).group(1)
                mac = re.search(r'Out +ifindex \d+ (\S+)', line).group(1)
                t1 = next((t for t, l in ev if 'echo reply' in l), None)
                if t1 is None or t1 - t0 < 0.9:
                    continue
                window = lambda t: t0 - 0.05 < t < t0 + 0.9
                asked = [t for t, l in anchors[far] if window(t) and 'tell %s,' % ip in l]
                answered = [t for t, l in anchors[far] if window(t) and 'Reply' in l and mac in l]
                if not asked:
                    where = 'its ARP request lost on arrival at the anchor\'s server hv' + far
                    seen = [r for r in refused if r[1] == far and window(r[0]) and
                            'who-has %s tell %s,' % (ANCHOR[far], ip) in r[2]]
                elif answered:
                    where = 'the anchor\'s ARP reply lost on arrival at its own server hv' + near
                    seen = [r for r in refused if r[1] == near and answered[0] - 0.01 < r[0] < answered[0] + 0.3 and
                            'Reply %s is-at' % ANCHOR[far] in r[2]]
                else:
                    where, seen = 'the anchor got its ARP request and did not answer', []
                verdict = '%s; refused by that kernel: %s' % (where, 'yes' if seen else 'not seen')
                verdicts[verdict] += 1
                print('  hv%s %-10s %.3f s: %s' % (near, ip, t1 - t0, verdict))
    print('pairs starting with an ARP request: %d; of them 0.9 s or more:' % pairs)
    for v, n in verdicts.most_common():
        print('  %3d %s' % (n, v))


if __name__ == '__main__':
    if len(sys.argv) != 3:
        sys.exit('usage: churn_losses.py DIR WORKERS')
    main(sys.argv[1], int(sys.argv[2]))
