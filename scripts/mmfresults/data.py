"""The Google Benchmark data model: the one reader of a run folder's benchmarks.

A run folder holds <driver>.json per benchmark driver (Google Benchmark JSON,
per-repetition rows and perhaps aggregates) and context.json (scripts/bench).
The drivers are the first words of bench/drivers.txt (driver_names()).

  load(folder, drivers=None) -> Results
      Reads folder/<driver>.json through files.load_gbench for each driver
      (default: every driver of bench/drivers.txt whose JSON is there) and
      folder/context.json when present. Raises files.ResultError (one line,
      naming the file) for a missing folder, an incomplete run (INCOMPLETE
      marker), a file its stage records list that is gone (files.
      check_recorded), a missing/truncated/corrupt JSON, a row of the wrong
      shape or with a non-finite or non-numeric figure (files.check_gbench),
      or a folder without any benchmark JSON.

A row name is BM_<Family>/<key>:<value>/... (bench/README.md); Google
Benchmark's own suffixes (iterations:N, real_time, ...) are not keys. A
Bench is one benchmark with all its repetitions: median and coefficient of
variation of any field (real_us = wall time in microseconds, cpu_us,
items_per_second, bytes_per_second, iterations, or a counter such as
p50_ns). A file with only aggregates uses its median/cv rows.

A benchmark whose rows carry error_occurred failed, unless its message
starts with "skipped" (a skip with a reason, e.g. bench_ltm without root).
"""
import os
import statistics

from . import files

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DRIVERS_TXT = os.path.join(TOP, "bench", "drivers.txt")

# Keys Google Benchmark itself appends to a name.
# The record scenarios of BM_Sync (bench/bench_sync.cc, bench/README.md
# "Small writes"), in the order the summary and the report show them.
SYNC_SCENARIOS = ("fresh", "reused_write", "reused_pread", "replayed", "redirty", "deep")

_GB_KEYS = {"iterations", "repeats", "min_time", "threads", "min_warmup_time"}
_GB_WORDS = {"real_time", "process_time", "manual_time"}
# Row fields that are not counters.
_NOT_COUNTERS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type",
    "repetitions", "repetition_index", "threads", "iterations", "real_time",
    "cpu_time", "time_unit", "aggregate_name", "aggregate_unit", "label",
    "error_occurred", "error_message", "bytes_per_second", "items_per_second",
}
_UNIT_US = {"ns": 1e-3, "us": 1.0, "ms": 1e3, "s": 1e6}


def driver_names(path=DRIVERS_TXT):
    """The driver names of bench/drivers.txt, in its order."""
    try:
        with open(path) as f:
            names = [l.split()[0] for l in f if l.strip() and not l.lstrip().startswith("#")]
    except OSError as e:
        raise files.ResultError(f"{path}: driver list unreadable ({e.strerror})") from None
    if not names:
        raise files.ResultError(f"{path}: lists no driver")
    return names


def parse_name(name):
    """'BM_Read/api:bytes/.../rec:4096/iterations:1/real_time' ->
    ('BM_Read', {'api': 'bytes', ..., 'rec': '4096'})."""
    parts = name.split("/")
    keys = {}
    for p in parts[1:]:
        if ":" in p:
            k, v = p.split(":", 1)
            if k not in _GB_KEYS:
                keys[k] = v
        elif p not in _GB_WORDS:
            keys.setdefault("arg", p)
    return parts[0], keys


def is_skip(message):
    return str(message).startswith("skipped")


class Bench:
    """One benchmark (all its repetitions): family, keys, medians, cv."""

    def __init__(self, driver, run_name):
        self.driver = driver
        self.run_name = run_name
        self.family, self.keys = parse_name(run_name)
        self.reps = []          # dicts: real_us, cpu_us, iterations, counters...
        self.rows = []          # the raw per-repetition rows (Google Benchmark dicts)
        self.agg = {}           # aggregate name -> row
        self.error = None       # message of an error row (failed or skipped)
        self.label = ""

    def __getitem__(self, k):
        return self.keys.get(k)

    @property
    def skipped(self):
        return self.error is not None and is_skip(self.error)

    @property
    def failed(self):
        return self.error is not None and not is_skip(self.error)

    # --- per-repetition values -------------------------------------------
    def values(self, field):
        """The field in every repetition (real_us, bytes_per_second, a counter)."""
        return [r[field] for r in self.reps if field in r and r[field] is not None]

    def median(self, field):
        v = self.values(field)
        if v:
            return statistics.median(v)
        row = self.agg.get("median")
        if row is not None:
            return _field(row, field)
        return None

    def cv(self, field="real_us"):
        v = self.values(field)
        if len(v) >= 2:
            m = statistics.mean(v)
            return statistics.stdev(v) / m if m else None
        row = self.agg.get("cv")
        if row is not None and field == "real_us":
            return row.get("real_time")
        return None

    @property
    def n(self):
        return len(self.reps) or int(self.agg.get("median", {}).get("repetitions", 0))

    def has(self, field):
        return self.median(field) is not None


def _field(row, field):
    if field == "real_us":
        return row["real_time"] * _UNIT_US[row.get("time_unit", "ns")]
    return row.get(field)


def _match(have, want):
    if want is None:            # the name must not have this key
        return have is None
    if isinstance(want, (set, list, tuple, frozenset)):
        return have in {str(w) for w in want}
    return have == str(want)


class Results:
    def __init__(self, path):
        self.path = path
        self.benches = []       # Bench, in file order
        self.context = {}       # context.json (may be empty)
        self.gb_context = {}    # Google Benchmark's own context (first file)
        self.drivers = []       # driver names read
        self.skipped = []       # (name, message) of every benchmark whose rows errored

    def select(self, family, **want):
        """Benchmarks of a family, without errors, whose keys match want (a
        value may be a set; values compare as text: rec=4096 is rec='4096';
        None: rows without that key)."""
        return [b for b in self.benches
                if b.family == family and not b.error
                and all(_match(b.keys.get(k), v) for k, v in want.items())]

    def one(self, family, **want):
        rows = self.select(family, **want)
        return rows[0] if rows else None

    def families(self):
        return sorted({b.family for b in self.benches})

    def failures(self):
        """[(name, message)] of the benchmarks that failed (not skips)."""
        return [(b.run_name, b.error) for b in self.benches if b.failed]

    def skips(self):
        return [(b.run_name, b.error) for b in self.benches if b.skipped]

    def counts(self, driver=None):
        """{benchmarks, repetitions, failed, skipped} of one driver or all:
        benchmarks that ran without error and their repetitions."""
        bs = [b for b in self.benches if driver is None or b.driver == driver]
        ok = [b for b in bs if not b.error and b.n]
        return {"benchmarks": len(ok), "repetitions": sum(b.n for b in ok),
                "failed": sum(b.failed for b in bs), "skipped": sum(b.skipped for b in bs)}


def _add(res, driver, path, doc):
    by_name = {}
    for row in doc["benchmarks"]:
        rn = row.get("run_name") or row["name"]
        if not isinstance(rn, str):
            raise files.ResultError(f"{path}: a row's name is not text")
        b = by_name.get(rn)
        if b is None:
            b = by_name[rn] = Bench(driver, rn)
            res.benches.append(b)
        if row.get("error_occurred"):
            if b.error is None:
                b.error = str(row.get("error_message") or "error")
                res.skipped.append((rn, b.error))
            continue
        if row.get("label"):
            b.label = row["label"]
        if row.get("run_type") == "aggregate":
            b.agg[row.get("aggregate_name", "?")] = row
            continue
        cpu = row.get("cpu_time", 0)
        rep = {"real_us": _field(row, "real_us"), "iterations": row.get("iterations"),
               "cpu_us": (cpu if isinstance(cpu, (int, float)) else 0) * _UNIT_US[row.get("time_unit", "ns")]}
        for k, v in row.items():
            if k not in _NOT_COUNTERS - {"bytes_per_second", "items_per_second"} and \
                    isinstance(v, (int, float)) and not isinstance(v, bool):
                rep[k] = v
        b.reps.append(rep)
        b.rows.append(row)


def load(path, drivers=None, allow_incomplete=False):
    """Results of the run folder path; see the module text for the errors."""
    if not os.path.isdir(path):
        raise files.ResultError(f"{path}: no such folder")
    files.check_complete(path, allow_incomplete)
    files.check_recorded(path)
    res = Results(path)
    ctx = os.path.join(path, "context.json")
    if os.path.exists(ctx):
        res.context = files.load_json(ctx, "run context")
    if drivers is None:
        known = driver_names()
        names = [d for d in known if os.path.exists(os.path.join(path, d + ".json"))]
        if not names:
            raise files.ResultError(f"{path}: no benchmark JSON (none of {', '.join(known)}.json)")
    else:
        names = list(drivers)
    for driver in names:
        fn = os.path.join(path, driver + ".json")
        doc = files.load_gbench(fn)
        res.drivers.append(driver)
        if not res.gb_context and isinstance(doc.get("context"), dict):
            res.gb_context = doc["context"]
        _add(res, driver, fn, doc)
    return res
