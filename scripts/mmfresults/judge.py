"""Judge two sets of Google Benchmark runs: is the head slower than the base?

Used by scripts/compare (commands judge, judge-options, judge-baseline,
judge-selftest). Every repetition is one sample; each benchmark's metrics are
judged in one of two ways:

- NOISY metrics (real time, p99_ns/p999_ns sync latency, and a count whose
  repetitions vary): a two-sided Mann-Whitney U test (scipy; the exact
  distribution when no value ties, else the normal approximation), then
  Benjamini-Hochberg over the FAMILY of that metric, i.e. over every
  benchmark judged (Benjamini & Hochberg 1995, "Controlling the false
  discovery rate", JRSS B 57(1):289-300): with m benchmarks and p-values
  sorted p(1) <= ... <= p(m), the ones up to the largest k with
  p(k) <= k/m * q are significant. The expected share of false alarms among
  the flagged benchmarks stays <= q (default 0.01, --alpha). A REGRESSION
  is significant AND its median worse by more than --threshold percent.
- EXACT counters (COUNT_COUNTERS: syncs, remaps, grows, bytes_grown, page
  faults...) whose repetitions do not vary on either side: the code decides
  them, not the noise, so any difference is certain. head > base is a
  REGRESSION whatever the threshold (one extra msync per 1000 appends is
  +1 sync / 1000 records exactly, however noisy the time). A count that
  varies on either side is judged as a noisy metric.
- DEVICE counters (DEVICE_COUNTERS: dev_write_bytes, own_write_bytes per
  iteration, write_amp, own_write_amp) of the rows that write and sync
  (BM_Write with a sync, BM_Sync): what reached the disk depends on the
  filesystem as well as the code, so they are always noisy metrics (U test,
  BH, the threshold), never exact: write amplification doubling is a
  REGRESSION, one extra journal block is not. A side that did not count
  them (-1: no root for own_*) leaves the metric out.

For every noisy time series the judge also prints the smallest slowdown it
could have detected with the repetitions it ran (detectable_pct), from the
run's own spread: sigma = the pooled median absolute deviation of both sides
times 1.4826 (a robust standard deviation); the normal-approximation power
formula for a two-sided level a = q/m (the level BH asks of a lone
regression) and 80 % power, corrected by the U test's efficiency 3/pi:
(z(1-a/2) + z(0.8)) * sigma * sqrt(1/n_base + 1/n_head) / sqrt(3/pi),
relative to the base median, and never below --threshold. "none" when even
samples wholly apart cannot reach a (the exact U test's smallest p,
2/C(n_base+n_head, n_base), is above a).

Inputs are folders holding one Google Benchmark JSON file per driver (or per
driver and round), each repetition its own "iteration" row. Every file is
read through files.load_gbench: a corrupt or truncated one is refused by
name, never skipped. Writes compare.md and compare.json into --out (files.
write_text / write_json), prints the table and what it counted.
Exit status: 0 no regression, 1 regression or unusable input (a corrupt file,
failed rows), 2 bad usage or nothing to judge. Against a committed baseline
(--baseline) that is not known to come from this machine (baseline_machine:
its machine fingerprint differs, or it has none) the verdict is ADVISORY:
regressions are shown as "REGRESSION (advisory)", compare.json has
"advisory": true, and the exit status is 0.
"""
import argparse
import glob
import importlib.util
import math
import os
import re
import statistics

from . import data, files, fingerprint, gbfilter
from .runfolder import parser

# Counters judged besides time, all "larger is worse". Counts of events are
# divided by the iterations of their repetition (Google Benchmark picks the
# iteration count per run, so raw totals are not comparable); latencies are
# taken as they are. A count is judged exactly when it does not vary.
# ("moves", whether mremap had to move the mapping, is left out: it follows the
# address-space layout of each process, not the code.)
LATENCY_COUNTERS = ("p99_ns", "p999_ns")
COUNT_COUNTERS = ("syncs", "remaps", "grows", "bytes_grown", "minflt", "majflt")
# Device work (bench/README.md "Device work"): bytes per iteration (a record
# in BM_Write and the BM_Sync scenarios, a sync in the BM_Sync call rows) and
# the amplification ratios; judged on device_row() rows only.
DEVICE_BYTES = ("dev_write_bytes", "own_write_bytes")
DEVICE_COUNTERS = DEVICE_BYTES + ("write_amp", "own_write_amp")
METRICS = ("time",) + LATENCY_COUNTERS + COUNT_COUNTERS + DEVICE_COUNTERS

# Files of a results folder that are not benchmark JSON.
NOT_BENCHMARK_JSON = ("context.json", "compare.json")

DEFAULT_THRESHOLD_PCT = 10.0
DEFAULT_ALPHA = 0.01      # the false discovery rate q of each family
# The U test needs 2 repetitions per side to run at all; 9 is Google
# Benchmark's "lowest reasonable number" (gbench report.py
# UTEST_OPTIMAL_REPETITIONS).
DEFAULT_MIN_REPS = 9
MIN_REPS_FLOOR = 2
# The minimum detectable slowdown: power, MAD -> sigma, U test efficiency.
POWER = 0.8
MAD_TO_SIGMA = 1.4826
U_EFFICIENCY = 3 / math.pi


class NothingToJudge(Exception):
    """The inputs hold nothing both sides ran (exit 2)."""


# --- options (one place for their rules: scripts/compare checks them first) ---

def _number(text):
    try:
        v = float(text)
    except ValueError:
        raise ValueError(f"must be a number, got '{text}'") from None
    if not math.isfinite(v):
        raise ValueError(f"must be finite, got '{text}'")
    return v


def threshold_pct(text):
    v = _number(text)
    if v <= 0:
        raise ValueError(f"must be > 0 percent, got '{text}'")
    return v


def alpha_level(text):
    v = _number(text)
    if not 0 < v < 1:
        raise ValueError(f"must be between 0 and 1 (exclusive), got '{text}'")
    return v


def min_reps(text):
    if not re.fullmatch(r"[0-9]+", text) or int(text) < MIN_REPS_FLOOR:
        raise ValueError(f"must be a whole number >= {MIN_REPS_FLOOR}, got '{text}'")
    return int(text)


def benchmark_filter(text):
    """A Python regular expression (--affected: the self-test's own names)."""
    try:
        return re.compile(text)
    except re.error as e:
        raise ValueError(f"'{text}' is not a regular expression ({e})") from None


def gbench_filter(text):
    """A --benchmark_filter the drivers accept, judged and matched by
    libbenchmark itself (gbfilter.py), never by Python's re."""
    return gbfilter.Filter(text)


def _typed(fn):
    """An argparse type whose error message is fn's own one line."""
    def conv(text):
        try:
            return fn(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    conv.__name__ = fn.__name__
    return conv


def add_rule_options(ap):
    ap.add_argument("--threshold", type=_typed(threshold_pct), default=DEFAULT_THRESHOLD_PCT,
                    help=f"percent, > 0 (default {DEFAULT_THRESHOLD_PCT:g})")
    ap.add_argument("--alpha", type=_typed(alpha_level), default=DEFAULT_ALPHA,
                    help="false discovery rate q of each family (Benjamini-Hochberg), "
                    f"0 < q < 1 (default {DEFAULT_ALPHA:g})")
    ap.add_argument("--min-reps", type=_typed(min_reps), default=DEFAULT_MIN_REPS,
                    help=f"repetitions needed per side (default {DEFAULT_MIN_REPS})")


def missing_tools():
    """A one-line reason the judge cannot run here, or None."""
    if importlib.util.find_spec("scipy") is None:
        return "needs Debian's python3-scipy (scripts/bootstrap bench)"
    return None


def main_options(argv):
    """judge-options: check the judge's options and tools before any build."""
    ap = parser("judge-options", "Check scripts/compare's judging options and the "
                "judge's tools; exit 2 with one line if one is wrong.")
    add_rule_options(ap)
    ap.add_argument("--filter", type=_typed(gbench_filter),
                    help="a --benchmark_filter (checked by libbenchmark: mmf_gbfilter)")
    if any(a == "--filter" or a.startswith("--filter=") for a in argv) and gbfilter.missing():
        ap.error(gbfilter.missing())
    ap.parse_args(argv)
    why = missing_tools()
    if why:
        ap.error(why)
    return 0


# --- reading the runs ----------------------------------------------------------

def benchmark_files(folder):
    """The benchmark JSON files of a folder (sorted): <driver>.json or a
    round's <prefix>-<driver>.json for a driver of bench/drivers.txt. Stage
    records, context.json, report.json... of a run folder are not read."""
    drivers = data.driver_names()
    out = []
    for p in sorted(glob.glob(os.path.join(folder, "*.json"))):
        stem = os.path.basename(p)[:-5]
        if os.path.basename(p) in NOT_BENCHMARK_JSON:
            continue
        if any(stem == d or stem.endswith("-" + d) for d in drivers):
            out.append(p)
    return out


def load_rows(folder):
    """({name: [row, ...]}, [(name, message) of failed rows]) of every
    per-repetition row in folder's benchmark JSON. Raises ResultError for a
    missing folder, an unreadable/corrupt/truncated file."""
    if not os.path.isdir(folder):
        raise files.ResultError(f"{folder}: no such folder")
    rows, failed = {}, []
    for path in benchmark_files(folder):
        for row in files.load_gbench(path)["benchmarks"]:
            if row.get("run_type", "iteration") != "iteration":
                continue
            if row.get("error_occurred"):
                failed.append((row["name"], row.get("error_message", "")))
                continue
            rows.setdefault(row["name"], []).append(row)
    return rows, failed


def u_pvalue(a, b):
    """Two-sided Mann-Whitney U p-value: exact without ties, else asymptotic."""
    from scipy.stats import mannwhitneyu
    if len(set(a)) == 1 and len(set(b)) == 1:
        return 1.0 if a[0] == b[0] else 0.0  # constants: certain either way
    exact = len(set(a) | set(b)) == len(a) + len(b) and min(len(a), len(b)) <= 50
    return float(mannwhitneyu(a, b, alternative="two-sided",
                              method="exact" if exact else "asymptotic").pvalue)


def bh_significant(pvalues, q):
    """Benjamini-Hochberg step-up: the set of indexes of pvalues that are
    significant at false discovery rate q, and the adjusted p-values."""
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    k = 0
    for rank, i in enumerate(order, 1):
        if pvalues[i] <= rank / m * q:
            k = rank
    adjusted, running = [1.0] * m, 1.0
    for rank in range(m, 0, -1):
        i = order[rank - 1]
        running = min(running, pvalues[i] * m / rank)
        adjusted[i] = min(1.0, running)
    return {order[r] for r in range(k)}, adjusted


def min_pvalue(na, nb):
    """The smallest two-sided p of the exact U test: samples wholly apart."""
    return min(1.0, 2.0 / math.comb(na + nb, na))


def detectable_pct(a, b, level, threshold):
    """The smallest slowdown (percent of the base median) the U test at
    two-sided level `level` detects with 80 % power given the runs' own
    spread (see the module's header), at least threshold; None when no
    shift can reach the level with these repetitions."""
    from scipy.stats import norm
    if min_pvalue(len(a), len(b)) > level:
        return None
    ma, mb = statistics.median(a), statistics.median(b)
    dev = sorted([abs(x - ma) for x in a] + [abs(x - mb) for x in b])
    sigma = MAD_TO_SIGMA * statistics.median(dev)
    if ma <= 0:
        return None
    z = norm.ppf(1 - level / 2) + norm.ppf(POWER)
    shift = z * sigma * math.sqrt(1 / len(a) + 1 / len(b)) / math.sqrt(U_EFFICIENCY)
    return max(threshold, shift / ma * 100.0)


def device_row(name):
    """Whether a benchmark's device write counters are judged: a BM_Write row
    that syncs (a sync:never row's bytes are whatever background writeback
    did in its window) or a BM_Sync row."""
    family, keys = data.parse_name(name)
    return family == "BM_Sync" or (family == "BM_Write" and keys.get("sync") not in (None, "never"))


def series(rows, metric):
    """The per-repetition values of a metric ("time" or a counter name)."""
    vals = []
    for r in rows:
        if metric == "time":
            vals.append(float(r["real_time"]))
        elif metric in r:
            v = float(r[metric])
            if metric in COUNT_COUNTERS or (metric in DEVICE_BYTES and v >= 0):
                v /= max(1.0, float(r.get("iterations", 1)))
            vals.append(v)
    return vals


# --- the rule ------------------------------------------------------------------

def _change(ma, mb):
    return (mb - ma) / ma * 100.0 if ma else (0.0 if mb == ma else math.inf)


def judge_exact(name, metric, a, b):
    """A count that does not vary on either side: any difference is certain."""
    ma, mb = a[0], b[0]
    return {"benchmark": name, "metric": metric, "base_median": ma, "head_median": mb,
            "change_pct": _change(ma, mb), "p": None, "q": None, "test": "exact",
            "detectable_pct": None, "n_base": len(a), "n_head": len(b),
            "verdict": "REGRESSION" if mb > ma else "improved" if mb < ma else "same"}


def judge(base_rows, head_rows, threshold, alpha, min_reps=DEFAULT_MIN_REPS):
    """[verdict dict] for every benchmark both sides ran: time, then counters.
    Noisy metrics are corrected per family (metric) by Benjamini-Hochberg."""
    common = [n for n in sorted(base_rows) if n in head_rows]
    if not common:
        raise NothingToJudge("no benchmark ran on both sides")
    for name in common:
        na, nb = len(base_rows[name]), len(head_rows[name])
        if min(na, nb) < min_reps:
            raise NothingToJudge(f"{name}: {na} vs {nb} repetitions "
                                 f"(the U test needs >= {min_reps} per side)")
    results, noisy = [], {}        # noisy: metric -> [(result, a, b)]
    for name in common:
        for metric in METRICS:
            if metric in DEVICE_COUNTERS and not device_row(name):
                continue
            a, b = series(base_rows[name], metric), series(head_rows[name], metric)
            if metric != "time" and not (len(a) >= min_reps and len(b) >= min_reps
                                         and (any(a) or any(b))):
                continue
            if metric in DEVICE_COUNTERS and min(a + b) < 0:
                continue        # a side that did not count it
            if metric in COUNT_COUNTERS and len(set(a)) == 1 and len(set(b)) == 1:
                results.append(judge_exact(name, metric, a, b))
                continue
            ma, mb = statistics.median(a), statistics.median(b)
            r = {"benchmark": name, "metric": metric, "base_median": ma, "head_median": mb,
                 "change_pct": _change(ma, mb), "p": u_pvalue(a, b), "q": None,
                 "test": "U+BH", "detectable_pct": None,
                 "n_base": len(a), "n_head": len(b), "verdict": "same"}
            results.append(r)
            noisy.setdefault(metric, []).append((r, a, b))
    for metric, family in noisy.items():
        sig, adjusted = bh_significant([r["p"] for r, _, _ in family], alpha)
        lone = alpha / len(family)     # what BH asks of a lone regression
        for i, (r, a, b) in enumerate(family):
            r["q"] = adjusted[i]
            if metric == "time":
                r["detectable_pct"] = detectable_pct(a, b, lone, threshold)
            if i in sig and r["change_pct"] > threshold:
                r["verdict"] = "REGRESSION"
            elif i in sig and r["change_pct"] < -threshold:
                r["verdict"] = "improved"
    order = {m: i for i, m in enumerate(METRICS)}
    results.sort(key=lambda r: (r["benchmark"], order[r["metric"]]))
    return results


# --- the report ----------------------------------------------------------------

def fmt(v):
    if v == 0:
        return "0"
    if abs(v) >= 1e6 or abs(v) < 1e-2:
        return f"{v:.3g}"
    return f"{v:,.2f}"


def _test_text(r):
    if r["test"] == "exact":
        return "exact"
    return f"p={r['p']:.2g} q={r['q']:.2g}"


def _detectable_text(r):
    if r["metric"] != "time":
        return ""
    d = r["detectable_pct"]
    return "none" if d is None else f"{d:.1f}%"


def table(results, advisory=False):
    """(text, markdown) of the results; advisory: a regression reads
    'REGRESSION (advisory)' (a baseline from another machine)."""
    head = ("benchmark", "metric", "base median", "head median", "change", "test",
            "detectable", "verdict")
    tag = " (advisory)" if advisory else ""
    lines = [head] + [(r["benchmark"], r["metric"], fmt(r["base_median"]),
                       fmt(r["head_median"]), f"{r['change_pct']:+.1f}%",
                       _test_text(r), _detectable_text(r),
                       r["verdict"] + (tag if r["verdict"] == "REGRESSION" else ""))
                      for r in results]
    widths = [max(len(str(l[i])) for l in lines) for i in range(len(head))]
    text = "\n".join("  ".join(str(c).ljust(w) for c, w in zip(l, widths)) for l in lines)
    md = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    md += ["| " + " | ".join(str(c) for c in l) + " |" for l in lines[1:]]
    return text, "\n".join(md)


def _json_number(v):
    """JSON has no inf: a change from a zero median is written as null."""
    return v if not isinstance(v, float) or math.isfinite(v) else None


def write_report(out, title, notes, threshold, alpha, verdict, results, md, advisory=False):
    """out/compare.md and out/compare.json (atomic writes)."""
    rule = rule_text(threshold, alpha)
    os.makedirs(out, exist_ok=True)
    body = f"# {title}\n\n" + "".join(f"- {n}\n" for n in notes)
    files.write_text(os.path.join(out, "compare.md"),
                     body + f"- {rule}\n- verdict: **{verdict}**\n\n{md}\n")
    rows = [{k: _json_number(v) for k, v in r.items()} for r in results]
    regressions = sum(1 for r in results if r["verdict"] == "REGRESSION")
    files.write_json(os.path.join(out, "compare.json"),
                     {"threshold_pct": threshold, "alpha": alpha,
                      "notes": notes, "verdict": verdict, "regressions": regressions,
                      "advisory": advisory,
                      "benchmarks": len({r["benchmark"] for r in results}),
                      "results": rows})


def rule_text(threshold, alpha):
    return (f"regression = median worse by > {threshold:g} % and significant in its "
            f"metric's family (U test, Benjamini-Hochberg q = {alpha:g}); a count that "
            "does not vary between repetitions: any increase (exact); device bytes are per "
            "iteration (record or sync), never exact; detectable = the "
            "smallest slowdown these repetitions detect with 80 % power")


def _refuse_failed(side, folder, failed):
    if failed:
        names = ", ".join(f"{n} ({m})" if m else n for n, m in failed[:3])
        more = f" and {len(failed) - 3} more" if len(failed) > 3 else ""
        raise files.ResultError(f"{side} {folder}: {len(failed)} benchmark rows failed: "
                                f"{names}{more}")


def main(argv):
    """judge BASE HEAD --out DIR: the verdict of head against base."""
    ap = parser("judge", "Judge base against head benchmark runs (scripts/compare).")
    ap.add_argument("base_dir")
    ap.add_argument("head_dir")
    ap.add_argument("--out", required=True, help="where compare.md/compare.json go")
    add_rule_options(ap)
    ap.add_argument("--baseline", metavar="DIR",
                    help="base_dir was imported from the committed baseline DIR: "
                    "note whether it comes from this machine")
    ap.add_argument("--title", default="mmapfile benchmark comparison")
    ap.add_argument("--note", action="append", default=[], help="a line for the report")
    args = ap.parse_args(argv)
    why = missing_tools()
    if why:
        ap.error(why)

    notes = list(args.note)
    advisory = False
    if args.baseline:
        advisory, note = baseline_machine(args.baseline)
        notes.append(note)
    base, base_failed = load_rows(args.base_dir)
    head, head_failed = load_rows(args.head_dir)
    _refuse_failed("base", args.base_dir, base_failed)
    _refuse_failed("head", args.head_dir, head_failed)
    try:
        for side, rows, folder in (("base", base, args.base_dir), ("head", head, args.head_dir)):
            if not rows:
                raise NothingToJudge(f"{side} {folder}: no benchmark rows")
        results = judge(base, head, args.threshold, args.alpha, args.min_reps)
    except NothingToJudge as e:
        ap.exit(2, f"judge: {e}\n")
    regressions = [r for r in results if r["verdict"] == "REGRESSION"]
    text, md = table(results, advisory)
    verdict = f"{len(regressions)} regression(s)" if regressions else "no regression"
    if advisory:
        verdict = f"ADVISORY {verdict} (the baseline is not known to come from this machine)"
    rule = rule_text(args.threshold, args.alpha)
    n_bench = len({r["benchmark"] for r in results})
    reps_b = sum(len(base[n]) for n in {r["benchmark"] for r in results})
    reps_h = sum(len(head[n]) for n in {r["benchmark"] for r in results})
    print(text)
    print(f"\njudged {n_bench} benchmarks ({len(results)} metrics; "
          f"{reps_b} base and {reps_h} head repetitions)")
    if advisory:
        print(notes[-1])
    print(f"verdict: {verdict} ({rule})")
    write_report(args.out, args.title, notes, args.threshold, args.alpha, verdict, results, md,
                 advisory)
    return 1 if regressions and not advisory else 0


# --- a committed baseline as the base side (scripts/compare --baseline) --------

def baseline_machine(folder, bench_dir=None):
    """(advisory, note): whether the baseline folder comes from this machine,
    by the machine fingerprint of the history (fingerprint.py), never the
    host name. The baseline's machine.json is compared with this machine's
    components (bench_dir: where the drivers work, default $MMF_BENCH_DIR or
    /var/tmp); a folder with only context.json with the partial fingerprint
    it gives (CPU model, cores, memory, kernel, filesystem, device), said so.
    advisory is True when they differ or the baseline has no fingerprint.
    A corrupt machine.json or context.json is refused by name."""
    comp, where = fingerprint.of_run(folder)
    if comp is None:
        return True, ("ADVISORY: the baseline has no machine fingerprint (no machine.json or "
                      "context.json): its machine is unknown")
    here = fingerprint.this_machine(bench_dir or os.environ.get("MMF_BENCH_DIR") or "/var/tmp")
    if comp.get("partial"):
        here = {k: here.get(k) for k in comp if k != "partial"}
        here["partial"] = comp["partial"]
    fp, fp_here = fingerprint.fingerprint(comp), fingerprint.fingerprint(here)
    kind = ("partial fingerprint from its context.json (no machine.json: mount options, "
            "device model and cgroup limits not compared)" if comp.get("partial")
            else "fingerprint from its machine.json")
    if fp == fp_here:
        return False, f"same machine: {fp} ({kind})"
    diff = "; ".join(f"{k} {comp.get(k)} vs {here.get(k)} here"
                     for k in sorted(set(comp) | set(here)) if comp.get(k) != here.get(k))
    return True, (f"ADVISORY: the baseline comes from another machine: {fp} vs {fp_here} here "
                  f"({kind}; {diff}); differences may be the machine's")


def import_baseline(folder, dest, pattern):
    """Copy the rows of folder's benchmark JSON that pattern (a gbfilter.Filter)
    selects into dest/<file>.json (dest None: only check). Returns (files,
    benchmarks, repetitions) imported.
    Raises ResultError for a missing or incomplete folder, one without
    benchmark JSON, a corrupt or truncated file (by name); NothingToJudge
    when no row matches."""
    if not os.path.isdir(folder):
        raise files.ResultError(f"{folder}: no such baseline folder")
    files.check_complete(folder)
    files.check_recorded(folder)
    paths = benchmark_files(folder)
    if not paths:
        raise files.ResultError(f"{folder}: no benchmark JSON in the baseline folder")
    docs = []
    for p in paths:            # every file is checked before anything is written
        doc = files.load_gbench(p)
        # Only the per-repetition rows: the judge needs nothing else, and the
        # aggregates' cv is NaN for constant counters (not writable as JSON).
        doc["benchmarks"] = [r for r in doc["benchmarks"]
                             if r.get("run_type", "iteration") == "iteration"]
        docs.append((os.path.basename(p), doc))
    # The rows the drivers would run with this filter: libbenchmark decides.
    chosen = pattern.select({_run_name(r) for _, d in docs for r in d["benchmarks"]})
    for _, doc in docs:
        doc["benchmarks"] = [r for r in doc["benchmarks"] if _run_name(r) in chosen]
    names = {r["name"] for _, d in docs for r in d["benchmarks"]}
    if not names:
        raise NothingToJudge(f"{folder}: no benchmark of the baseline matches --filter "
                             f"'{pattern.pattern}'")
    reps = sum(len(d["benchmarks"]) for _, d in docs)
    if dest is not None:
        os.makedirs(dest, exist_ok=True)
        for base, doc in docs:
            if doc["benchmarks"]:
                files.write_json(os.path.join(dest, base), doc)
    return sum(1 for _, d in docs if d["benchmarks"]), len(names), reps


def _run_name(row):
    """The name libbenchmark matched its filter against: the instance name."""
    return row.get("run_name") or row["name"]


def main_baseline(argv):
    """judge-baseline DIR DEST --filter RE: check and import a baseline."""
    ap = parser("judge-baseline", "Check a committed baseline folder (complete, every "
                "benchmark JSON whole) and import its rows matching --filter into DEST.")
    ap.add_argument("folder")
    ap.add_argument("dest", nargs="?", help="where to import (default: only check)")
    ap.add_argument("--filter", type=_typed(gbench_filter), required=True,
                    help="a --benchmark_filter, matched by libbenchmark (mmf_gbfilter)")
    if gbfilter.missing():
        ap.error(gbfilter.missing())
    a = ap.parse_args(argv)
    if not os.path.isdir(a.folder):
        ap.error(f"{a.folder}: no such baseline folder")
    if not benchmark_files(a.folder):
        ap.error(f"{a.folder}: no benchmark JSON in the baseline folder")
    try:
        n_files, n_bench, n_reps = import_baseline(a.folder, a.dest, a.filter)
    except NothingToJudge as e:
        ap.exit(2, f"judge-baseline: {e}\n")
    advisory, note = baseline_machine(a.folder)
    print(f"baseline {a.folder}: {n_bench} benchmarks, {n_reps} repetitions from {n_files} files")
    if advisory:
        ap.exit(0, f"judge-baseline: warning: {note}\n")
    print(note)
    return 0


# --- scripts/compare --self-test: one line per comparison ----------------------

def time_results(compare_json):
    doc = files.load_json(compare_json, "comparison")
    rows = doc.get("results")
    if not isinstance(rows, list) or not rows:
        raise files.ResultError(f"{compare_json}: comparison without results")
    return doc, [r for r in rows if r.get("metric") == "time"]


def aa_line(compare_json, run, status):
    """The line of an A/A run (a revision against itself)."""
    doc, t = time_results(compare_json)
    big = max(t, key=lambda r: abs(r["change_pct"] or 0))
    low = min(t, key=lambda r: r["q"])
    flagged = [f"{r['benchmark']} {r['metric']}" for r in doc["results"]
               if r["verdict"] == "REGRESSION"]
    exact = sum(1 for r in doc["results"] if r.get("test") == "exact")
    return (f"A/A {run}: exit {status}, regressions {doc['regressions']}"
            f"{' (' + ', '.join(flagged) + ')' if flagged else ''}, "
            f"largest |change| {abs(big['change_pct'] or 0):.1f}% ({big['benchmark']}), "
            f"smallest q {low['q']:.4f} ({low['benchmark']}), {exact} exact counters")


def slowdown_line(compare_json, run, affected, metric="time"):
    """(ok, line) of a run against an injected regression: ok when metric is
    flagged on exactly the benchmarks matching affected (at least one), and
    nothing at all is flagged on the others. For an injected msync
    (metric syncs) the time change of the affected rows is shown beside."""
    doc, t = time_results(compare_json)
    rows = [r for r in doc["results"] if r.get("metric") == metric]
    hit = [r for r in rows if affected.search(r["benchmark"])]
    missed = [r["benchmark"] for r in hit if r["verdict"] != "REGRESSION"]
    wrong = sorted({f"{r['benchmark']} {r['metric']}" for r in doc["results"]
                    if not affected.search(r["benchmark"]) and r["verdict"] == "REGRESSION"})
    flag = [r for r in rows if r["verdict"] == "REGRESSION"]
    ok = not missed and not wrong and bool(flag)
    changes = ", ".join("%+.0f%%" % (r["change_pct"] or math.inf) for r in flag)
    line = (f"{'slowdown' if metric == 'time' else metric} {run}: "
            f"{'ok' if ok else 'FAILED'}: flagged {len(flag)} of {len(hit)} affected "
            f"on {metric} (changes {changes}); missed {missed or 'none'}; "
            f"unaffected flagged {wrong or 'none'}")
    if metric != "time":
        times = [r for r in t if affected.search(r["benchmark"])]
        line += "; time " + ", ".join(
            f"{r['change_pct']:+.1f}% q={r['q']:.2g} {r['verdict']}" for r in times)
    return ok, line


def main_selftest(argv):
    """judge-selftest aa|slowdown|msync COMPARE_JSON --run I ...: one line;
    exit 1 when an injected run did not flag exactly the affected benchmarks."""
    ap = parser("judge-selftest", "Print the line of one self-test comparison.")
    ap.add_argument("kind", choices=("aa", "slowdown", "msync"))
    ap.add_argument("compare_json")
    ap.add_argument("--run", required=True)
    ap.add_argument("--status", default="?", help="the A/A run's exit status")
    ap.add_argument("--affected", type=_typed(benchmark_filter),
                    help="the benchmarks the injection touches (slowdown, msync)")
    a = ap.parse_args(argv)
    if a.kind == "aa":
        print(aa_line(a.compare_json, a.run, a.status))
        return 0
    if a.affected is None:
        ap.error(f"{a.kind} needs --affected REGEX")
    ok, line = slowdown_line(a.compare_json, a.run, a.affected,
                             "time" if a.kind == "slowdown" else "syncs")
    print(line)
    return 0 if ok else 1
