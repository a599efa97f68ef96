"""The fio cross-check's table and verdict (command fio-check, run by scripts/fio-check),
and where to run it (command fio-setup).

  fio-setup DIR              print "STAT MAJ:MIN CPU": the /sys/block/<disk>/stat of the
                             disk holding DIR, its device numbers, and the CPU its busiest
                             interrupt is routed to ("-" when unknown)
  fio-check DIR --reps N CASE...

CASE is "name|fio options|harness row" (the table lives in scripts/fio-check).
Reads, for each round i in 1..N, written by scripts/fio-check into DIR/fio/:
  round-i/bench_read.json   the harness rows (Google Benchmark JSON, via data.load)
  null-i.json               fio's null engine (fio's own cost per I/O)
  <name>-i.json             each fio job (fio --output-format=json)
A missing, truncated or wrongly shaped file is refused by name (exit 1).

  dev-<tag>.before/.after    the disk's stat line, then (when fio ran in a counting
                            blkio cgroup) its io_serviced and io_service_bytes, before
                            and after each fio job (tag: name-i)
The device work per record is compared too: the harness rows' own_reads /
own_read_bytes (dev_* when own is -1) against fio's cgroup counters (the
disk's stat when there is no cgroup), per I/O.

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


def disk_sysdir(path):
    """/sys/block/<disk> of the disk holding path (a partition resolved to its disk), or None."""
    try:
        dev = os.stat(path).st_dev
    except OSError:
        return None
    d = os.path.realpath(f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}")
    if os.path.exists(os.path.join(d, "partition")):
        d = os.path.dirname(d)
    return d if os.path.exists(os.path.join(d, "stat")) else None


def irq_counts():
    """{irq number: interrupts summed over CPUs} from /proc/interrupts."""
    out = {}
    with open("/proc/interrupts") as f:
        for line in f:
            parts = line.split()
            if parts and parts[0].rstrip(":").isdigit():
                out[int(parts[0].rstrip(":"))] = sum(int(x) for x in parts[1:] if x.isdigit())
    return out


def irq_cpu(sysdir):
    """The first CPU of the effective affinity of the disk's busiest MSI interrupt
    (where its completions arrive), or None: the device's (or a parent's) msi_irqs."""
    d = os.path.realpath(os.path.join(sysdir, "device"))
    while d != "/" and not os.path.isdir(os.path.join(d, "msi_irqs")):
        d = os.path.dirname(d)
    if d == "/":
        return None
    counts = irq_counts()
    irqs = [int(n) for n in os.listdir(os.path.join(d, "msi_irqs")) if n.isdigit()]
    if not irqs:
        return None
    busiest = max(irqs, key=lambda n: counts.get(n, 0))
    try:
        with open(f"/proc/irq/{busiest}/effective_affinity_list") as f:
            return int(f.read().strip().split(",")[0].split("-")[0])
    except (OSError, ValueError):
        return None


def main_fio_setup(argv):
    ap = parser("fio-setup", "Print the stat file, device numbers and interrupt CPU of the disk holding DIR.")
    ap.add_argument("dir")
    a = ap.parse_args(argv)
    sysdir = disk_sysdir(a.dir)
    if sysdir is None:
        ap.exit(1, f"fio-setup: no block device found for {a.dir}\n")
    with open(os.path.join(sysdir, "dev")) as f:
        majmin = f.read().strip()
    cpu = irq_cpu(sysdir)
    print(os.path.join(sysdir, "stat"), majmin, "-" if cpu is None else cpu)
    return 0


def dev_counts(path, majmin):
    """(reads, read bytes) of a dev-*.before/.after file: the cgroup's Read lines for
    majmin when present, else the disk's stat line (fields 1 and 3 x 512)."""
    try:
        with open(path) as f:
            lines = f.read().splitlines()
    except OSError:
        raise files.ResultError(f"{path}: missing (device counters of a fio job)") from None
    own = [l.split() for l in lines[1:] if l.startswith(majmin + " Read ")]
    try:
        if len(own) == 2:
            return float(own[0][2]), float(own[1][2])
        f = lines[0].split()
        return float(f[0]), float(f[2]) * 512
    except (IndexError, ValueError):
        raise files.ResultError(f"{path}: not a disk stat line (device counters of a fio job)") from None


def fio_device(fdir, tag, majmin, ios):
    """(device reads, device KiB) per I/O of one fio job."""
    r0, b0 = dev_counts(os.path.join(fdir, f"dev-{tag}.before"), majmin)
    r1, b1 = dev_counts(os.path.join(fdir, f"dev-{tag}.after"), majmin)
    return (r1 - r0) / ios, (b1 - b0) / 1024 / ios


def harness_device(b):
    """(device reads, device KiB) per record of one harness row's repetitions (medians):
    own counters when counted, else the device-wide ones."""
    recs = b.median("records") or 1
    reads, rbytes = b.median("own_reads"), b.median("own_read_bytes")
    if reads is None or reads < 0:
        reads, rbytes = b.median("dev_reads"), b.median("dev_read_bytes")
    if reads is None or rbytes is None:
        return None, None
    return reads / recs, rbytes / 1024 / recs


def fio_read(path):
    """The read side of fio's first job: {'iops': ...}."""
    doc = files.load_json(path, "fio JSON")
    try:
        read = doc["jobs"][0]["read"]
        iops, ios = float(read["iops"]), float(read["total_ios"])
        lat_us = float(read.get("lat_ns", {}).get("mean", 0)) / 1e3
    except (KeyError, IndexError, TypeError, ValueError, AttributeError):
        raise files.ResultError(f"{path}: fio JSON has no jobs[0].read.iops/total_ios") from None
    if not iops > 0 or not ios > 0:
        raise files.ResultError(f"{path}: fio measured no I/O (iops {iops})")
    # Time of the job's runtime spent outside its I/Os (ms): runtime (ios / iops)
    # minus the I/Os' own latencies (ios x mean lat); setup inside the timed region.
    outside_ms = (ios / iops - ios * lat_us / 1e6) * 1e3 if lat_us > 0 else None
    return {"iops": iops, "ios": ios, "outside_ms": outside_ms}


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
    ap.add_argument("--dev", metavar="MAJ:MIN",
                    help="the disk of the dev-*.before/.after files: compare device work per record")
    ap.add_argument("--cpu", default="none", help="the CPU both sides ran on (for the table's note)")
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
    harness, hdev = {}, {}
    for i in rounds:
        res = data.load(os.path.join(fdir, f"round-{i}"), ["bench_read"])
        for name, row in cases:
            fam, keys = data.parse_name(row)
            b = res.one(fam, **keys)
            if b is not None:
                harness.setdefault(name, []).extend(b.values("items_per_second"))
                hdev.setdefault(name, []).append(harness_device(b))
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
    if a.dev:
        out.append(f"device work per record (medians; harness: own bios when counted, else the disk; "
                   f"fio: its blkio cgroup when counted, else the disk's stat around the job)")
        out.append(f"  {'case':<16} {'harness IO':>10} {'fio IO':>8} {'harness KiB':>11} {'fio KiB':>8}"
                   f" {'fio ms outside I/O':>19}")
        for name, row in cases:
            fd = [fio_device(fdir, f"{name}-{i}", a.dev,
                             fio_read(os.path.join(fdir, f"{name}-{i}.json"))["ios"]) for i in rounds]
            hd = [h for h in hdev.get(name, []) if h[0] is not None]
            outside = [x for x in (fio_read(os.path.join(fdir, f"{name}-{i}.json"))["outside_ms"]
                                   for i in rounds) if x is not None]

            def m(vals, k):
                return f"{med(v[k] for v in vals):.2f}" if vals else "-"
            out.append(f"  {name:<16} {m(hd, 0):>10} {m(fd, 0):>8} {m(hd, 1):>11} {m(fd, 1):>8}"
                       f" {(f'{med(outside):.1f}' if outside else '-'):>19}")
        out.append("  (fio ms outside I/O: fio's runtime minus its I/Os' latencies, median: setup inside "
                   "fio's timed region, which its IOPS include and the harness's time does not)")
    out.append(f"both pinned to CPU {a.cpu}; " if a.cpu != "none" else "not pinned to a CPU; ")
    out[-1] += (f"medians of {a.reps} interleaved rounds; ratios = harness / fio: records/s over IOPS, "
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
