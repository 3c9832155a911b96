#!/usr/bin/env python3
"""bench/schedule.py - the order in which `make bench` runs its benches.

A ratio is only like-for-like when both of its figures were measured under the
same conditions.  On a shared 2-vCPU VM the conditions move during a run (the
host places the two vCPUs on near or far cores for minutes at a time: the same
8-byte ping-pong measures 100 ns or 450 ns), so a floor measured minutes away
from the result it judges can be 4x off.  This script groups every bench with
the benches it is compared with (its floor, its baseline, the `vs` of its
target rows) into components, and emits, for each repetition, every component
as one adjacent block in a fresh random order.  merge.jq then takes each ratio
per repetition (the two figures at most one block apart in time) and reports
the median of those ratios.  Each bench still runs once per repetition.

Input: the --shmk_meta dumps of the programs (file name = program name) and
bench/targets.json.  Output (stdout), one line per run:
    <rep> TAB <component> TAB <program> TAB <bench name>
"""
import argparse
import json
import os
import random
import sys


def target_edges(targets, names):
    """(result, vs) pairs of the target table among the given bench names.

    Rows whose names hold {B} are whole-process (hyperfine) rows, paired by
    run.sh itself; {M}/{R} rows are those too.
    """
    for t in targets:
        if "{B}" in t["result"] or "{M}" in t["result"]:
            continue
        for size in t["bounds"]:
            for place in t.get("places") or [None]:
                def fill(s):
                    s = s.replace("{S}", size)
                    return s.replace("{P}", place) if place else s
                a, b = fill(t["result"]), fill(t["vs"])
                if a in names and b in names and a != b:
                    yield a, b
                # the floor in the layout's shape: its ratio pairs with
                # the result's per repetition (merge.jq's shape_efficiency)
                c = fill(t["shape"]) if t.get("shape") else None
                if a in names and c in names:
                    yield a, c


def components(meta, targets):
    parent = {n: n for n in meta}

    def find(n):
        while parent[n] != n:
            parent[n] = parent[parent[n]]
            n = parent[n]
        return n

    def join(a, b):
        if a in parent and b in parent:
            parent[find(a)] = find(b)

    for n, m in meta.items():
        join(n, m.get("floor") or n)
        join(n, m.get("baseline") or n)
    for a, b in target_edges(targets, meta):
        join(a, b)
    groups = {}
    for n in sorted(meta):
        groups.setdefault(find(n), []).append(n)
    # Stable ids: a component is named after its first bench in sort order.
    return sorted(groups.values(), key=lambda g: g[0])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--reps", type=int, required=True)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--targets", required=True)
    ap.add_argument("--only", action="append", default=[],
                    help="bench names to run (file, one per line); default: all")
    ap.add_argument("--summary", action="store_true",
                    help="print the components instead of the schedule")
    ap.add_argument("metas", nargs="+")
    a = ap.parse_args()

    meta, prog = {}, {}
    for path in a.metas:
        p = os.path.basename(path).split(".")[0]
        with open(path) as f:
            for m in json.load(f):
                meta[m["name"]] = m
                prog[m["name"]] = p
    with open(a.targets) as f:
        targets = json.load(f)
    only = None
    if a.only:
        only = set()
        for path in a.only:
            with open(path) as f:
                only.update(line.strip() for line in f if line.strip())

    comps = components(meta, targets)
    if only is not None:
        comps = [[n for n in c if n in only] for c in comps]
        comps = [c for c in comps if c]
    if a.summary:
        for i, c in enumerate(comps):
            print(i, len(c), " ".join(c))
        return 0
    rng = random.Random(a.seed)
    for rep in range(1, a.reps + 1):
        order = list(range(len(comps)))
        rng.shuffle(order)
        for ci in order:
            block = list(comps[ci])
            rng.shuffle(block)
            for n in block:
                print(f"{rep}\t{ci}\t{prog[n]}\t{n}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
