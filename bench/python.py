#!/usr/bin/python3
# SPDX-License-Identifier: MIT
"""bench/python.py - Python get and set: plmc.Client on a store against
pymemcache.Client over a Unix socket to memcached, same loop, one thread.

    PYTHONPATH=build/python bench/python.py --store NAME --sock PATH
        [--seconds S] [--keys N] [--value-size V]

Prints one line per contender and workload in plbench's form
(label=... ops_per_s= p50_ns= p99_ns= p999_ns= errors= mean_cycles=),
which bench/report.sh turns into rows. Every module is imported before
the store is attached (an attached process under the module loads no new
code).
"""
import argparse
import random
import time

from pymemcache.client.base import Client as PyClient

import plmc


def pct(sorted_ns, p):
    return sorted_ns[min(len(sorted_ns) - 1, int(len(sorted_ns) * p))]


def run(label, fn, keys, seconds):
    """Call fn(key) for `seconds`; per-call latency with perf_counter_ns."""
    rng = random.Random(1)
    lat = []
    errors = 0
    clock = time.perf_counter_ns
    end = clock() + int(seconds * 1e9)
    start = clock()
    while True:
        k = keys[rng.randrange(len(keys))]
        t0 = clock()
        try:
            fn(k)
        except Exception:
            errors += 1
        t1 = clock()
        lat.append(t1 - t0)
        if t1 >= end:
            break
    wall = (clock() - start) / 1e9
    lat.sort()
    print("label=%s target=python threads=1 procs=1 keys=%d ops=%d "
          "ops_per_s=%.0f p50_ns=%d p99_ns=%d p999_ns=%d errors=%d "
          "mean_cycles=0" % (label, len(keys), len(lat), len(lat) / wall,
                             pct(lat, 0.50), pct(lat, 0.99),
                             pct(lat, 0.999), errors), flush=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--store", required=True)
    ap.add_argument("--sock", required=True)
    ap.add_argument("--seconds", type=float, default=1.0)
    ap.add_argument("--keys", type=int, default=10000)
    ap.add_argument("--value-size", type=int, default=32)
    a = ap.parse_args()
    keys = ["key:%d" % i for i in range(a.keys)]
    value = b"v" * a.value_size
    w = "k%d v%d t1" % (a.keys, a.value_size)
    for name, c in (("python-plmc", plmc.Client(a.store)),
                    ("python-pymemcache-unix", PyClient(a.sock))):
        for k in keys:
            c.set(k, value)
        run("%s py-get %s" % (name, w), c.get, keys, a.seconds)
        run("%s py-set %s" % (name, w), lambda k: c.set(k, value), keys,
            a.seconds)


if __name__ == "__main__":
    main()
