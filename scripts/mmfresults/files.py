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


def load_gbench(path):
    """A Google Benchmark JSON file: a dict with a 'benchmarks' list of dict rows."""
    doc = load_json(path, "benchmark JSON")
    rows = doc.get("benchmarks")
    if not isinstance(rows, list) or not all(isinstance(r, dict) and "name" in r for r in rows):
        raise ResultError(f"{path}: benchmark JSON has no 'benchmarks' list of named rows")
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


def write_text(path, text, mode=0o666):
    """Write text atomically with mode & ~umask (set before the rename: no
    chmod by name after it, which a planted symlink would redirect); raises
    ResultError (one line) on failure."""
    folder = os.path.dirname(os.path.abspath(path))
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(prefix="." + os.path.basename(path) + ".", dir=folder)
        # mkstemp makes 0600; a result file gets the usual mode (0666 & ~umask)
        umask = os.umask(0)
        os.umask(umask)
        os.fchmod(fd, mode & ~umask)
        with os.fdopen(fd, "w") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        tmp = None
    except OSError as e:
        raise ResultError(f"{path}: cannot write ({e.strerror})") from None
    finally:
        if tmp is not None:
            try:
                os.unlink(tmp)
            except OSError:
                pass


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
    doc = load_json(p, f"stage record of {stage}")
    if doc.get("schema") != STAGE_SCHEMA or doc.get("verdict") not in VERDICTS:
        raise ResultError(f"{p}: not a stage record (schema {doc.get('schema')!r}, "
                          f"verdict {doc.get('verdict')!r})")
    return doc


def is_stage_record(doc):
    return isinstance(doc, dict) and doc.get("schema") == STAGE_SCHEMA
