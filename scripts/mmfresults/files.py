"""The one reader and writer of result files.

Every result file of a run folder (Google Benchmark JSON of a driver, a
stage record, context.json, crash.json, ...) is read through load_json() and
written through write_json(). Nothing else in the project opens them.

- load_json(path, what) returns the parsed document or raises ResultError
  naming the file and why (missing, empty, truncated, not JSON, wrong shape).
  A truncated file (a run cut short, a full disk) is an error, never skipped.
- write_json(path, doc) writes atomically (temporary file in the same
  folder, fsync, rename): a reader sees the old file or the whole new one.
- A run folder being written carries the marker INCOMPLETE (see
  run_incomplete()); readers refuse such a folder unless they are the run
  that owns it (the marker's token equals $MMF_RUN_TOKEN) or the caller asks
  for it explicitly.
- Stage records: each stage of scripts/run writes <stage>.json with its
  verdict and counts (write_stage / read_stage); scripts/run reads them.
"""
import contextlib
import json
import math
import os
import tempfile
import time

MARKER = "INCOMPLETE"
STAGE_SCHEMA = "mmf-stage/1"
VERDICTS = ("pass", "fail", "skipped", "interrupted")


class ResultError(Exception):
    """A result file or folder that cannot be used; str() is one line."""


def load_json(path, what="result file", shape=dict):
    """Parse path. shape: the type the top level must have (dict or list)."""
    try:
        with open(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise ResultError(f"{path}: {what} missing") from None
    except OSError as e:
        raise ResultError(f"{path}: {what} unreadable ({e.strerror})") from None
    if not raw.strip():
        raise ResultError(f"{path}: {what} is empty (a run cut short?)")
    try:
        doc = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise ResultError(f"{path}: {what} is not UTF-8 text") from None
    except ValueError as e:
        # Unbalanced brackets: the file ends inside the document.
        opened = raw.count(b"{") + raw.count(b"[") - raw.count(b"}") - raw.count(b"]")
        hint = " (truncated: a run cut short or a full disk?)" if opened > 0 else ""
        raise ResultError(f"{path}: {what} is not valid JSON at byte {e.pos}{hint}") from None
    if shape is not None and not isinstance(doc, shape):
        raise ResultError(f"{path}: {what} has the wrong shape (top level is "
                          f"{type(doc).__name__}, expected {shape.__name__})")
    return doc


# Google Benchmark row fields that hold text (or a flag); every other field
# of a row is a number the results module uses (time, iterations, rates,
# counters).
GBENCH_TEXT_FIELDS = {"name", "run_name", "run_type", "aggregate_name", "aggregate_unit",
                      "time_unit", "label", "error_message", "big_o"}
GBENCH_TIME_UNITS = ("ns", "us", "ms", "s")


def _number(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _shown(v):
    text = json.dumps(v) if not isinstance(v, str) else repr(v)
    return text if len(text) <= 40 else text[:37] + "..."


def check_gbench_row(path, row):
    """Raise ResultError (naming the file and the benchmark) for a row of a
    Google Benchmark JSON we cannot use. A row whose error_occurred is set
    (a failed or skipped benchmark) carries no figures and is not checked.
    Every other row needs a numeric real_time in a known time_unit, and every
    field that is not text (GBENCH_TEXT_FIELDS) must be a finite number:
    Python's json accepts NaN and Infinity, which no figure may be. The one
    exception: the 'cv' aggregate of a counter that is 0 in every repetition
    is 0/0, which Google Benchmark writes as NaN (and a merge of shards as
    null); only a cv row's real_time is used, so only it is checked there."""
    name = row.get("name")
    if not isinstance(name, str):
        raise ResultError(f"{path}: a row's name is not text ({_shown(name)})")
    if row.get("error_occurred"):
        return
    if row.get("time_unit", "ns") not in GBENCH_TIME_UNITS:
        raise ResultError(f"{path}: row {name}: time_unit {_shown(row.get('time_unit'))} is not "
                          f"one of {', '.join(GBENCH_TIME_UNITS)}")
    if "real_time" not in row:
        raise ResultError(f"{path}: row {name}: no real_time")
    cv = row.get("run_type") == "aggregate" and row.get("aggregate_name") == "cv"
    for k, v in row.items():
        if k in GBENCH_TEXT_FIELDS or k == "error_occurred" or (cv and k != "real_time"):
            continue
        if not _number(v):
            raise ResultError(f"{path}: row {name}: {k} is {_shown(v)}, not a number")
        if not math.isfinite(v):
            raise ResultError(f"{path}: row {name}: {k} is {_shown(v)}, not a finite number")


def check_gbench(path, doc):
    """doc (parsed from path) is Google Benchmark JSON we can use: a dict with
    a 'benchmarks' list of rows that pass check_gbench_row. Returns doc."""
    rows = doc.get("benchmarks") if isinstance(doc, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "name" in r for r in rows):
        raise ResultError(f"{path}: benchmark JSON has no 'benchmarks' list of named rows")
    for row in rows:
        check_gbench_row(path, row)
    return doc


def load_gbench(path):
    """A Google Benchmark JSON file (check_gbench): the one way to read one."""
    return check_gbench(path, load_json(path, "benchmark JSON"))


def load_result(path):
    """Any JSON of a run folder, checked by what it is: Google Benchmark JSON
    (a 'benchmarks' key) by check_gbench, a stage record by its schema,
    anything else only as JSON."""
    doc = load_json(path, shape=None)
    if isinstance(doc, dict) and "benchmarks" in doc:
        return check_gbench(path, doc)
    if is_stage_record(doc):
        return check_stage(path, doc)
    return doc


def _finite(doc):
    """JSON has no NaN/inf: refuse to write them rather than emit invalid JSON."""
    if isinstance(doc, float) and not math.isfinite(doc):
        raise ValueError("non-finite number")
    if isinstance(doc, dict):
        for v in doc.values():
            _finite(v)
    elif isinstance(doc, (list, tuple)):
        for v in doc:
            _finite(v)


@contextlib.contextmanager
def temp_beside(path, suffix="", mode=0o666):
    """A context giving (fd, name) of a new temporary file in path's folder,
    named after path, with mode & ~umask (set here, before any rename: no
    chmod by name after it, which a planted symlink would redirect; mkstemp
    makes 0600), to be renamed or linked onto path when whole; the name is
    removed on leaving (gone after a rename). Raises OSError."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", suffix=suffix,
                               dir=folder)
    try:
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, mode & ~umask)
        yield fd, tmp
    finally:
        try:
            os.unlink(tmp)
        except OSError:
            pass


def write_text(path, text, mode=0o666):
    """Write text atomically with mode & ~umask; raises ResultError (one
    line) on failure."""
    try:
        with temp_beside(path, mode=mode) as (fd, tmp):
            with os.fdopen(fd, "w") as f:
                f.write(text)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
    except OSError as e:
        raise ResultError(f"{path}: cannot write ({e.strerror})") from None


def write_json(path, doc):
    _finite(doc)
    write_text(path, json.dumps(doc, indent=1, sort_keys=False) + "\n")


# --- the in-progress marker of a run folder ---------------------------------

def run_incomplete(folder):
    """The marker's text when folder is a run that did not complete, else None."""
    p = os.path.join(folder, MARKER)
    try:
        with open(p) as f:
            return f.read().strip() or "in progress"
    except FileNotFoundError:
        return None
    except OSError as e:
        return f"marker unreadable ({e.strerror})"


def check_complete(folder, allow_incomplete=False):
    """Raise ResultError for an incomplete run folder, unless this process
    belongs to the run that owns the marker, or allow_incomplete."""
    text = run_incomplete(folder)
    if allow_incomplete:
        return text
    if text is None:
        # A stage that recorded its own interruption: the folder was cut
        # short even if a later run removed or never wrote the marker.
        for p in sorted(os.listdir(folder)) if os.path.isdir(folder) else ():
            if p.endswith(".json"):
                try:
                    doc = load_json(os.path.join(folder, p))
                except ResultError:
                    continue    # the reader that needs it refuses it by name
                if is_stage_record(doc) and doc.get("verdict") == "interrupted":
                    raise ResultError(f"{folder}: incomplete run (stage {doc.get('stage')} "
                                      f"was interrupted: {p})")
        return None
    token = os.environ.get("MMF_RUN_TOKEN")
    if token and f"token={token}" in text.split():
        return None
    first = " ".join(l for l in text.splitlines() if not l.startswith("token="))
    raise ResultError(f"{folder}: incomplete run ({MARKER}: {first})")


# --- stage records -----------------------------------------------------------

def stage_path(folder, stage):
    return os.path.join(folder, f"{stage}.json")


def write_stage(folder, stage, verdict, reason="", counts=None, **extra):
    """<folder>/<stage>.json: {schema, stage, verdict, reason, counts, time, ...}."""
    if verdict not in VERDICTS:
        raise ValueError(f"verdict {verdict!r} not one of {VERDICTS}")
    doc = {"schema": STAGE_SCHEMA, "stage": stage, "verdict": verdict, "reason": reason,
           "counts": dict(counts or {}),
           "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    doc.update(extra)
    write_json(stage_path(folder, stage), doc)
    return doc


def read_stage(folder, stage):
    """The stage record, or raise ResultError (missing, corrupt, wrong schema)."""
    p = stage_path(folder, stage)
    return check_stage(p, load_json(p, f"stage record of {stage}"))


def check_stage(path, doc):
    """doc (parsed from path) as a stage record, or raise ResultError."""
    if doc.get("schema") != STAGE_SCHEMA or doc.get("verdict") not in VERDICTS:
        raise ResultError(f"{path}: not a stage record (schema {doc.get('schema')!r}, "
                          f"verdict {doc.get('verdict')!r})")
    return doc


def is_stage_record(doc):
    return isinstance(doc, dict) and doc.get("schema") == STAGE_SCHEMA


# A stage record is a few hundred bytes; files above this size are result
# data, not records (check_recorded does not parse them).
_STAGE_RECORD_MAX = 1 << 20


def check_recorded(folder):
    """Raise ResultError naming a file that a stage record of folder says the
    stage produced and that is not there (deleted, never copied): a run
    folder must hold what its records count.

    - A record with "files" (a list of names in folder, e.g. the bench
      record's driver JSON, written by `summary --stage`) needs each of them.
    - A bench record without it (written before records listed their files)
      with counts {drivers: D, failed_drivers: F} needs at least D - F of the
      drivers of bench/drivers.txt to have their <driver>.json here; the
      error names the drivers whose JSON is absent.
    Records that cannot be parsed are left to the reader that needs them
    (refused by name there)."""
    try:
        names = sorted(os.listdir(folder))
    except OSError as e:
        raise ResultError(f"{folder}: cannot list the folder ({e.strerror})") from None
    for name in names:
        p = os.path.join(folder, name)
        try:
            if not name.endswith(".json") or os.path.getsize(p) > _STAGE_RECORD_MAX:
                continue
            doc = load_json(p, shape=None)
        except (OSError, ResultError):
            continue
        if not is_stage_record(doc):
            continue
        listed = doc.get("files")
        if listed is not None:
            if not isinstance(listed, list) or not all(
                    isinstance(f, str) and f and os.path.basename(f) == f for f in listed):
                raise ResultError(f"{p}: stage record's 'files' is not a list of file names")
            missing = [f for f in listed if not os.path.isfile(os.path.join(folder, f))]
            if missing:
                also = f"; also missing: {', '.join(missing[1:])}" if missing[1:] else ""
                raise ResultError(f"{os.path.join(folder, missing[0])}: missing (listed by the "
                                  f"stage record {name}{also})")
        elif doc.get("stage") == "bench":
            _check_bench_counts(folder, name, doc.get("counts"))


def _check_bench_counts(folder, record, counts):
    """The fallback of check_recorded for a bench record without "files"."""
    from .data import driver_names
    counts = counts if isinstance(counts, dict) else {}
    ran, failed = counts.get("drivers"), counts.get("failed_drivers", 0)
    if not _number(ran) or not _number(failed):
        return
    known = driver_names()
    present = [d for d in known if os.path.isfile(os.path.join(folder, d + ".json"))]
    if len(present) < ran - failed:
        absent = [d + ".json" for d in known if d not in present]
        raise ResultError(f"{folder}: the stage record {record} counts {ran:g} drivers "
                          f"({failed:g} failed) but only {len(present)} driver JSON files are here "
                          f"(missing: {', '.join(absent)})")
