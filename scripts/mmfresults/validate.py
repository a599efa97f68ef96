"""`scripts/report --validate SPEC`: run the workload for real, set the
measurements next to the model's predictions.

The load generator is bench/loadgen/loadgen.c, the CMake target
mmf_loadgen of the release preset (the plain library, no failure points),
which scripts/report builds before it calls this; its path is an argument.

First a 2 x 3 s probe (4 KiB append + mmf_sync, back to back and paced at
200/s) shows how fast the shared disk is right now. Then two phases, bounded
in time (<= ~2 minutes with the probe):
  A  unthrottled: the sustainable append rate, the read rate, and the file
     figures at roll (size, disk blocks, remaps, page cache);
  B  paced at the spec's rate: sync latency p50/p99 at the dirty size the
     workload really has, and whether the rate is held (skipped when the spec
     syncs only at roll: its syncs come from phase A).
Device work: the load generator counts what reached the disk in its timed
window (bench/common/devio.h): the bytes written per record (phase A) and
the write bandwidth at the spec's rate (phase B; phase A's rate when the
spec syncs only at roll) are judged on the counter the model used (own
bios when counted, else device-wide); the device-wide bytes, less the rate
the disk had from others while loadgen slept first (--device-idle), are
shown beside, not judged (the journal is in them, and the neighbours).
"""
import json
import math
import os
import subprocess
import tempfile
import time

from . import crashvm
from . import model as M

TOLERANCE = 0.25
# seconds loadgen sleeps first to measure the others' device write rate
DEVICE_IDLE_S = 2


def top():
    return os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def loadgen_args(spec, rate_bps, seconds, files):
    a = ["--rec", str(spec.rec), "--roll", str(spec.roll), "--init", str(spec.init),
         "--api", spec.api, "--seconds", "%.1f" % seconds, "--files", str(files),
         "--rate", "%.0f" % rate_bps, "--device-idle", str(DEVICE_IDLE_S)]
    if spec.seed_options:
        a += ["--options", M.SEED_COMPAT]
    else:
        a += ["--grow", spec.policy, "--chunk", str(spec.chunk), "--max-step", str(spec.max_step),
              "--flags", ",".join(spec.flags) or "none"]
    if spec.records_per_sync:
        a += ["--sync-every", str(spec.records_per_sync)]
    elif spec.sync_interval_s:
        a += ["--sync-interval-us", "%d" % (spec.sync_interval_s * 1e6)]
    if spec.truncate_on_roll:
        a.append("--truncate-on-roll")
    if spec.reads_per_record:
        a += ["--reads-per-record", "%g" % spec.reads_per_record, "--read-rec", str(spec.read_rec),
              "--read-set", str(spec.read_set), "--read-api", "pread" if spec.read_api == "pread" else "bytes",
              "--read-order", spec.read_order]
    return a


def run_loadgen(exe, spec, rate_bps, seconds, files, scratch):
    cmd = [exe, "--dir", scratch] + loadgen_args(spec, rate_bps, seconds, files)
    p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    if p.returncode != 0:
        raise RuntimeError("loadgen failed (%d): %s" % (p.returncode, p.stderr.strip()))
    r = _loadgen_json(p.stdout)
    r["cmd"] = " ".join(["loadgen"] + cmd[1:])
    return r


def _loadgen_json(text):
    try:
        r = json.loads(text)
    except ValueError as e:
        raise RuntimeError("loadgen printed no JSON object (%s)" % e) from None
    if not isinstance(r, dict):
        raise RuntimeError("loadgen printed %s, not a JSON object" % type(r).__name__)
    return r


PROBE_PACED_SYNCS_S = 200


def run_probe(exe, scratch):
    """1-page append + mmf_sync latency now, into a file opened at its final
    size: back to back (the same quantity as the model's 1-page sync, to tell
    a disk that is slower today from a model that is wrong), then paced at
    200 syncs/s (what an idle CPU between syncs adds)."""
    out = {}
    for key, rate in (("", 0), ("paced_", 4096 * PROBE_PACED_SYNCS_S)):
        cmd = [exe, "--dir", scratch, "--rec", "4096", "--roll", str(16 * M.MiB), "--init", str(16 * M.MiB),
               "--sync-every", "1", "--seconds", "3", "--files", "1", "--rate", str(rate)]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        if p.returncode != 0:
            raise RuntimeError("loadgen probe failed: %s" % p.stderr.strip())
        r = _loadgen_json(p.stdout)
        out.update({key + k: r[k] for k in ("syncs", "sync_p50_ns", "sync_p99_ns", "sync_mean_ns")})
    return out


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return float(f.read().split()[0])
    except (OSError, ValueError):
        return None


def validate(spec, co, say, budget_s, exe):
    """Run both phases with the load generator exe; return the comparison (a
    dict, JSON-able). RuntimeError when a run fails; ResultError when the
    scratch parent $MMF_BENCH_DIR (default /var/tmp) is one someone else
    controls (crashvm.check_dir)."""
    base = os.environ.get("MMF_BENCH_DIR") or "/var/tmp"
    crashvm.check_dir(base, "MMF_BENCH_DIR (scratch parent)")
    pred = M.predict(spec, co)
    if pred.get("missing"):
        raise RuntimeError("the results lack rows for: %s" % ", ".join(pred["missing"]))
    per_file = pred.get("file_seconds") or 10.0
    syncs_at_roll_only = not spec.records_per_sync and not spec.sync_interval_s
    a_budget = budget_s * (0.85 if syncs_at_roll_only else 0.55)
    # phase A: enough time for at least one whole file (x1.5 for a slower machine)
    a_secs = min(a_budget, max(20.0 if syncs_at_roll_only else 8.0, 1.5 * per_file))
    a_files = int(max(1, min(16, (a_secs / 1.5) // max(per_file, 1e-3))))
    out = {"spec": spec.name, "path": spec.path, "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
           "load_before": loadavg()}
    with tempfile.TemporaryDirectory(prefix="mmf-validate.", dir=base) as scratch:
        say("%s: probe, 2 x 3 s of 4 KiB appends each followed by mmf_sync, back to back and paced "
            "(the disk right now)" % spec.name)
        out["probe"] = run_probe(exe, scratch)
        for q in ("p50", "p99", "mean"):
            out["probe"]["model_%s_ns" % q] = co.sync_ns(1, q)
        say("%s: phase A, unthrottled, up to %.0f s / %d file(s) of %s" % (
            spec.name, a_secs, a_files, M.fmt_bytes(spec.roll)))
        A = run_loadgen(exe, spec, 0, a_secs, a_files, scratch)
        B = None
        if not syncs_at_roll_only:
            b_secs = max(8.0, min(budget_s - A["elapsed_s"] - 5, 30.0))
            say("%s: phase B, paced at %s for %.0f s" % (spec.name, M.fmt_rate(spec.rate_bps), b_secs))
            B = run_loadgen(exe, spec, spec.rate_bps, b_secs, 16, scratch)
    out["load_after"] = loadavg()
    out["phase_a"], out["phase_b"] = A, B
    out["rows"] = compare(spec, co, pred, A, B)
    add_adjusted(spec, co, out)
    return out


def probe_scale(pr, paced=False):
    """{quantile: probe / model} for 1-page syncs: how much slower (> 1) or
    faster the disk is now than in the results folder."""
    pre = "paced_" if paced else ""
    sc = {}
    for q in ("p50", "p99", "mean"):
        m, p = pr.get("model_%s_ns" % q), pr.get("%ssync_%s_ns" % (pre, q))
        if m and p:
            sc[q] = p / m
    if "p50" in sc:
        sc["p999"] = sc.get("p99", sc["p50"])
    return sc


def add_adjusted(spec, co, out):
    """A second prediction for the rows that depend on the disk, with every
    sync latency scaled by what the probe found today (back to back for
    phase A rows and rates, paced for phase B rows). Not the verdict: it
    tells a model that is wrong from a disk that changed."""
    pr = out.get("probe") or {}
    co.sync_scale = {}
    for q in ("p50", "p99", "mean"):
        if pr and not pr.get("model_%s_ns" % q):
            pr["model_%s_ns" % q] = co.sync_ns(1, q)
    try:
        for paced in (False, True):
            co.sync_scale = probe_scale(pr, paced)
            if not co.sync_scale:
                continue
            adj = compare(spec, co, M.predict(spec, co), out["phase_a"], out["phase_b"])
            for row, a in zip(out["rows"], adj):
                is_b = " at " in row["figure"].split("(")[0] and row["figure"].startswith("sync")
                if (row["kind"] in ("ns", "rate", "x")) and is_b == paced and not row["figure"].startswith("rate held"):
                    row["adjusted"] = a["predicted"]
    finally:
        co.sync_scale = {}


def _files(r):
    return [f for f in r["files"] if f["complete"]] or r["files"]


def compare(spec, co, pred, A, B):
    """Rows: figure, predicted, measured, unit kind, within tolerance."""
    rows = []
    files = _files(A)
    f0 = files[0]
    # a partial file (the run ended first) is compared with the model at its data
    p_file = pred if f0["complete"] else M.predict(spec, co, data=f0["data"])
    note_partial = "" if f0["complete"] else " (partial file: %s of data)" % M.fmt_bytes(f0["data"])

    def add(name, p, m, kind, why=""):
        ok = None
        if p is not None and m is not None and m > 0:
            ok = abs(p - m) / m <= TOLERANCE
        elif p == 0 and m == 0:
            ok = True
        rows.append({"figure": name, "predicted": p, "measured": m, "kind": kind, "ok": ok, "note": why})

    add("sustainable append rate", pred["rate_bps"], A["append_bps"], "rate",
        "phase A, %d records, %.1f s" % (A["records"], A["elapsed_s"]))
    add("headroom at %s" % M.fmt_rate(spec.rate_bps), pred["headroom"], A["append_bps"] / spec.rate_bps, "x")
    if spec.reads_per_record:
        add("read rate (%s %s B %s)" % (spec.read_api, spec.read_rec, spec.read_order),
            pred.get("read_ops_s"), A["read_ops_per_s"], "ops", "%d reads, time inside reads only" % A["reads"])
    # Syncs back to back (phase A: what the benchmarks measure) ...
    dA = pred["dirty_pages"]
    if spec.sync_interval_s:      # the dirty size follows the rate phase A reached
        dA = max(1, math.ceil(A["append_bps"] * spec.sync_interval_s / M.PAGE))
    for q in ("p50", "p99"):
        add("sync %s, back to back (%d dirty page%s)" % (q, dA, "s" if dA > 1 else ""),
            co.sync_ns(dA, q), A["sync_%s_ns" % q] or None, "ns", "phase A, %d syncs" % A["syncs"])
    # ... and at the requested rate (phase B: what the workload sees)
    if B is not None:
        for q in ("p50", "p99"):
            add("sync %s at %s (%d dirty page%s)" % (q, M.fmt_rate(spec.rate_bps), pred["dirty_pages"],
                                                     "s" if pred["dirty_pages"] > 1 else ""),
                pred["sync_%s_ns" % q], B["sync_%s_ns" % q] or None, "ns", "phase B, %d syncs" % B["syncs"])
    if B is not None:
        held = min(pred["headroom"], 1.0) * spec.rate_bps if pred["headroom"] else None
        add("rate held when paced", held, B["append_bps"], "rate",
            "phase B target %s" % M.fmt_rate(spec.rate_bps))
    add("file size at roll" + note_partial, p_file["size"], f0["size"], "bytes")
    add("disk used at roll (st_blocks)" + note_partial, p_file["disk_at_roll"], f0["blocks_bytes"], "bytes")
    add("over-allocation at roll" + note_partial, p_file["overalloc"], f0["size"] - f0["data"], "bytes")
    add("remaps per file" + note_partial, p_file["remaps"], f0["remaps"], "count")
    add("mapped memory (file)" + note_partial, p_file["size"], f0["size"], "bytes")
    add("page cache of the file at roll (mincore)" + note_partial, p_file["cache_file"], f0["resident_bytes"],
        "bytes", "read_ahead_kb=%d" % (co.read_ahead // 1024))
    if spec.reads_per_record and spec.read_cache == "warm":
        add("page cache of the read set", pred["cache_reads"], A["read_set_resident_bytes"], "bytes")
    if spec.truncate_on_roll and f0["complete"]:
        add("file size after roll (truncated)", p_file["sim"]["data"], f0["size_after"], "bytes")
    device_rows(spec, co, pred, A, B, add)
    return rows


def measured_device(spec, r, counter):
    """(bytes written, records, seconds) of a loadgen run on counter ("own"
    or "dev"), None when it did not count them. A spec that syncs only at
    roll counts the records of its rolled files (the file in progress was
    not synced)."""
    d = r.get("device") or {}
    v = d.get("%s_write_bytes" % counter)
    if v is None or v < 0 or not r["records"]:
        return None
    recs = r["records"]
    if not spec.records_per_sync and not spec.sync_interval_s:
        recs = sum(f["data"] for f in r["files"] if f["complete"]) // spec.rec
    return (v, recs, r["elapsed_s"]) if recs else None


def device_rows(spec, co, pred, A, B, add):
    """Device work, predicted vs measured (see the module's header)."""
    if "dev_bytes_per_record" not in pred:
        return
    counter = pred["dev_counter"]
    what = "own bios" if counter == "own" else "device-wide"
    k = M.records_per_sync(spec, A["append_bps"], max(1, spec.roll // spec.rec))
    per_sync, _ = co.device_bytes_per_sync(spec.api, k * spec.rec, spec.roll)
    per_rec_a = per_sync / k
    m = measured_device(spec, A, counter)
    add("device bytes written per record (%s)" % what, per_rec_a, m and m[0] / m[1], "bytes",
        "phase A, %d records, %.0f records per sync" % (m[1], k) if m else "not counted")
    ph, name = (B, "phase B") if B is not None else (A, "phase A")
    k = M.records_per_sync(spec, ph["append_bps"], max(1, spec.roll // spec.rec))
    per_sync, _ = co.device_bytes_per_sync(spec.api, k * spec.rec, spec.roll)
    m = measured_device(spec, ph, counter)
    add("device write bandwidth (%s)" % what, per_sync / k / spec.rec * ph["append_bps"],
        m and m[0] / m[2], "rate", "%s at %s of appends" % (name, M.fmt_rate(ph["append_bps"])))
    d = ph.get("device") or {}
    if d.get("dev_write_bytes", -1) >= 0 and d.get("idle_write_bps", -1) >= 0:
        rows_dev = max(0.0, d["dev_write_bytes"] - d["idle_write_bps"] * ph["elapsed_s"]) / ph["elapsed_s"]
        add("device-wide write bandwidth less the others' idle rate (not judged)", None, rows_dev, "rate",
            "%s: %s device-wide, the others %s while idle" % (
                name, M.fmt_rate(d["dev_write_bytes"] / ph["elapsed_s"]), M.fmt_rate(d["idle_write_bps"])))


def fmt(v, kind):
    if v is None:
        return "n/a"
    if kind == "rate":
        return M.fmt_rate(v)
    if kind == "ns":
        return M.fmt_ns(v)
    if kind == "bytes":
        return M.fmt_bytes(v)
    if kind == "x":
        return "%.2f x" % v
    if kind == "ops":
        return "%.0f /s" % v
    return "%d" % v


def _err(p, m):
    if p is None or not m:
        return None
    return 100.0 * (p - m) / m


def _cells(r, pct, na):
    """predicted, measured, error, adjusted (with its error) of a row as text."""
    def err(p):
        e = _err(p, r["measured"])
        return pct % e if e is not None else na
    adj = ""
    if r.get("adjusted") is not None:
        adj = "%s (%s)" % (fmt(r["adjusted"], r["kind"]), err(r["adjusted"]))
    return fmt(r["predicted"], r["kind"]), fmt(r["measured"], r["kind"]), err(r["predicted"]), adj


def table(rows):
    lines = ["| figure | predicted | measured | error | within ±25 % | predicted with today's disk (probe) |",
             "|---|---:|---:|---:|:---:|---:|"]
    for r in rows:
        p, m, e, adj = _cells(r, "%+.0f %%", "n/a")
        ok = {True: "yes", False: "**no**", None: "n/a"}[r["ok"]]
        lines.append("| %s | %s | %s | %s | %s | %s |" % (r["figure"], p, m, e, ok, adj))
    return "\n".join(lines)


def text_table(rows):
    w = max(len(r["figure"]) for r in rows)
    out = ["%-*s  %12s  %12s  %7s  %-4s  %s" % (w, "figure", "predicted", "measured", "error", "±25%",
                                                "with today's disk")]
    for r in rows:
        p, m, e, adj = _cells(r, "%+.0f%%", "")
        ok = {True: "ok", False: "OUT", None: "-"}[r["ok"]]
        out.append("%-*s  %12s  %12s  %7s  %-4s  %s" % (w, r["figure"], p, m, e, ok, adj))
    return "\n".join(out)
