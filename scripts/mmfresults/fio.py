"""The fio cross-check's table and verdict (command fio-check, run by scripts/fio-check).

  fio-check DIR --reps N CASE...

CASE is "name|fio options|harness row" (the table lives in scripts/fio-check).
Reads, for each round i in 1..N, written by scripts/fio-check into DIR/fio/:
  round-i/bench_read.json   the harness rows (Google Benchmark JSON, via data.load)
  null-i.json               fio's null engine (fio's own cost per I/O)
  <name>-i.json             each fio job (fio --output-format=json)
A missing, truncated or wrongly shaped file is refused by name (exit 1).

Prints the table (also DIR/fio/fio-check.txt) and writes the stage record
DIR/fio-check.json: verdict pass when every case agrees (IOPS within 20 %) or
the difference is explained (fio's own per-I/O cost, or fio's run-to-run
spread), fail otherwise; counts cases, rounds, agree, explained, disagree.
Exit 0 pass, 1 fail.
"""
import os
import statistics

from . import data, files
from .runfolder import parser

med = statistics.median


def fio_read(path):
    """The read side of fio's first job: {'iops': ...}."""
    doc = files.load_json(path, "fio JSON")
    try:
        read = doc["jobs"][0]["read"]
        iops = float(read["iops"])
    except (KeyError, IndexError, TypeError, ValueError):
        raise files.ResultError(f"{path}: fio JSON has no jobs[0].read.iops") from None
    if not iops > 0:
        raise files.ResultError(f"{path}: fio measured no I/O (iops {iops})")
    return {"iops": iops}


def within(r):
    """r within +-20 %, either way."""
    return r > 0 and max(r, 1 / r) <= 1.2


def judge(name, iops, lo, hi, hips, null_us, reps):
    """(kind, verdict, note) of one case (kind: agree, explained or disagree): fio's median IOPS (min lo, max hi) against
    the harness's median records/s."""
    net = 1e6 / iops - null_us     # fio's time per I/O without its own overhead
    r_iops, r_lat = hips / iops, (1e6 / hips) / net if net > 0 else float("inf")
    if within(r_iops):
        return "agree", "AGREES (IOPS within 20 %)", None
    if within(r_lat):
        return "explained", "EXPLAINED (fio overhead)", (
            f"{name}: per I/O the harness matches fio once fio's own cost is taken off "
            f"({null_us:.2f} us per I/O, measured with fio's null engine, is "
            f"{100 * null_us * iops / 1e6:.0f} % of fio's time per I/O here)")
    if lo <= hips <= hi:
        return "explained", "EXPLAINED (fio's spread)", (
            f"{name}: the harness median ({hips:.0f}/s) lies inside the spread of fio's own "
            f"{reps} runs ({lo:.0f}-{hi:.0f} IOPS): at 1024 cold I/Os per run the disk's "
            f"moment-to-moment speed dominates; more rounds (--reps) narrow it")
    return "disagree", "DISAGREES", (
        f"{name}: neither IOPS nor per-I/O time agree within 20 %; "
        + ("cold cases depend on the disk's state at that moment (other load on the "
           "machine, writeback); rerun on a quiet machine" if name.startswith("cold")
           else "warm cases measure CPU cost: check the machine's load"))


def main_fio_check(argv):
    ap = parser("fio-check", "Compare fio's figures with the harness's; exit 1 if a case disagrees.")
    ap.add_argument("folder")
    ap.add_argument("--reps", type=int, required=True)
    ap.add_argument("cases", nargs="+", metavar="CASE", help="name|fio options|harness row")
    a = ap.parse_args(argv)
    if a.reps < 1:
        ap.error("--reps must be at least 1")
    cases = []
    for c in a.cases:
        parts = c.split("|")
        if len(parts) != 3 or not parts[0] or not parts[2]:
            ap.error(f"case {c!r}: expected name|fio options|harness row")
        cases.append((parts[0], parts[2]))
    fdir = os.path.join(a.folder, "fio")
    rounds = range(1, a.reps + 1)
    harness = {}
    for i in rounds:
        res = data.load(os.path.join(fdir, f"round-{i}"), ["bench_read"])
        for name, row in cases:
            fam, keys = data.parse_name(row)
            b = res.one(fam, **keys)
            if b is not None:
                harness.setdefault(name, []).extend(b.values("items_per_second"))
    null_us = med(1e6 / fio_read(os.path.join(fdir, f"null-{i}.json"))["iops"] for i in rounds)
    out = [f"{'case':<16} {'fio IOPS':>10} {'harness/s':>10} {'ratio':>6} {'fio us/IO':>10}"
           f" {'- null':>8} {'harness us':>10} {'ratio':>6}  verdict"]
    notes, tally = [], {"agree": 0, "explained": 0, "disagree": 0}
    for name, row in cases:
        runs = [fio_read(os.path.join(fdir, f"{name}-{i}.json"))["iops"] for i in rounds]
        iops, lo, hi = med(runs), min(runs), max(runs)
        if not harness.get(name):
            out.append(f"{name:<16} {iops:>10.0f} {'-':>10}  DISAGREES: harness row missing: {row}")
            tally["disagree"] += 1
            continue
        hips = med(harness[name])
        kind, verdict, note = judge(name, iops, lo, hi, hips, null_us, a.reps)
        tally[kind] += 1
        if note:
            notes.append(note)
        net = 1e6 / iops - null_us
        r_lat = (1e6 / hips) / net if net > 0 else float("inf")
        out.append(f"{name:<16} {iops:>10.0f} {hips:>10.0f} {hips / iops:>6.2f} {1e6 / iops:>10.2f}"
                   f" {net:>8.2f} {1e6 / hips:>10.2f} {r_lat:>6.2f}  {verdict}")
    out += ["  " + n for n in notes]
    out.append(f"medians of {a.reps} interleaved rounds; ratios = harness / fio: records/s over IOPS, "
               f"then harness time per record over fio's time per I/O minus its null-engine time "
               f"({null_us:.2f} us)")
    out.append(f"{len(cases)} cases x {a.reps} rounds: {tally['agree']} agree, "
               f"{tally['explained']} explained, {tally['disagree']} disagree")
    text = "\n".join(out) + "\n"
    files.write_text(os.path.join(fdir, "fio-check.txt"), text)
    verdict = "fail" if tally["disagree"] else "pass"
    files.write_stage(a.folder, "fio-check", verdict,
                      f"{tally['disagree']} of {len(cases)} cases disagree" if tally["disagree"] else "",
                      {"cases": len(cases), "rounds": a.reps, **tally})
    print(text, end="")
    return 1 if tally["disagree"] else 0
