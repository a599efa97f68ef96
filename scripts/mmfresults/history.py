"""scripts/history: the performance history of run folders (issue 15).

  history ingest RUN_DIR [--db DB] [--machine-here]   store one run folder
  history merge A.db B.db ... --db OUT                merge stores (shards, machines)
  history merge-shards DIR... --out DIR               one run folder from the folders of a
                                                      sharded campaign (shards.py)
  history runs [--db DB]                              list the stored runs
  history fingerprint [--dir D] [--out DIR]           this machine's identity
  history detect [--db DB] [--benchmark RE] [--metric M] [--statistic S] [--all-machines]
  history detect --series FILE.csv                    change points (changepoint.py;
                                                      --method rank|t on both forms)
  history validate [--noise FILE | --runs DIR...]    the detector's figures on this
                   [--save FILE] [--method M|all]    machine's A/A noise, per point
                   [--metric M|all] [--statistic S|all]  definition
  history backfill --revs N [--inject-ns NS] ...      real history + a synthetic slowdown (backfill.py)
  history dashboard [--db DB] --out DIR [--metric M] [--benchmark RE]
                                                      the static page (dashboard.py)

A point of a series is a statistic (--statistic min|q1|median) of one run's
repetitions of a metric (--metric): by default the minimum of cpu_time
(changepoint.point; README "Performance history" tells why).

DB is a SQLite file (default results/history.db) or a postgresql:// URL;
the schema is in store.py. Exit 0 ok, 1 unusable input, 2 bad usage.
"""
import collections
import csv
import datetime
import glob
import hashlib
import importlib
import json
import math
import os
import re
import statistics
import sys

from . import changepoint, data, files, fingerprint, store
from .runfolder import parser

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_DB = os.path.join(TOP, "results", "history.db")
# Google Benchmark row fields that are neither a metric nor a counter.
_NOT_METRICS = {"name", "family_index", "per_family_instance_index", "run_name", "run_type",
                "repetitions", "repetition_index", "threads", "iterations", "time_unit",
                "aggregate_name", "aggregate_unit", "label", "error_occurred", "error_message"}
_UNITS = {"bytes_per_second": "B/s", "items_per_second": "1/s"}


def _add_db(ap):
    ap.add_argument("--db", default=DEFAULT_DB,
                    help="SQLite file or postgresql:// URL (default results/history.db)")


def add_method(ap, choices=tuple(changepoint.METHODS)):
    """The --method option of the commands that detect change points."""
    ap.add_argument("--method", choices=choices, default=changepoint.DEFAULT_METHOD,
                    help="; ".join(f"{m}: {changepoint.METHOD_NAMES[m]}" for m in
                                   changepoint.METHODS)
                    + f" (default {changepoint.DEFAULT_METHOD}: chosen by the validation on "
                      "this machine's A/A noise, README 'Performance history'; t is Hunter's)")


def add_point(ap, choices=None, metrics=None):
    """The --metric and --statistic options: what a point of a series is
    (changepoint.point; a run's repetitions of the metric, reduced by the
    statistic). choices: extra --statistic choices (validate's "all");
    metrics: the --metric choices (default: any stored metric)."""
    ap.add_argument("--metric", default=changepoint.DEFAULT_METRIC,
                    choices=metrics,
                    help=f"the metric (default {changepoint.DEFAULT_METRIC})")
    ap.add_argument("--statistic", default=changepoint.DEFAULT_STATISTIC,
                    choices=tuple(changepoint.STATISTICS) + tuple(choices or ()),
                    help="a series point is this statistic of a run's repetitions: "
                    + "; ".join(f"{k}: {v}" for k, v in changepoint.STATISTIC_NAMES.items())
                    + f" (default {changepoint.DEFAULT_STATISTIC}: README 'Performance "
                      "history' tells why)")


def _canon(doc):
    return json.dumps(doc, sort_keys=True, separators=(",", ":"))


def shown(v):
    """Untrusted text for a terminal: control characters (escape sequences that
    could rewrite the screen) shown as \\xNN instead of sent."""
    return "".join(c if c.isprintable() else repr(c)[1:-1] for c in str(v))


def _text(v, default=""):
    """A context field as text (untrusted: stored as a parameter, shown escaped)."""
    return default if v is None else str(v)


class RunFolder:
    """The parsed content of one complete run folder, ready to store."""

    def __init__(self, folder):
        if not os.path.isdir(folder):
            raise files.ResultError(f"{folder}: no such run folder")
        files.check_complete(folder)
        files.check_recorded(folder)
        self.folder = folder
        self.gbench = {}      # driver -> document
        self.stages = {}      # stage -> record
        self.documents = {}   # file name -> document (context.json, crash.json, ...)
        paths = sorted(glob.glob(os.path.join(folder, "*.json")))
        for p in paths:
            name = os.path.basename(p)
            doc = files.load_result(p)
            if not isinstance(doc, dict):
                raise files.ResultError(f"{p}: has the wrong shape (top level is "
                                        f"{type(doc).__name__}, expected dict)")
            if "benchmarks" in doc:
                self.gbench[name[:-5]] = doc
            elif files.is_stage_record(doc):
                self.stages[name[:-5]] = doc
            else:
                self.documents[name] = doc
        if not self.gbench and not self.stages:
            raise files.ResultError(f"{folder}: holds no benchmark JSON and no stage record")
        self.context = self.documents.get("context.json", {})
        h = hashlib.sha256()
        for kind in (self.gbench, self.stages, self.documents):
            for k in sorted(kind):
                h.update(k.encode() + b"\0" + _canon(kind[k]).encode() + b"\0")
        self.run_id = h.hexdigest()[:16]

    def measurements(self):
        """[(driver, benchmark, metric, unit, repetition, value)] of every iteration row
        and the number of error rows skipped. Every other field is a finite number
        (files.check_gbench refused the file otherwise)."""
        out, errors = [], 0
        for driver, doc in sorted(self.gbench.items()):
            seen = {}
            for row in doc["benchmarks"]:
                if row.get("run_type", "iteration") != "iteration":
                    continue
                if row.get("error_occurred"):
                    errors += 1
                    continue
                bench = _text(row.get("run_name") or row["name"])
                rep = row.get("repetition_index")
                if not isinstance(rep, int):
                    rep = seen.get(bench, 0)
                seen[bench] = rep + 1
                unit = _text(row.get("time_unit"), "ns")
                for k, v in row.items():
                    if k in _NOT_METRICS or isinstance(v, bool) or not isinstance(v, (int, float)):
                        continue
                    u = unit if k in ("real_time", "cpu_time") else _UNITS.get(k, "")
                    out.append((driver, bench, k, u, rep, float(v)))
        return out, errors

    def run_time(self):
        """ISO 8601 UTC time of the run: context.json's date, a driver's, a stage's."""
        for v in [self.context.get("date")] + [d.get("context", {}).get("date")
                                               for d in self.gbench.values()] + \
                 [r.get("time") for r in self.stages.values()]:
            if isinstance(v, str) and v:
                try:
                    t = datetime.datetime.fromisoformat(v.replace("Z", "+00:00"))
                except ValueError:
                    continue
                if t.tzinfo is None:
                    t = t.replace(tzinfo=datetime.timezone.utc)
                return t.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        raise files.ResultError(f"{self.folder}: no run time (context.json 'date', a driver's "
                                "context date or a stage record's time)")

    def profile(self):
        p = self.context.get("profile")
        if p is None:
            p = next((d.get("context", {}).get("mmf_profile") for d in self.gbench.values()), None)
        return _text(p, "unknown")


def ingest(db, folder, machine_here=False, out=sys.stdout):
    """Store one run folder; returns (run_id, added: bool)."""
    run = RunFolder(folder)
    if machine_here:
        comp, where = fingerprint.this_machine(run.context.get("bench_dir") or "/var/tmp"), "this machine"
    else:
        comp, where = fingerprint.of_run(folder)
        if comp is None:
            raise files.ResultError(f"{folder}: no machine.json or context.json to identify its "
                                    "machine (or pass --machine-here)")
    fp = fingerprint.fingerprint(comp)
    meas, errors = run.measurements()
    benches = {(m[0], m[1]) for m in meas}
    reps = {(m[0], m[1], m[4]) for m in meas}
    with store.Store(db) as st:
        if st.has_run(run.run_id):
            out.write(f"run {run.run_id} ({folder}) is already stored: nothing added\n")
            return run.run_id, False
        st.insert("machines", [(fp, fingerprint.summary(comp), _canon(comp))])
        st.insert("runs", [(run.run_id, fp, _text(run.context.get("git_revision"), "unknown"),
                            1 if run.context.get("git_dirty") else 0, run.run_time(), run.profile(),
                            _text(run.context.get("host"), ""), os.path.abspath(folder),
                            datetime.datetime.now(datetime.timezone.utc)
                            .strftime("%Y-%m-%dT%H:%M:%SZ"))])
        st.insert("measurements", [(run.run_id,) + m for m in meas])
        st.insert("stages", [(run.run_id, s, r["verdict"], _text(r.get("reason")),
                              r["seconds"] if isinstance(r.get("seconds"), (int, float)) else None)
                             for s, r in sorted(run.stages.items())])
        st.insert("stage_counts", [(run.run_id, s, _text(k), int(v))
                                   for s, r in sorted(run.stages.items())
                                   for k, v in sorted((r.get("counts") or {}).items())
                                   if isinstance(v, (int, float)) and not isinstance(v, bool)])
        st.insert("documents", [(run.run_id, n, _canon(d)) for n, d in sorted(run.documents.items())])
        st.commit()
    out.write(f"run {run.run_id} stored: {len(benches)} benchmarks x {len(reps) // max(len(benches), 1)}"
              f" repetitions, {len(meas)} values, {len(run.stages)} stage records,"
              f" {len(run.documents)} other files; machine {fp} ({where})"
              f"{f'; {errors} error rows skipped' if errors else ''}\n")
    return run.run_id, True


def main_ingest(argv):
    ap = parser("history ingest", "Store a complete run folder (every repetition of every "
                "driver's JSON, its stage records, context.json and other JSON) in the history.")
    ap.add_argument("run_dir")
    _add_db(ap)
    ap.add_argument("--machine-here", action="store_true",
                    help="fingerprint this machine (a run made here without machine.json)")
    a = ap.parse_args(argv)
    _, added = ingest(a.db, a.run_dir, a.machine_here)
    return 0


def merge(out_db, sources, out=sys.stdout):
    """Copy every run of sources into out_db; returns the number of runs added."""
    added = seen = 0
    for src_db in sources:      # every source is a store before anything is made
        with store.Store(src_db, create=False):
            pass
    with store.Store(out_db) as dst:
        for src_db in sources:
            with store.Store(src_db, create=False) as src:
                have = {r[0] for r in dst.query("SELECT run_id FROM runs")}
                theirs = {r[0] for r in src.query("SELECT run_id FROM runs")}
                for table, _ in store.TABLES:
                    dst.insert(table, src.query(store.SELECT_ALL[table]))
                new = len(theirs - have)
                added += new
                seen += len(theirs)
                out.write(f"{src_db}: {len(theirs)} runs, {new} new\n")
        if seen == 0:
            raise files.ResultError(f"{', '.join(sources)}: no run stored: nothing to merge")
        dst.commit()
        total = dst.count("runs")
    out.write(f"merged {len(sources)} stores into {out_db}: {added} runs added, {total} in all\n")
    return added


def main_merge(argv):
    ap = parser("history merge", "Merge history stores (shards, machines) into --db; a run "
                "already there is kept once.")
    ap.add_argument("sources", nargs="+", metavar="STORE")
    ap.add_argument("--db", required=True, help="the store to merge into (created if missing)")
    a = ap.parse_args(argv)
    for s in a.sources:
        if not store.is_url(s) and not os.path.isfile(s):
            ap.error(f"{s}: no such store")
        if s == a.db:
            ap.error(f"{s}: is also --db")
    merge(a.db, a.sources)
    return 0


def main_runs(argv):
    ap = parser("history runs", "List the stored runs (oldest first) and their machines.")
    _add_db(ap)
    a = ap.parse_args(argv)
    with store.Store(a.db, create=False) as st:
        runs = st.runs()
        machines = st.machines()
    if not runs:
        print(f"{a.db}: no runs stored")
        return 1
    for fp, s in machines.items():
        print(f"machine {fp}: {shown(s)}")
    for run_id, fp, rev, dirty, t, profile, host, source in runs:
        print(shown(f"{run_id} {t} {rev[:12]}{'+dirty' if dirty else ''} {profile} machine {fp}"
                    f" {source}"))
    print(f"{len(runs)} runs on {len(machines)} machines")
    return 0


# --- series and change points ----------------------------------------------------

Point = collections.namedtuple("Point", "run_id fingerprint run_time revision value")


class Series:
    """One benchmark's metric over runs on one machine (or all: machine None).
    A point per run: changepoint.point() of the run's repetitions (the
    statistic load_series was given)."""

    def __init__(self, machine, benchmark, metric, unit, points):
        self.machine, self.benchmark, self.metric = machine, benchmark, metric
        self.unit, self.points = unit, points

    def values(self):
        return [p.value for p in self.points]


def load_series(st, metric=changepoint.DEFAULT_METRIC, bench_re=None, machine=None,
                all_machines=False, statistic=changepoint.DEFAULT_STATISTIC):
    """[Series] of metric whose benchmark matches bench_re (a compiled regex, searched),
    per machine unless all_machines; machine: only that fingerprint (a prefix); a
    run's point is statistic (changepoint.STATISTICS) of its repetitions."""
    out = []
    names = st.series_names(metric)
    if machine:
        names = [(fp, b) for fp, b in names if fp.startswith(machine)]
    if bench_re is not None:
        names = [(fp, b) for fp, b in names if bench_re.search(b)]
    keys = sorted({(None, b) for _, b in names}) if all_machines else names
    for fp, bench in keys:
        rows = st.series(bench, metric, fp)
        by_run = collections.OrderedDict()
        for run_id, rfp, t, rev, unit, v in rows:
            by_run.setdefault(run_id, (rfp, t, rev, unit, []))[4].append(v)
        points = [Point(r, rfp, t, rev, changepoint.point(vs, statistic))
                  for r, (rfp, t, rev, unit, vs) in by_run.items()]
        unit = rows[0][4] if rows else ""
        out.append(Series(fp, bench, metric, unit, points))
    return out


def bench_regex(ap, text):
    try:
        return re.compile(text)
    except re.error as e:
        ap.error(f"--benchmark {text!r}: not a regular expression ({e})")


def read_series_csv(path):
    """[(index, value)] of a CSV with columns index,value (an optional header line)."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.reader(f))
    except OSError as e:
        raise files.ResultError(f"{path}: cannot read ({e.strerror})") from None
    except (csv.Error, UnicodeDecodeError) as e:
        raise files.ResultError(f"{path}: not CSV ({e})") from None
    first = 1
    if rows and [c.strip().lower() for c in rows[0]] == ["index", "value"]:
        rows, first = rows[1:], 2
    out = []
    for n, row in enumerate(rows, first):
        if not row or not "".join(row).strip():
            continue
        try:
            i, v = int(row[0]), float(row[1])
            if len(row) != 2 or not math.isfinite(v):
                raise ValueError
        except (ValueError, IndexError):
            raise files.ResultError(f"{path}: line {n}: expected 'index,value' "
                                    f"(an integer and a finite number)") from None
        if out and i <= out[-1][0]:
            raise files.ResultError(f"{path}: line {n}: index {i} does not increase")
        out.append((i, v))
    return out


def main_detect(argv):
    ap = parser("history detect", "Change points (E-divisive means + t-test, or with "
                "--method rank E-divisive on ranks + Mann-Whitney U; "
                f"p < {changepoint.P_MAX}) in each stored series, or in one CSV series.")
    ap.add_argument("--series", metavar="FILE.csv", help="one series: columns index,value")
    add_method(ap)
    _add_db(ap)
    ap.add_argument("--benchmark", metavar="RE", help="only benchmarks whose name matches RE")
    add_point(ap)
    ap.add_argument("--machine", metavar="FP", help="only this machine (a fingerprint prefix)")
    ap.add_argument("--all-machines", action="store_true",
                    help="one series across every machine (default: within each fingerprint)")
    a = ap.parse_args(argv)
    need = changepoint.min_points(a.method)
    if a.series:
        pts = read_series_csv(a.series)
        if len(pts) < need:
            raise files.ResultError(f"{a.series}: {len(pts)} points; a change point "
                                    f"({a.method}) needs at least {need}")
        cps = changepoint.detect([v for _, v in pts], method=a.method)
        for cp in cps:
            print(changepoint.format_point(cp._replace(index=pts[cp.index][0])))
        print(f"{a.series}: {len(pts)} points, {len(cps)} change points", file=sys.stderr)
        return 0
    bench_re = bench_regex(ap, a.benchmark) if a.benchmark else None
    with store.Store(a.db, create=False) as st:
        series = load_series(st, a.metric, bench_re, a.machine, a.all_machines, a.statistic)
        machines = st.machines()
    if not series:
        print(f"history detect: no series of metric {a.metric!r} matches"
              f"{f' --benchmark {a.benchmark!r}' if a.benchmark else ''}", file=sys.stderr)
        return 2
    if a.all_machines:
        print(f"comparing across all {len(machines)} machines (--all-machines)")
    else:
        print("comparing within each machine fingerprint only (--all-machines to mix them)")
    print(f"a point is {changepoint.point_name(a.metric, a.statistic)}; "
          f"{changepoint.METHOD_NAMES[a.method]}")
    found = short = 0
    for s in series:
        if len(s.points) < need:
            short += 1
            continue
        cps = changepoint.detect(s.values(), method=a.method)
        if not cps:
            continue
        where = "all machines" if s.machine is None else f"machine {s.machine}"
        print(shown(f"{s.benchmark} {s.metric} ({s.unit}) on {where}: {len(s.points)} runs"))
        for cp in cps:
            p = s.points[cp.index]
            print(shown(f"  {changepoint.format_point(cp)} run={p.run_id} revision={p.revision}"
                        f" time={p.run_time}"))
        found += len(cps)
    print(f"{len(series)} series, {len(series) - short} long enough "
          f"(>= {need} runs for {a.method}), {found} change points")
    if short == len(series):
        print(f"history detect: no series has {need} runs yet (--method {a.method}): "
              "nothing was analysed", file=sys.stderr)
        return 1
    return 0


def main_validate(argv):
    ap = parser("history validate", "The change-point detector on synthetic series carrying "
                "this machine's measured A/A noise: for each benchmark, detection of a step "
                "and false change points on A/A series, points drawn from its A/A per-run "
                "points (changepoint.py); for each point definition asked for.")
    src = ap.add_mutually_exclusive_group()
    src.add_argument("--noise", default=DEFAULT_NOISE, metavar="FILE",
                     help=f"A/A noise file (default {os.path.relpath(DEFAULT_NOISE, TOP)}; "
                          "the older per-run medians in quiet.json, busy.json, all.json)")
    src.add_argument("--runs", nargs="+", metavar="DIR",
                     help=f"measure the noise from these A/A run folders (at least {MIN_AA_RUNS} "
                          "runs of one build on one machine; the benchmarks all of them ran)")
    ap.add_argument("--save", metavar="FILE", help="with --runs: write the noise file "
                    f"({NOISE_SCHEMA}: every run's repetitions of {' and '.join(NOISE_METRICS)})")
    ap.add_argument("--seeds", type=int, default=10, help="series of each kind (default 10)")
    ap.add_argument("--step", type=float, default=changepoint.STEP * 100,
                    help=f"the step in percent (default {changepoint.STEP * 100:g})")
    add_method(ap, tuple(changepoint.METHODS) + ("all",))
    add_point(ap, ("all",), NOISE_METRICS + ("all",))
    a = ap.parse_args(argv)
    if a.seeds < 1:
        ap.error("--seeds must be at least 1")
    if not 0 < a.step <= 1000:
        ap.error("--step must be a percentage in (0, 1000]")
    if a.save and not a.runs:
        ap.error("--save needs --runs")
    if a.runs:
        if len(a.runs) < MIN_AA_RUNS:
            ap.error(f"--runs: {len(a.runs)} folders; the noise needs at least {MIN_AA_RUNS}")
        noise = aa_noise(a.runs)
        if a.save:
            files.write_json(a.save, noise)
            print(f"wrote {a.save}")
    else:
        noise = load_noise(a.noise)
    methods = list(changepoint.METHODS) if a.method == "all" else [a.method]
    metrics = list(NOISE_METRICS) if a.metric == "all" else [a.metric]
    stats_ = list(changepoint.STATISTICS) if a.statistic == "all" else [a.statistic]
    defs = [(m, s) for m in metrics for s in stats_]
    pools = {d: noise_pools(noise, *d) for d in defs}   # every refusal before any work
    step = a.step / 100
    print(f"A/A noise: {noise['runs']} runs of {len(noise['benchmarks'])} benchmarks "
          f"({noise['repetitions']} repetitions each, revision {shown(noise['revision'])}, "
          f"{shown(noise['first'])} .. {shown(noise['last'])})")
    print(f"series of {changepoint.SERIES_LEN} points drawn from each benchmark's per-run "
          f"points; +{step:.3g} step at {changepoint.STEP_AT}, found within "
          f"+-{changepoint.TOLERANCE}; {a.seeds} step and {a.seeds} A/A series; "
          f"p < {changepoint.P_MAX}")
    summary = []
    for d in defs:
        print(f"a point is {changepoint.point_name(*d)}:")
        met = {m: 0 for m in methods}
        false_total = {m: 0 for m in methods}
        rows = sorted(pools[d].items(), key=lambda kv: changepoint.spread(kv[1]))
        for name, pool in rows:
            robust, classical = changepoint.spread(pool)
            parts = []
            for m in methods:
                found, other, false = changepoint.validate(pool, a.seeds, step, m)
                met[m] += found >= math.ceil(0.9 * a.seeds) and false <= 1
                false_total[m] += false
                parts.append(f"{m}: found {found}/{a.seeds} other {other} A/A false {false}")
            t, z = changepoint.step_statistics(pool, step)
            print(shown(f"  spread {robust:5.1%} (sd {classical:6.1%}; step's t {t:4.1f}, z "
                        f"{z:4.1f})  {'; '.join(parts)}  {name}"))
        summary += [(d, m, met[m], len(rows), false_total[m]) for m in methods]
    for (metric, statistic), m, n, of, false in summary:
        print(f"{metric} {statistic} {m}: {n} of {of} benchmarks meet both targets "
              f"(>= 90 % found, <= 1 false change point); {false} false change points in "
              f"{of * a.seeds} A/A series")
    return 0


# The measured A/A noise (README "Performance history"). reps-quick.json
# (the default): 30 runs back to back, every repetition of real_time and
# cpu_time kept (mmf-aa-noise/2). The older files keep only each run's median
# real_time (mmf-aa-noise/1): quiet.json, 24 runs back to back at load 1-2.5;
# busy.json, 16 runs over 15 minutes at load 4-10 (builds, a qemu campaign,
# other jobs); all.json, the 40 together.
DEFAULT_NOISE = os.path.join(TOP, "results", "aa-noise", "reps-quick.json")
NOISE_SCHEMA = "mmf-aa-noise/2"
NOISE_SCHEMA_MEDIANS = "mmf-aa-noise/1"
# The metrics a noise file keeps per repetition: Google Benchmark's times (us).
NOISE_METRICS = ("real_time", "cpu_time")
_NOISE_FIELDS = {"real_time": "real_us", "cpu_time": "cpu_us"}
MIN_AA_RUNS = 10


def aa_noise(folders):
    """The A/A noise document (NOISE_SCHEMA) of run folders of one build on one
    machine: per benchmark and metric (NOISE_METRICS, microseconds) every run's
    repetitions, in folder order; only the benchmarks every run measured.
    Folders of several machines are refused; several revisions are listed
    ("revision"), not refused: a context's revision is the checkout's, which
    with `scripts/bench --bin` is not the build's."""
    per, revs, machines, dates, reps = collections.defaultdict(list), set(), set(), [], []
    selections = set()
    for folder in folders:
        res = data.load(folder)
        ctx = res.context or {}
        revs.add((str(ctx.get("git_revision")), bool(ctx.get("git_dirty"))))
        comp = fingerprint.of_run(folder)[0]
        machines.add(fingerprint.summary(comp) if comp else "unknown machine")
        dates.append(_text(ctx.get("date")))
        selections.add((_text(ctx.get("profile")), _text(ctx.get("filter"))))
        for b in res.benches:
            run = {m: [float(v) for v in b.values(f) if v and v > 0]
                   for m, f in _NOISE_FIELDS.items()}
            if not b.skipped and not b.failed and all(run.values()):
                per[b.run_name].append(run)
                reps.append(b.n)
    if len(machines) != 1:
        raise files.ResultError(f"{len(folders)} folders of {len(machines)} machines: "
                                "A/A runs are runs of one machine")
    bench = {k: {m: [r[m] for r in v] for m in NOISE_METRICS}
             for k, v in per.items() if len(v) == len(folders)}
    if not bench:
        raise files.ResultError("no benchmark was measured in every A/A run folder")
    return {"schema": NOISE_SCHEMA, "runs": len(folders),
            "revision": " ".join(sorted(f"{r[:12]}{'+dirty' if d else ''}" for r, d in revs)),
            "machine": next(iter(machines)), "first": min(dates), "last": max(dates),
            "repetitions": int(statistics.median(reps)), "unit": "us",
            "selections": [{"profile": p, "filter": f} for p, f in sorted(selections)],
            "benchmarks": bench}


def _positive(x):
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x) and x > 0


def load_noise(path):
    """An A/A noise file: NOISE_SCHEMA (every run's repetitions) or the older
    NOISE_SCHEMA_MEDIANS (each run's median real_time only); ResultError (one
    line) for anything else."""
    doc = files.load_json(path, "A/A noise file")
    b = doc.get("benchmarks") if isinstance(doc, dict) else None
    if isinstance(doc, dict) and doc.get("schema") == NOISE_SCHEMA_MEDIANS:
        ok = isinstance(b, dict) and b and all(
            isinstance(v, list) and len(v) >= MIN_AA_RUNS and all(_positive(x) for x in v)
            for v in b.values())
    else:
        ok = isinstance(doc, dict) and doc.get("schema") == NOISE_SCHEMA and isinstance(b, dict) \
            and b and all(
                isinstance(v, dict) and all(
                    isinstance(v.get(m), list) and len(v[m]) >= MIN_AA_RUNS and all(
                        isinstance(r, list) and r and all(_positive(x) for x in r)
                        for r in v[m]) for m in NOISE_METRICS)
                for v in b.values())
    if not ok:
        raise files.ResultError(f"{path}: not an A/A noise file ({NOISE_SCHEMA}: per benchmark "
                                f"{' and '.join(NOISE_METRICS)} of {MIN_AA_RUNS} or more runs, "
                                f"each a list of positive repetitions; or {NOISE_SCHEMA_MEDIANS}: "
                                "per benchmark 10 or more positive run medians)")
    for k in ("runs", "revision", "machine", "first", "last", "repetitions"):
        doc.setdefault(k, "?")
    doc["path"] = path
    return doc


def noise_pools(noise, metric=changepoint.DEFAULT_METRIC, statistic=changepoint.DEFAULT_STATISTIC):
    """{benchmark: [each A/A run's point]} of a load_noise document, a point being
    changepoint.point(repetitions of metric, statistic). An older file
    (NOISE_SCHEMA_MEDIANS) has only median real_time: anything else is refused
    (ResultError, one line)."""
    if noise["schema"] == NOISE_SCHEMA_MEDIANS:
        if (metric, statistic) != ("real_time", "median"):
            raise files.ResultError(f"{noise['path']}: {NOISE_SCHEMA_MEDIANS} keeps only each "
                                    f"run's median real_time, not the {statistic} of {metric} "
                                    "(pass --metric real_time --statistic median, or a "
                                    f"{NOISE_SCHEMA} file)")
        return dict(noise["benchmarks"])
    return {k: [changepoint.point(r, statistic) for r in v[metric]]
            for k, v in noise["benchmarks"].items()}


SUBCOMMANDS = {
    "ingest": (__name__, "main_ingest"),
    "merge": (__name__, "main_merge"),
    "merge-shards": ("mmfresults.shards", "main_merge"),
    "runs": (__name__, "main_runs"),
    "fingerprint": ("mmfresults.fingerprint", "main"),
    "detect": (__name__, "main_detect"),
    "validate": (__name__, "main_validate"),
    "dashboard": ("mmfresults.dashboard", "main"),
    "backfill": ("mmfresults.backfill", "main"),
}


def main(argv):
    if not argv or argv[0] in ("-h", "--help"):
        (sys.stdout if argv else sys.stderr).write(__doc__)
        return 0 if argv else 2
    sub = SUBCOMMANDS.get(argv[0])
    if sub is None:
        sys.stderr.write(f"history: unknown subcommand '{argv[0]}' (see --help)\n")
        return 2
    return getattr(importlib.import_module(sub[0]), sub[1])(argv[1:]) or 0
