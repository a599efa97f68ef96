"""scripts/report: the capacity-planning report of a results folder, and the
validation of the capacity model against a real run.

usage: scripts/report RESULTS_DIR [--out DIR] [--workload SPEC]... [--no-default-specs]
       scripts/report --validate SPEC|all [--results RESULTS_DIR] [--budget SECONDS]

Writes report.md and its SVG charts (read throughput mmap vs pread, appends
per growth policy, growth cost and over-allocation, sync latency vs dirty
pages, larger than memory, noise) from the Google Benchmark JSON files and
context.json that scripts/bench left in RESULTS_DIR, with findings generated
from the numbers, the device work (write amplification per BM_Sync scenario
with the small-writes fix on and off, the device counters of every row that
syncs) and a capacity-model section per workload spec (append rate, sync
latency, sizes, memory; device bytes per record, write bandwidth, bytes per
day and, with a disk in the spec, drive writes per day), into --out
(default RESULTS_DIR; created), plus the stage record report.json (verdict,
counts of charts and specs). Without --workload the example specs in
results/specs/ are used; --workload adds (or, with --no-default-specs,
replaces) them.

RESULTS_DIR must be a complete run: a folder with the marker INCOMPLETE is
refused unless this process belongs to the run that owns it, and a corrupt,
truncated or wrongly shaped JSON file in it is refused by name.

--validate SPEC runs the workload for real on this machine with the library
(the load generator bench/loadgen, target mmf_loadgen of the release preset,
which scripts/report builds first; <= ~2 minutes per spec with the default
--budget 110) and prints predicted vs measured for every figure (the device
bytes per record and write bandwidth from the load generator's device
counters among them), using the
coefficients of --results (default: results/baseline/, else the newest
complete results/runs/<id>/). The comparison is saved to
RESULTS_DIR/validate/<spec name>.json, where the next report picks it up
(for the committed results/baseline: into a new results/runs/<id>-validate/
instead). --validate all validates every spec in results/specs/.

SPEC is a JSON (or TOML) file, or the same keys inline:
  --workload 'name=mine,record_bytes=1024,write_rate_mb_s=40,records_per_sync=1,
              roll_size_mib=256,growth.policy=chunk,growth.chunk_mib=32,growth.flags=reserve'
Every key is described in results/specs/README.md. Unknown keys, wrong
types, values out of range (<= 0, NaN, inf) are refused with the key named.

Exit status: 0 done; 1 unusable input (missing, incomplete or corrupt
results, an output folder that cannot be written, a failed run); 2 bad usage
(an unknown option, a missing value, a bad spec, --budget <= 0).
"""
import argparse
import glob
import math
import os
import signal
import sys
import tempfile
import time

from . import files
from . import model as M
from .files import ResultError
from .runfolder import parser as _parser

T0 = time.monotonic()
STAGE = "report"


def say(msg):
    print("[%4ds] %s" % (time.monotonic() - T0, msg), file=sys.stderr, flush=True)


class UsageError(Exception):
    """Bad usage found after argparse (a spec, an option combination): exit 2."""


def _seconds(text):
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("must be a number of seconds, got %r" % text) from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError("must be > 0 seconds, got %r" % text)
    return v


def parse(argv):
    ap = _parser("report", __doc__)
    ap.formatter_class = argparse.RawDescriptionHelpFormatter
    ap.usage = argparse.SUPPRESS
    ap.add_argument("dir", nargs="?", metavar="RESULTS_DIR")
    ap.add_argument("--out", metavar="DIR", help="where report.md, the charts and report.json go "
                    "(default RESULTS_DIR; created)")
    ap.add_argument("--workload", action="append", default=[], metavar="SPEC",
                    help="a spec file or inline key=value,... (repeatable)")
    ap.add_argument("--no-default-specs", action="store_true", help="only the --workload specs")
    ap.add_argument("--validate", metavar="SPEC|all", help="run SPEC for real, print predicted vs measured")
    ap.add_argument("--results", metavar="DIR", help="the coefficients for --validate")
    ap.add_argument("--budget", type=_seconds, metavar="SECONDS",
                    help="time for one --validate run (default 110)")
    ap.add_argument("--check", action="store_true", help=argparse.SUPPRESS)   # options only (scripts/report)
    a = ap.parse_args(argv)
    if a.validate is not None:
        for opt, bad in (("--workload", a.workload), ("--no-default-specs", a.no_default_specs),
                         ("--out", a.out)):
            if bad:
                raise UsageError("%s does not go with --validate" % opt)
        if a.dir is not None and a.results is not None:
            raise UsageError("give the results folder once (RESULTS_DIR or --results)")
        a.results = a.results or a.dir
        if a.budget is None:
            a.budget = 110.0
    else:
        for opt, bad in (("--results", a.results), ("--budget", a.budget)):
            if bad is not None:
                raise UsageError("%s goes with --validate only" % opt)
        if a.dir is None:
            raise UsageError("give a RESULTS_DIR (see --help)")
    for opt, d in (("RESULTS_DIR", a.dir), ("--results", a.results)):
        if d is not None and not os.path.isdir(d):
            raise UsageError("%s %s: no such folder" % (opt, d))
    return a


def default_specs():
    from .validate import top
    d = os.path.join(top(), "results", "specs")
    return sorted(glob.glob(os.path.join(d, "*.json")) + glob.glob(os.path.join(d, "*.toml")))


def load_specs(paths):
    """[Spec]; a bad spec is a usage error naming the file and the key."""
    out = []
    for p in paths:
        try:
            out.append(M.load_spec(p))
        except M.SpecError as e:
            raise UsageError(str(e)) from None
    names = [s.name for s in out]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise UsageError("two specs named %s (a spec's name names its section and validation file)" % dup[0])
    return out


# --- the results folder -------------------------------------------------------
def check_results(folder):
    """Refuse an incomplete run folder (unless ours) and any JSON of it that
    is corrupt, truncated or of the wrong shape, by name. Returns the number
    of benchmark JSON files."""
    files.check_complete(folder)
    files.check_recorded(folder)
    n = 0
    for p in sorted(glob.glob(os.path.join(folder, "*.json"))):
        # every result file must parse; the shape of the others is their owner's business
        doc = files.load_json(p, shape=dict if os.path.basename(p) == "context.json" else None)
        if isinstance(doc, dict) and "benchmarks" in doc or os.path.basename(p).startswith("bench_"):
            files.load_gbench(p)
            n += 1
    if n == 0:
        raise ResultError("%s: no benchmark JSON (expected <driver>.json from scripts/bench)" % folder)
    return n


def load_results(folder):
    from . import data
    n = check_results(folder)
    res = data.load(folder)
    if not res.benches:
        raise ResultError("%s: its %d benchmark JSON files hold no benchmark rows" % (folder, n))
    return res


def newest_results():
    """results/baseline if it has benchmark JSON, else the newest complete run."""
    from .validate import top
    cands = [os.path.join(top(), "results", "baseline")]
    runs = os.path.join(top(), "results", "runs")
    if os.path.isdir(runs):
        cands += sorted((os.path.join(runs, d) for d in os.listdir(runs)), reverse=True)
    for c in cands:
        if os.path.isdir(c) and files.run_incomplete(c) is None and glob.glob(os.path.join(c, "bench_*.json")):
            return c
    raise ResultError("no results with benchmark JSON in results/baseline or results/runs: run scripts/bench "
                      "first, or give --results DIR")


def out_folder(path):
    """Create path (and parents); ResultError when it cannot be written."""
    try:
        os.makedirs(path, exist_ok=True)
    except OSError as e:
        raise ResultError("%s: cannot create the folder (%s)" % (path, e.strerror)) from None
    if not os.access(path, os.W_OK):
        raise ResultError("%s: cannot write into the folder (%s)" % (
            path, "read-only filesystem" if _read_only(path) else "permission denied"))
    return path


def _read_only(path):
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except OSError:
        return False


# --- the two modes ------------------------------------------------------------
def do_report(a, specs):
    from . import report as R
    out = a.out or a.dir
    try:
        res = load_results(a.dir)
        say("read %d benchmarks from %s (%s)" % (len(res.benches), res.path, ", ".join(res.drivers)))
        try:
            path, made, skipped = R.write(res, specs, out, say, [os.path.join(a.dir, "validate")])
        except OSError as e:     # matplotlib, fonts: anything the writers did not already make one line
            raise ResultError("%s: cannot write the report (%s)" % (out, e.strerror or e)) from None
    except ResultError as e:
        _record_failure(out, str(e))
        raise
    for key, why in skipped:
        say("skipped chart %s: %s" % (key, why))
    counts = {"charts": len(made), "specs": len(specs), "benchmarks": len(res.benches)}
    if not made:
        files.write_stage(out, STAGE, "fail", "no chart could be drawn from %s" % a.dir, counts)
        raise ResultError("%s: no chart could be drawn (%s)" % (a.dir, "; ".join(w for _, w in skipped)))
    files.write_stage(out, STAGE, "pass", "", counts)
    print("%s: %d charts, %d capacity-model specs, from %d benchmarks of %s" % (
        path, len(made), len(specs), len(res.benches), ", ".join(res.drivers)))
    return 0


def _record_failure(out, reason):
    """The stage record of a failed report, when the folder is ours to write."""
    try:
        files.check_complete(out)
        files.write_stage(out, STAGE, "fail", reason)
    except ResultError:
        pass        # an incomplete run of someone else, or a folder we cannot write: no record


def loadgen_path():
    from .validate import top
    exe = os.environ.get("MMF_LOADGEN") or os.path.join(top(), "build", "release", "bench", "loadgen",
                                                         "mmf_loadgen")
    if not os.access(exe, os.X_OK):
        raise ResultError("%s: the load generator is not built (scripts/report --validate builds it: "
                          "build_preset release mmf_loadgen)" % exe)
    return exe


def do_validate(a, specs):
    from . import explain as E
    from . import validate as V
    from .validate import top
    exe = loadgen_path()
    res = load_results(a.results or newest_results())
    say("coefficients from %s" % res.path)
    if os.path.abspath(res.path) == os.path.join(top(), "results", "baseline"):
        # the committed baseline is not written into: a run folder of its own
        runs = out_folder(os.path.join(top(), "results", "runs"))
        save_dir = os.path.join(tempfile.mkdtemp(prefix=time.strftime("%Y%m%dT%H%M%SZ-validate-", time.gmtime()),
                                                 dir=runs), "validate")
    else:
        save_dir = os.path.join(res.path, "validate")
    out_folder(save_dir)
    co = M.Coefficients(res)
    outside = 0
    for spec in specs:
        try:
            out = V.validate(spec, co, say, a.budget, exe)
        except RuntimeError as e:
            raise ResultError("validating %s: %s" % (spec.name, e)) from None
        out["explanations"] = E.explain(spec, co, out)
        files.write_json(os.path.join(save_dir, spec.name + ".json"), out)
        print("\n== %s: predicted vs measured (±25 %%) ==" % spec.name)
        print(V.text_table(out["rows"]))
        for n in out["explanations"]:
            print("  - " + n)
        bad = [r for r in out["rows"] if r["ok"] is False]
        judged = [r for r in out["rows"] if r["ok"] is not None]
        print("%d of %d figures within ±25 %%%s" % (
            len(judged) - len(bad), len(judged), "; outside: " + ", ".join(r["figure"] for r in bad) if bad else ""))
        outside += len(bad)
    print("%d spec%s validated; saved to %s (%s)" % (
        len(specs), "s" if len(specs) > 1 else "", save_dir,
        "the next `scripts/report %s` includes it" % res.path if save_dir.startswith(res.path) else
        "not into the committed results/baseline; a report of a copy of it with this validate/ folder next to "
        "its JSON includes it"))
    return 0


def _on_term(signum, _frame):
    # scripts/report's traps send TERM: unwind, so the atomic writers remove
    # their temporary files, then exit 128 + signal
    raise SystemExit(128 + signum)


def main(argv):
    signal.signal(signal.SIGTERM, _on_term)
    try:
        a = parse(argv)
        if a.validate is not None:
            specs = load_specs(default_specs() if a.validate == "all" else [a.validate])
        else:
            specs = load_specs((default_specs() if not a.no_default_specs else []) + a.workload)
        if a.out is not None:
            try:
                os.makedirs(a.out, exist_ok=True)
            except OSError as e:
                raise UsageError("--out %s: cannot create the folder (%s)" % (a.out, e.strerror)) from None
    except UsageError as e:
        sys.stderr.write("report: %s\n" % e)
        return 2
    if a.check:     # scripts/report, before it builds the load generator
        if a.validate is not None:
            check_results(a.results or newest_results())
        return 0
    try:
        if a.validate is not None:
            return do_validate(a, specs)
        out_folder(a.out or a.dir)
        return do_report(a, specs)
    except OSError as e:
        # a file the writers do not own (a scratch folder, the load generator's output)
        raise ResultError("%s%s" % ("%s: " % e.filename if e.filename else "", e.strerror or e)) from None
