#!/usr/bin/python3
"""Judge two sets of Google Benchmark runs: is the head slower than the base?

Used by scripts/compare. Time is judged by Google Benchmark's own compare.py
(Debian libbenchmark-tools; two-sided Mann-Whitney U test over the
repetitions); the counters that matter more than time here (p99/p999 sync
latency, page faults, remaps) by scipy's U test on the same repetitions.

A benchmark (or a counter of one) is a REGRESSION when its median is worse
by more than --threshold percent AND the U test gives p < --alpha.

Inputs are directories holding one JSON file per driver, each with every
repetition as its own "iteration" row (scripts/compare merges its rounds that
way). Writes compare.md and compare.json into --out, prints the table.
Exit status: 0 no regression, 1 regression, 2 could not judge.
"""
import argparse
import glob
import json
import os
import statistics
import subprocess
import sys
import tempfile

try:
    from scipy.stats import mannwhitneyu
except ImportError:  # pragma: no cover - reported to the user
    sys.stderr.write("compare_judge: scipy missing (Debian python3-scipy; "
                     "run scripts/bootstrap) - run with /usr/bin/python3\n")
    sys.exit(2)

COMPARE_PY = "/usr/share/benchmark/compare.py"

# Counters judged besides time, all "larger is worse". Counts of events are
# divided by the iterations of their repetition (Google Benchmark picks the
# iteration count per run, so raw totals are not comparable); latencies are
# taken as they are.
# ("moves", whether mremap had to move the mapping, is left out: it follows the
# address-space layout of each process, not the code.)
LATENCY_COUNTERS = ("p99_ns", "p999_ns")
COUNT_COUNTERS = ("minflt", "majflt", "remaps")


def load_rows(directory):
    """{name: [row, ...]} of the iteration rows of every *.json in directory."""
    rows = {}
    files = sorted(glob.glob(os.path.join(directory, "*.json")))
    for path in files:
        if os.path.basename(path) in ("context.json", "compare.json"):
            continue
        with open(path) as fh:
            try:
                doc = json.load(fh)
            except json.JSONDecodeError as exc:
                raise SystemExit(f"compare_judge: {path}: not JSON ({exc})")
        for row in doc.get("benchmarks", []):
            if row.get("run_type", "iteration") != "iteration" or row.get("error_occurred"):
                continue
            rows.setdefault(row["name"], []).append(row)
    return rows


def merged_doc(rows):
    """One Google Benchmark JSON document holding all rows (for compare.py)."""
    flat = [r for name in sorted(rows) for r in rows[name]]
    return {"context": {}, "benchmarks": flat}


def time_pvalues(base_rows, head_rows):
    """{name: p} of compare.py's U test on real time."""
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for tag, rows in (("base", base_rows), ("head", head_rows)):
            p = os.path.join(tmp, tag + ".json")
            with open(p, "w") as fh:
                json.dump(merged_doc(rows), fh)
            paths.append(p)
        dump = os.path.join(tmp, "diff.json")
        cmd = ["/usr/bin/python3", COMPARE_PY, "--no-color", "-d", dump,
               "benchmarks", paths[0], paths[1]]
        res = subprocess.run(cmd, capture_output=True, text=True)
        if res.returncode != 0 or not os.path.exists(dump):
            raise SystemExit("compare_judge: compare.py failed:\n" + res.stderr)
        with open(dump) as fh:
            diff = json.load(fh)
    out = {}
    for entry in diff:
        ut = entry.get("utest") or {}
        if entry.get("run_type") == "iteration" and ut.get("time_pvalue") is not None:
            out[entry["name"]] = ut["time_pvalue"]
    return out


def u_pvalue(a, b):
    if len(set(a)) == 1 and len(set(b)) == 1:
        return 1.0 if a[0] == b[0] else 0.0  # constants: certain either way
    return float(mannwhitneyu(a, b, alternative="two-sided").pvalue)


def series(rows, metric):
    """The per-repetition values of a metric ("time" or a counter name)."""
    vals = []
    for r in rows:
        if metric == "time":
            vals.append(float(r["real_time"]))
        elif metric in r:
            v = float(r[metric])
            if metric in COUNT_COUNTERS:
                v /= max(1.0, float(r.get("iterations", 1)))
            vals.append(v)
    return vals


def judge_one(name, metric, a, b, p, threshold, alpha):
    ma, mb = statistics.median(a), statistics.median(b)
    change = (mb - ma) / ma * 100.0 if ma else (0.0 if mb == ma else float("inf"))
    regression = change > threshold and p < alpha
    improvement = change < -threshold and p < alpha
    return {
        "benchmark": name, "metric": metric, "base_median": ma, "head_median": mb,
        "change_pct": change, "p": p, "n_base": len(a), "n_head": len(b),
        "verdict": "REGRESSION" if regression else "improved" if improvement else "same",
    }


def judge(base_rows, head_rows, threshold, alpha, min_reps):
    common = [n for n in sorted(base_rows) if n in head_rows]
    if not common:
        raise SystemExit("compare_judge: no benchmark ran on both sides")
    tp = time_pvalues(base_rows, head_rows)
    results = []
    for name in common:
        a, b = series(base_rows[name], "time"), series(head_rows[name], "time")
        if min(len(a), len(b)) < min_reps:
            raise SystemExit(f"compare_judge: {name}: {len(a)} vs {len(b)} repetitions "
                             f"(the U test needs >= {min_reps} per side)")
        results.append(judge_one(name, "time", a, b, tp.get(name, 1.0), threshold, alpha))
        for c in LATENCY_COUNTERS + COUNT_COUNTERS:
            a, b = series(base_rows[name], c), series(head_rows[name], c)
            if len(a) >= min_reps and len(b) >= min_reps and (any(a) or any(b)):
                results.append(judge_one(name, c, a, b, u_pvalue(a, b), threshold, alpha))
    return results


def fmt(v):
    if v == 0:
        return "0"
    if abs(v) >= 1e6 or abs(v) < 1e-2:
        return f"{v:.3g}"
    return f"{v:,.2f}"


def table(results):
    head = ("benchmark", "metric", "base median", "head median", "change", "p", "verdict")
    lines = [head] + [(r["benchmark"], r["metric"], fmt(r["base_median"]),
                       fmt(r["head_median"]), f"{r['change_pct']:+.1f}%",
                       f"{r['p']:.4f}", r["verdict"]) for r in results]
    widths = [max(len(str(l[i])) for l in lines) for i in range(len(head))]
    text = "\n".join("  ".join(str(c).ljust(w) for c, w in zip(l, widths)) for l in lines)
    md = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    md += ["| " + " | ".join(str(c) for c in l) + " |" for l in lines[1:]]
    return text, "\n".join(md)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("base_dir")
    ap.add_argument("head_dir")
    ap.add_argument("--out", required=True, help="where compare.md/compare.json go")
    ap.add_argument("--threshold", type=float, default=10.0, help="percent (default 10)")
    ap.add_argument("--alpha", type=float, default=0.01, help="U test level (default 0.01)")
    ap.add_argument("--min-reps", type=int, default=9, help="per side (default 9)")
    ap.add_argument("--title", default="mmapfile benchmark comparison")
    ap.add_argument("--note", action="append", default=[], help="a line for the report")
    args = ap.parse_args(argv)

    base, head = load_rows(args.base_dir), load_rows(args.head_dir)
    if not base or not head:
        sys.stderr.write("compare_judge: no benchmark rows in %s\n" %
                         (args.base_dir if not base else args.head_dir))
        return 2
    results = judge(base, head, args.threshold, args.alpha, args.min_reps)
    regressions = [r for r in results if r["verdict"] == "REGRESSION"]
    text, md = table(results)
    verdict = (f"{len(regressions)} regression(s)" if regressions else "no regression")
    rule = (f"regression = median worse by > {args.threshold:g} % and "
            f"U test p < {args.alpha:g}")
    print(text)
    print(f"\nverdict: {verdict} ({rule})")
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "compare.md"), "w") as fh:
        fh.write(f"# {args.title}\n\n")
        for n in args.note:
            fh.write(f"- {n}\n")
        fh.write(f"- {rule}\n- verdict: **{verdict}**\n\n{md}\n")
    with open(os.path.join(args.out, "compare.json"), "w") as fh:
        json.dump({"threshold_pct": args.threshold, "alpha": args.alpha,
                   "notes": args.note, "verdict": verdict,
                   "regressions": len(regressions), "results": results}, fh, indent=1)
    return 1 if regressions else 0


