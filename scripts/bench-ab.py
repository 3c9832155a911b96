#!/usr/bin/env python3
"""scripts/bench-ab.py - is revision B faster than revision A, bench by bench?

    scripts/bench-ab.py [--reps N] [--min-time S] [--filter RE] [--peers] A B

A and B are git revisions of this repository.  Each is checked out (detached)
under build/ab/<rev> and its bench programs built there (`make bench-build`).
Then, for every bench both revisions register (same program, same name; the
peers/ floors only with --peers: they are the same code on both sides), each
repetition runs A's and B's build of it next to each other, in alternating
order, and takes the ratio B / A of the bench's primary metric.  The
whole-process cycles (build/bench/cycle-<m>) are compared the same way with
hyperfine.  Adjacent pairs are what make the answer trustworthy on a shared
VM whose host moves the vCPUs during a run (reports/schema/bench.md,
"Pairing"): two figures minutes apart can differ 4x for no reason of theirs.

Output: a table on stdout and reports/out/ab.json:
  {schema: "shmkit.bench-ab/1", a, b, reps, min_time_s, results: [{name,
   metric, higher_is_better, a_median, b_median, ratio (median of B/A pairs),
   noise (1.4826 x MAD), pairs, verdict}]}.
verdict: "faster" / "slower" when B differs from A by more than
max(3 x noise, --threshold) in the good / bad direction, else "same".

A bench interleaved with its floor (its meta names an ilv_floor) gets a
second result, "<name> [ilv_ratio]", metric ilv_ratio: the same pairs'
ratios to the floor blocks run inside each run, better in the primary
metric's direction.  Its own rate moves with the placement between the two
runs of a pair (ring/copy_tput/4096: pairs 0.79-1.14 when the ratio to the
floor moved 0.926 -> 1.016), so that is the figure to read for such a row;
the bench report judges it the same way.
"""
import argparse
import json
import os
import random
import re
import statistics
import subprocess
import sys
import tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def sh(cmd, **kw):
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kw).stdout


def checkout(rev):
    sha = sh(["git", "-C", ROOT, "rev-parse", "--short=12", rev + "^{commit}"]).strip()
    d = os.path.join(ROOT, "build", "ab", sha)
    if not os.path.isdir(d):
        sh(["git", "-C", ROOT, "worktree", "add", "--detach", d, sha])
    print(f"bench-ab: building {rev} ({sha}) in {d}", file=sys.stderr)
    r = subprocess.run(["make", "-s", "--no-print-directory", "bench-build"], cwd=d,
                       text=True, capture_output=True)
    if r.returncode != 0:
        sys.exit(f"bench-ab: {rev} does not build its benches:\n{r.stdout[-2000:]}{r.stderr[-2000:]}")
    return sha, d


def metas(d):
    out = {}
    bdir = os.path.join(d, "build", "bench")
    for prog in sorted(os.listdir(bdir)):
        path = os.path.join(bdir, prog)
        if prog.startswith("cycle-") or not os.path.isfile(path) or not os.access(path, os.X_OK):
            continue
        with tempfile.NamedTemporaryFile(suffix=".json") as f:
            r = subprocess.run([path, "--shmk_meta=" + f.name], capture_output=True)
            if r.returncode != 0:
                continue
            for m in json.load(open(f.name)):
                out[m["name"]] = dict(m, prog=prog)
    return out


def run_one(d, prog, name, min_time, timeout):
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        try:
            subprocess.run([os.path.join(d, "build", "bench", prog),
                            f"--benchmark_filter=^{name}(/|$)", f"--benchmark_min_time={min_time}",
                            "--benchmark_repetitions=1", "--benchmark_out=" + f.name,
                            "--benchmark_out_format=json"], cwd=d, capture_output=True,
                           timeout=timeout, check=True)
            runs = [b for b in json.load(open(f.name))["benchmarks"]
                    if b.get("run_type") == "iteration" and not b.get("error_occurred")]
        except (subprocess.SubprocessError, OSError, ValueError, KeyError):
            return None
    return runs[0] if len(runs) == 1 else None


def run_cycle(da, db, prog, iters, runs, order):
    """hyperfine of A's and B's cycle-<prog> next to each other: ns per cycle."""
    cmds = {"a": os.path.join(da, "build", "bench", prog), "b": os.path.join(db, "build", "bench", prog)}
    with tempfile.NamedTemporaryFile(suffix=".json") as f:
        try:
            subprocess.run(["hyperfine", "-N", "--style", "none", "--warmup", "2", "--runs", str(runs),
                            "--export-json", f.name] + [f"{cmds[k]} {iters} 1" for k in order],
                           capture_output=True, check=True, timeout=600)
            res = json.load(open(f.name))["results"]
        except (subprocess.SubprocessError, OSError, ValueError, KeyError):
            return None
    return {k: statistics.median(r["times"]) * 1e9 / iters for k, r in zip(order, res)}


def summarize(name, metric, hib, pairs, threshold):
    rs = [b / a for a, b in pairs if a and b]
    if not rs:
        return {"name": name, "metric": metric, "verdict": "no figure", "pairs": []}
    q = statistics.median(rs)
    noise = 1.4826 * statistics.median([abs(r - q) for r in rs]) if len(rs) >= 3 else None
    band = max(3 * (noise or 0), threshold)
    gain = q - 1 if hib else 1 - q  # > 0: B is better
    if len(rs) < 3:
        verdict = "not judged: %d pairs" % len(rs)
    elif abs(q - 1) <= band:
        verdict = "same"
    else:
        verdict = "faster" if gain > 0 else "slower"
    return {"name": name, "metric": metric, "higher_is_better": hib,
            "a_median": statistics.median(a for a, _ in pairs),
            "b_median": statistics.median(b for _, b in pairs),
            "ratio": round(q, 4), "noise": None if noise is None else round(noise, 4),
            "pairs": [round(r, 4) for r in rs], "verdict": verdict}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("a")
    ap.add_argument("b")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--min-time", default="0.5")
    ap.add_argument("--filter", default=".")
    ap.add_argument("--peers", action="store_true", help="also the peers/ floors")
    ap.add_argument("--threshold", type=float, default=0.05,
                    help="smallest relative difference called a change (default 0.05)")
    ap.add_argument("--timeout", type=int, default=120)
    ap.add_argument("--seed", type=int, default=os.getpid())
    ap.add_argument("--out", default=os.path.join(ROOT, "reports", "out", "ab.json"))
    o = ap.parse_args()

    sa, da = checkout(o.a)
    sb, db = checkout(o.b)
    ma, mb = metas(da), metas(db)
    flt = re.compile(o.filter)
    names = sorted(n for n in mb if n in ma and ma[n]["prog"] == mb[n]["prog"]
                   and flt.search(n) and (o.peers or not n.startswith("peers/")))
    only = sorted(set(ma) ^ set(mb))
    cycles = sorted(p for p in os.listdir(os.path.join(db, "build", "bench"))
                    if p.startswith("cycle-") and p != "cycle-raw" and flt.search(p)
                    and os.path.exists(os.path.join(da, "build", "bench", p)))
    rng = random.Random(o.seed)
    pairs = {n: [] for n in names}
    ipairs = {n: [] for n in names if mb[n].get("ilv_floor")}
    cpairs = {c: [] for c in cycles}
    total = o.reps * len(names)
    k = 0
    for rep in range(o.reps):
        order = list(names)
        rng.shuffle(order)
        for n in order:
            k += 1
            m = mb[n]
            print(f"[{k}/{total}] {n} (repetition {rep + 1})", file=sys.stderr)
            sides = ["a", "b"] if (rep + k) % 2 else ["b", "a"]
            fig, ilv = {}, {}
            for s in sides:
                r = run_one(da if s == "a" else db, m["prog"], n, o.min_time, o.timeout)
                key = m["metric"]
                fig[s] = None if r is None else (r.get("real_time") if key == "real_time" else r.get(key))
                ilv[s] = None if r is None else r.get("ilv_ratio")
            if fig["a"] is not None and fig["b"] is not None:
                pairs[n].append((fig["a"], fig["b"]))
            if n in ipairs and ilv["a"] is not None and ilv["b"] is not None:
                ipairs[n].append((ilv["a"], ilv["b"]))
        for c in cycles:
            print(f"[hyperfine {rep + 1}/{o.reps}] {c}", file=sys.stderr)
            r = run_cycle(da, db, c, 200, 3, ["a", "b"] if rep % 2 else ["b", "a"])
            if r:
                cpairs[c].append((r["a"], r["b"]))

    res = []
    for n in names:
        hib = mb[n]["metric"].endswith("_per_second")
        res.append(summarize(n, mb[n]["metric"], hib, pairs[n], o.threshold))
        if n in ipairs:
            res.append(summarize(n + " [ilv_ratio]", "ilv_ratio", hib, ipairs[n], o.threshold))
    res += [summarize(c + "/process_cycle_1p", "cycle_ns", False, cpairs[c], o.threshold) for c in cycles]
    doc = {"schema": "shmkit.bench-ab/1", "a": {"rev": o.a, "sha": sa}, "b": {"rev": o.b, "sha": sb},
           "reps": o.reps, "min_time_s": float(o.min_time), "threshold": o.threshold,
           "only_one_side": only, "results": res}
    os.makedirs(os.path.dirname(o.out), exist_ok=True)
    with open(o.out, "w") as f:
        json.dump(doc, f, indent=1)
    print(f"| result | metric | A ({sa[:7]}) | B ({sb[:7]}) | B/A | noise | verdict |")
    print("|---|---|---|---|---|---|---|")
    for r in res:
        print("| %s | %s | %s | %s | %s | %s | %s |" % (
            r["name"], r["metric"], "%.4g" % r["a_median"] if "a_median" in r else "-",
            "%.4g" % r["b_median"] if "b_median" in r else "-", r.get("ratio", "-"),
            r.get("noise", "-"), r["verdict"]))
    counts = {v: sum(1 for r in res if r["verdict"] == v) for v in ("faster", "slower", "same")}
    print(f"\nbench-ab: {len(res)} results: {counts['faster']} faster, {counts['slower']} slower, "
          f"{counts['same']} same (B against A, threshold {o.threshold:.0%} or 3 x noise); "
          f"{len(only)} benches only on one side; wrote {os.path.relpath(o.out, ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
