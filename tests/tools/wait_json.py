#!/usr/bin/env python3
"""Polls URL until its body contains NEEDLE; prints the milliseconds it took (exit 1 on timeout).
Usage: wait_json.py URL NEEDLE TIMEOUT_SECONDS"""
import sys
import time
import urllib.request

url, needle, timeout = sys.argv[1], sys.argv[2], float(sys.argv[3])
start = time.monotonic()
while time.monotonic() - start < timeout:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            if needle in r.read().decode():
                print(f"{(time.monotonic() - start) * 1000:.1f}")
                sys.exit(0)
    except OSError:
        pass
    time.sleep(0.002)
print("timeout")
sys.exit(1)
