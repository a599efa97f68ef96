"""history backfill: the change-point detector on real history (issue 15 section 3).

  backfill --revs N [--inject-ns NS] [--inject-at K] [--filter RE] [--reps R]
           [--out DIR] [--db DB]

Builds and runs a small benchmark subset at each of the last N first-parent
commits of HEAD (oldest first), plus one synthetic commit: the tree of the
K-th commit built with MMF_INJECT_SLOW_NS=NS (every mmf_allocate_slice and
mmf_append_buffer spins NS ns; core/CMakeLists.txt). The slowdown stays in
every later commit (they are built with it too), as a regression that landed
there and was never fixed. Every point is a run folder OUT/<i>-<rev>/
(bench_write.json, context.json, machine.json, bench.json) ingested into DB
(default OUT/history.db, kept apart from results/history.db: its later runs
carry a synthetic slowdown); then `detect` must name the synthetic commit:
exit 0 when every series of the subset has its change point at the
synthetic commit (the revision label "synthetic:<parent>+MMF_INJECT_SLOW_NS=<NS>"),
1 otherwise.

Each commit's tree comes from `git archive` (no worktree, no ref, no object is
written to the repository) and is built in OUT/src-<i>/build (release preset,
target bench_write, -j MMF_JOBS or 2). Cost on this 2-core machine: about
a minute per point.
"""
import datetime
import io
import os
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import types

from . import changepoint, files, fingerprint, gbfilter, history, store
from .runfolder import parser

DRIVER = "bench_write"
# The detector of the verdict: Hunter's t-test, not the rank test `detect`
# defaults to. Backfill judges one large injected step on a short history
# (--revs 10: 11 runs), where the rank test cannot reach p < 0.001 (its exact
# p is at least 2 / C(11, 5) = 0.004; changepoint.min_points); --method rank
# needs --revs 13 or more.
METHOD = "t"
# The subset: the two calls MMF_INJECT_SLOW_NS slows, at the smallest record
# (so the spin is a large part of each call) and without syncs (the quietest).
DEFAULT_FILTER = "^BM_Write/api:(allocate_slice|append_buffer)/opts:default/sync:never/rec:64/"
# 100 ns against ~100 ns per call here: an unmistakable step, as the injected
# regression of scripts/compare's self-test is.
DEFAULT_INJECT_NS = 100
MIN_TIME = "0.05"      # seconds per repetition: scripts/bench's quick profile


def _git(*args):
    p = subprocess.run(["git", "-C", history.TOP] + list(args), capture_output=True, text=True)
    if p.returncode != 0:
        raise files.ResultError(f"git {' '.join(args)}: {p.stderr.strip().splitlines()[-1:]}")
    return p.stdout


def _run(argv, log, **kw):
    with open(log, "a") as f:
        f.write("$ " + " ".join(argv) + "\n")
        f.flush()
        p = subprocess.run(argv, stdout=f, stderr=subprocess.STDOUT, **kw)
    if p.returncode != 0:
        raise files.ResultError(f"{argv[0]} failed (exit {p.returncode}; log {log})")


def build(rev, src, inject_ns, log, jobs):
    """Extract rev into src and build the release driver; returns its path."""
    os.makedirs(src)
    arch = subprocess.Popen(["git", "-C", history.TOP, "archive", rev], stdout=subprocess.PIPE)
    tar = subprocess.run(["tar", "-x", "-C", src], stdin=arch.stdout)
    arch.stdout.close()
    if arch.wait() != 0 or tar.returncode != 0:
        raise files.ResultError(f"git archive {rev}: could not extract")
    if inject_ns:
        with open(os.path.join(src, "core", "CMakeLists.txt")) as f:
            if "MMF_INJECT_SLOW_NS" not in f.read():
                raise files.ResultError(f"{rev}: has no MMF_INJECT_SLOW_NS build option")
    bdir = os.path.join(src, "build", "release")
    _run(["cmake", "--preset", "release", f"-DMMF_INJECT_SLOW_NS={inject_ns}",
          "-DMMF_BUILD_TESTS=OFF"], log, cwd=src)
    _run(["cmake", "--build", bdir, "-j", str(jobs), "--target", DRIVER], log)
    return os.path.join(bdir, "bench", DRIVER)


def run_point(driver, folder, label, rev, inject_ns, filt, reps, log):
    """Run the subset into folder and write its context, machine and stage records."""
    os.makedirs(folder)
    scratch = tempfile.mkdtemp(prefix="mmf-backfill.", dir="/var/tmp")
    try:
        _run([driver, f"--benchmark_filter={filt}", f"--benchmark_repetitions={reps}",
              "--benchmark_enable_random_interleaving=true",
              "--benchmark_report_aggregates_only=false", f"--benchmark_min_time={MIN_TIME}",
              f"--benchmark_out={os.path.join(folder, DRIVER + '.json')}",
              "--benchmark_out_format=json"], log, env=dict(os.environ, MMF_BENCH_DIR=scratch))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    comp = fingerprint.this_machine()
    rows = [r for r in files.load_gbench(os.path.join(folder, DRIVER + ".json"))["benchmarks"]
            if r.get("run_type") == "iteration"]
    if not rows:
        raise files.ResultError(f"{folder}: the filter {filt!r} ran no benchmark at {rev}")
    files.write_json(os.path.join(folder, "context.json"), {
        "date": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "host": socket.gethostname(), "profile": "backfill", "repetitions": reps, "filter": filt,
        "kernel": platform.release(), "cpu_model": comp["cpu_model"], "cpus": comp["cpus"],
        "git_revision": label, "git_commit": rev, "git_dirty": False,
        "injected_slow_ns": inject_ns})
    files.write_json(os.path.join(folder, "machine.json"),
                     {"fingerprint": fingerprint.fingerprint(comp),
                      "summary": fingerprint.summary(comp), "components": comp})
    files.write_stage(folder, "bench", "pass", counts={"benchmarks": len({r["name"] for r in rows}),
                                                        "repetitions": len(rows)})


def main(argv):
    ap = parser("history backfill", __doc__.split("\n\n")[1].replace("\n", " "))
    ap.add_argument("--revs", type=int, required=True, metavar="N", help="commits (>= 10)")
    ap.add_argument("--inject-ns", type=int, default=DEFAULT_INJECT_NS, metavar="NS")
    ap.add_argument("--inject-at", type=int, metavar="K",
                    help="the synthetic commit follows the K-th commit (default N/2)")
    ap.add_argument("--filter", default=DEFAULT_FILTER, metavar="RE",
                    help="a --benchmark_filter, checked and matched by libbenchmark (mmf_gbfilter)")
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--out", metavar="DIR", help="default results/backfill/<UTC time>")
    ap.add_argument("--db", help="default OUT/history.db")
    ap.add_argument("--method", choices=tuple(changepoint.METHODS), default=METHOD,
                    help=f"the detector (default {METHOD}: see METHOD in backfill.py)")
    a = ap.parse_args(argv)
    try:
        gbfilter.Filter(a.filter)
    except ValueError as e:
        ap.error(f"argument --filter: {e}")
    n = a.revs
    need = max(2 * changepoint.MIN_SIZE, changepoint.min_points(a.method) - 1)
    if n < need:
        ap.error(f"--revs must be at least {need} with --method {a.method} (N + 1 runs; "
                 f"a change point needs {changepoint.min_points(a.method)} runs, "
                 f"{changepoint.MIN_SIZE} on each side), got {n}")
    k = n // 2 if a.inject_at is None else a.inject_at
    if not changepoint.MIN_SIZE <= k <= n + 1 - changepoint.MIN_SIZE:
        ap.error(f"--inject-at must be between {changepoint.MIN_SIZE} and "
                 f"{n + 1 - changepoint.MIN_SIZE}, got {k}")
    if a.inject_ns < 1 or a.reps < 1:
        ap.error("--inject-ns and --reps must be at least 1")
    revs = _git("rev-list", "--first-parent", "-n", str(n), "HEAD").split()[::-1]
    if len(revs) < n:
        ap.error(f"--revs {n}: HEAD has only {len(revs)} first-parent commits")
    out = a.out or os.path.join(history.TOP, "results", "backfill",
                                datetime.datetime.now(datetime.timezone.utc)
                                .strftime("%Y%m%dT%H%M%SZ"))
    os.makedirs(out, exist_ok=True)
    if os.listdir(out):
        ap.error(f"--out {out}: not empty")
    db = a.db or os.path.join(out, "history.db")
    jobs = min(int(os.environ.get("MMF_JOBS", "2") or 2), 2)
    log = os.path.join(out, "backfill.log")
    files.write_text(os.path.join(out, files.MARKER), "in progress: history backfill\n")
    synthetic = f"synthetic:{revs[k - 1][:12]}+MMF_INJECT_SLOW_NS={a.inject_ns}"
    # (label, commit, injected ns): commits 1..k clean, the synthetic one, then the rest injected.
    points = [(r, r, 0) for r in revs[:k]] + [(synthetic, revs[k - 1], a.inject_ns)] + \
             [(r, r, a.inject_ns) for r in revs[k:]]
    print(f"backfill: {n} commits {revs[0][:12]}..{revs[-1][:12]} + {synthetic} after commit "
          f"{k}; {len(points)} runs into {db} (log {log})", flush=True)
    for i, (label, rev, ns) in enumerate(points):
        t0 = datetime.datetime.now()
        driver = build(rev, os.path.join(out, f"src-{i:02d}"), ns, log, jobs)
        folder = os.path.join(out, f"{i:02d}-{label[:22].replace(':', '-').replace('+', '-')}")
        run_point(driver, folder, label, rev, ns, a.filter, a.reps, log)
        history.ingest(db, folder, out=io.StringIO())
        shutil.rmtree(os.path.join(out, f"src-{i:02d}"))
        print(f"  [{i + 1}/{len(points)}] {label[:40]} injected {ns} ns: "
              f"{(datetime.datetime.now() - t0).seconds} s", flush=True)
    os.unlink(os.path.join(out, files.MARKER))
    return verdict(db, a.filter, synthetic, a.method)


def verdict(db, filt, synthetic, method=METHOD):
    """0 when every series of the subset (the benchmarks the drivers ran with the
    filter filt, selected by libbenchmark: gbfilter) has a change point at the
    synthetic commit."""
    with store.Store(db, create=False) as st:
        names = st.series_names(changepoint.DEFAULT_METRIC)
        chosen = gbfilter.Filter(filt).select(b for _, b in names)
        # load_series searches names with .search(name): here, membership
        series = history.load_series(st, changepoint.DEFAULT_METRIC,
                                     types.SimpleNamespace(search=chosen.__contains__))
    named = 0
    for s in series:
        cps = (changepoint.detect(s.values(), method=method)
               if len(s.points) >= changepoint.min_points(method) else [])
        at = [cp for cp in cps if s.points[cp.index].revision == synthetic]
        for cp in cps:
            print(history.shown(f"  {s.benchmark}: {changepoint.format_point(cp)} "
                                f"revision={s.points[cp.index].revision}"))
        named += bool(at)
    print(f"backfill: detect named {synthetic} in {named} of {len(series)} series")
    if not series:
        return 2
    return 0 if named == len(series) else 1
