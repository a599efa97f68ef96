"""Loading a results folder: Google Benchmark JSON per driver + context.json.

A row name is BM_<Driver>/<key>:<value>/... (bench/README.md). Every
benchmark is summarised from its per-repetition rows (median, coefficient of
variation); when a file holds only aggregates, the median/cv aggregates are
used instead.
"""
import glob
import json
import os
import statistics

# Keys Google Benchmark itself appends to a name.
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


class Bench:
    """One benchmark (all its repetitions): family, keys, medians, cv."""

    def __init__(self, driver, run_name):
        self.driver = driver
        self.run_name = run_name
        parts = run_name.split("/")
        self.family = parts[0]
        self.keys = {}
        for p in parts[1:]:
            if ":" in p:
                k, v = p.split(":", 1)
                if k not in _GB_KEYS:
                    self.keys[k] = v
            elif p not in _GB_WORDS:
                self.keys.setdefault("arg", p)
        self.reps = []          # dicts: real_us, iterations, counters...
        self.agg = {}           # aggregate name -> row
        self.error = None
        self.label = ""

    def __getitem__(self, k):
        return self.keys.get(k)

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
        return row["real_time"] * _UNIT_US.get(row.get("time_unit", "ns"), 1e-3)
    return row.get(field)


class Results:
    def __init__(self, path):
        self.path = path
        self.benches = []       # Bench, in file order
        self.context = {}       # context.json (may be empty)
        self.gb_context = {}    # Google Benchmark's own context (first file)
        self.drivers = []       # driver names found
        self.skipped = []       # (name, message) of rows that errored

    def select(self, family, **want):
        """Benchmarks of a family whose keys match want (a value may be a set)."""
        out = []
        for b in self.benches:
            if b.family != family or b.error:
                continue
            ok = True
            for k, v in want.items():
                have = b.keys.get(k)
                if isinstance(v, (set, list, tuple)):
                    ok = have in v
                else:
                    ok = have == v
                if not ok:
                    break
            if ok:
                out.append(b)
        return out

    def one(self, family, **want):
        rows = self.select(family, **want)
        return rows[0] if rows else None

    def families(self):
        return sorted({b.family for b in self.benches})


def load(path):
    """Read every <driver>.json with a "benchmarks" list, and context.json."""
    res = Results(path)
    ctx = os.path.join(path, "context.json")
    if os.path.isfile(ctx):
        with open(ctx) as f:
            try:
                res.context = json.load(f)
            except ValueError:
                res.context = {}
    for fn in sorted(glob.glob(os.path.join(path, "*.json"))):
        if os.path.basename(fn) in ("context.json",) or fn.endswith(".validate.json"):
            continue
        try:
            with open(fn) as f:
                doc = json.load(f)
        except (ValueError, OSError):
            continue
        if not isinstance(doc, dict) or "benchmarks" not in doc:
            continue
        driver = os.path.splitext(os.path.basename(fn))[0]
        res.drivers.append(driver)
        if not res.gb_context:
            res.gb_context = doc.get("context", {})
        by_name = {}
        for row in doc["benchmarks"]:
            rn = row.get("run_name") or row["name"]
            b = by_name.get(rn)
            if b is None:
                b = by_name[rn] = Bench(driver, rn)
                res.benches.append(b)
            if row.get("error_occurred"):
                b.error = row.get("error_message", "error")
                res.skipped.append((rn, b.error))
                continue
            if row.get("label"):
                b.label = row["label"]
            if row.get("run_type") == "aggregate":
                b.agg[row.get("aggregate_name", "?")] = row
                continue
            rep = {"real_us": _field(row, "real_us"), "iterations": row.get("iterations"),
                   "cpu_us": row.get("cpu_time", 0) * _UNIT_US.get(row.get("time_unit", "ns"), 1e-3)}
            for k in ("bytes_per_second", "items_per_second"):
                if k in row:
                    rep[k] = row[k]
            for k, v in row.items():
                if k not in _NOT_COUNTERS and isinstance(v, (int, float)):
                    rep[k] = v
            b.reps.append(rep)
    return res
