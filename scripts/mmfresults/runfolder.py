"""Run folders: stage records, the run's final verdict, completeness checks.

A run folder (results/runs/<id>/) holds one <stage>.json per stage that ran
(files.write_stage), the files each stage produced, and while the run is in
progress the marker INCOMPLETE (files.MARKER). scripts/run reads the stage
records, never the logs.
"""
import argparse
import glob
import os
import sys

from . import files


class _Parser(argparse.ArgumentParser):
    """argparse that fails with one line and exit 2."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: {message}\n")
        sys.exit(2)


def parser(prog, doc=None):
    return _Parser(prog=prog, description=doc)


def key_values(ap, items, opt, conv=int):
    """{key: conv(value)} of repeated `opt KEY=VALUE` options; a malformed one
    is a usage error naming it."""
    out = {}
    for item in items:
        k, sep, v = item.partition("=")
        if not sep or not k:
            ap.error(f"{opt} {item!r}: expected KEY=VALUE")
        try:
            out[k] = conv(v)
        except ValueError:
            ap.error(f"{opt} {item!r}: bad value")
    return out


def main_stage(argv):
    ap = parser("stage", "Write DIR/NAME.json, the record of one stage.")
    ap.add_argument("folder")
    ap.add_argument("name")
    ap.add_argument("verdict", choices=files.VERDICTS)
    ap.add_argument("--reason", default="")
    ap.add_argument("--count", action="append", default=[], metavar="KEY=N",
                    help="a count of what the stage ran (repeatable)")
    ap.add_argument("--seconds", type=float)
    a = ap.parse_args(argv)
    counts = key_values(ap, a.count, "--count")
    extra = {} if a.seconds is None else {"seconds": a.seconds}
    files.write_stage(a.folder, a.name, a.verdict, a.reason, counts, **extra)
    return 0


# The exit statuses of a stage stopped by a signal (lib.sh mmf_traps).
INTERRUPTED = {129: "SIGHUP", 130: "SIGINT", 143: "SIGTERM"}


def main_stage_settle(argv):
    ap = parser("stage-settle", "After a stage: keep the tool's own record (adding the "
                "time, failing a recorded pass whose exit failed) or make one from the exit.")
    ap.add_argument("folder")
    ap.add_argument("name")
    ap.add_argument("--exit", type=int, required=True, dest="rc")
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--log", default="")
    ap.add_argument("--count", action="append", default=[], metavar="KEY=N")
    a = ap.parse_args(argv)
    counts = key_values(ap, a.count, "--count")
    where = f" (see {a.log})" if a.log else ""
    try:
        rec = files.read_stage(a.folder, a.name)
    except files.ResultError as e:
        rec = None
        bad = "" if "missing" in str(e) else f"; its own record was unusable: {e}"
    if rec is None:
        if a.rc == 0:
            verdict, reason = "pass", ""
        elif a.rc == 77:
            verdict, reason = "skipped", f"the tool skipped it{where}"
        elif a.rc in INTERRUPTED:
            verdict, reason = "interrupted", f"{INTERRUPTED[a.rc]} (exit {a.rc}){where}"
        else:
            verdict, reason = "fail", f"exit {a.rc}{where}"
        files.write_stage(a.folder, a.name, verdict, reason + bad, counts, seconds=a.seconds)
        return 0
    rec["seconds"] = a.seconds
    for k, n in counts.items():
        rec["counts"].setdefault(k, n)
    if a.rc in INTERRUPTED and rec["verdict"] != "interrupted":
        # Cut short after (or while) the tool wrote its record: it did not finish.
        rec["reason"] = f"{INTERRUPTED[a.rc]} (exit {a.rc}) after recording {rec['verdict']}{where}"
        rec["verdict"] = "interrupted"
    elif a.rc not in (0, 77) and rec["verdict"] in ("pass", "skipped"):
        rec["reason"] = f"exit {a.rc} after recording {rec['verdict']}{where}"
        rec["verdict"] = "fail"
    files.write_json(files.stage_path(a.folder, a.name), rec)
    return 0


def main_stage_reason(argv):
    ap = parser("stage-reason", "Print the reason of a stage record.")
    ap.add_argument("folder")
    ap.add_argument("name")
    a = ap.parse_args(argv)
    rec = files.read_stage(a.folder, a.name)
    print(rec.get("reason") or rec["verdict"])
    return 0


def stage_records(folder, stages):
    """[(stage, record or None, error or None)] for the given stage names."""
    out = []
    for s in stages:
        try:
            out.append((s, files.read_stage(folder, s), None))
        except files.ResultError as e:
            out.append((s, None, str(e)))
    return out


def main_run_summary(argv):
    ap = parser("run-summary", "Print each stage's verdict; exit 1 if any failed, was "
                "interrupted or left no record, 2 if none ran.")
    ap.add_argument("folder")
    ap.add_argument("stages", nargs="+", help="the stages the run asked for, in order")
    a = ap.parse_args(argv)
    bad = ran = 0
    for s, rec, err in stage_records(a.folder, a.stages):
        if rec is None:
            print(f"  {s:<11} FAILED: no stage record ({err})")
            bad += 1
            continue
        v = rec["verdict"]
        counts = ", ".join(f"{k} {n}" for k, n in rec.get("counts", {}).items())
        secs = f" {rec['seconds']:.0f} s" if isinstance(rec.get("seconds"), (int, float)) else ""
        detail = "; ".join(x for x in (rec.get("reason", ""), counts) if x)
        print(f"  {s:<11} {v.upper() if v != 'pass' else 'ok'}{secs}{': ' + detail if detail else ''}")
        if v in ("fail", "interrupted"):
            bad += 1
        if v == "pass":
            ran += 1
    if bad:
        return 1
    if ran == 0:
        print("  no stage ran: nothing was tested")
        return 2
    return 0


def check_folder(folder, allow_incomplete=False):
    """Raise ResultError if folder is incomplete or any of its JSON is corrupt."""
    if not os.path.isdir(folder):
        raise files.ResultError(f"{folder}: no such folder")
    files.check_complete(folder, allow_incomplete)
    n = 0
    for p in sorted(glob.glob(os.path.join(folder, "*.json"))):
        files.load_json(p)
        n += 1
    if n == 0:
        raise files.ResultError(f"{folder}: holds no result JSON")
    return n


def main_check_run(argv):
    ap = parser("check-run", "Exit 1 with one line if FOLDER is incomplete or holds corrupt JSON.")
    ap.add_argument("folder")
    ap.add_argument("--allow-incomplete", action="store_true")
    a = ap.parse_args(argv)
    n = check_folder(a.folder, a.allow_incomplete)
    print(f"{a.folder}: complete, {n} result files readable")
    return 0
