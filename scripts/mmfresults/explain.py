"""Why a validated figure is off: notes generated from what the run and the
coefficients show (load, the noise of the rows the prediction came from,
sample counts), one per figure outside the tolerance, plus the conditions."""
import math
import statistics

from . import model as M
from .validate import PROBE_PACED_SYNCS_S as V_PACED, fmt as fmt_any


def _cv_of(res, family, **keys):
    rows = res.select(family, **keys)
    cvs = [b.cv() for b in rows if b.cv() is not None]
    return max(cvs) if cvs else None


def _budget_note(spec, co, A):
    """Where a record's time goes: predicted vs measured (loadgen phase A)."""
    p = M.predict(spec, co)
    n = max(1, A["records"])
    total = A["elapsed_s"] * 1e6 / n
    reads = A["read_s"] * 1e6 / n
    sync = A["syncs"] * A["sync_mean_ns"] / 1e3 / n
    rest = max(0.0, total - reads - sync)
    p_total = spec.rec / p["rate_bps"] * 1e6
    p_reads = spec.reads_per_record * (p.get("read_us") or 0)
    p_sync = p_total - p["per_rec_us"]
    p_rest = p_total - p_reads - p_sync
    worst = max((("syncs", sync - p_sync), ("reads", reads - p_reads), ("appends and growth", rest - p_rest)),
                key=lambda x: abs(x[1]))
    return ("sustainable append rate: per record the model budgets %.1f µs (appends and growth %.1f, syncs %.1f%s), "
            "the run spent %.1f µs (appends and growth %.1f, syncs %.1f%s); the biggest difference is in the %s "
            "(%+.1f µs)." % (p_total, p_rest, p_sync, ", reads %.1f" % p_reads if spec.reads_per_record else "",
                             total, rest, sync, ", reads %.1f" % reads if spec.reads_per_record else "",
                             worst[0], worst[1]))


def _read_note(spec, co, r, A):
    """A read rate off: where the benchmark's own repetitions lay."""
    f, p, m = r["figure"], r["predicted"], r["measured"]
    madv = "none" if spec.read_api == "pread" else "normal"
    rows = co.res.select("BM_Read", api=spec.read_api, cache=spec.read_cache, order=spec.read_order, madv=madv)
    row = min(rows, key=lambda b: abs(math.log(int(b["rec"]) / spec.read_rec)), default=None)
    why = "%s: predicted %.0f/s, measured %.0f/s (%d reads, timed one by one)" % (f, p, m, A["reads"])
    if row is not None:
        rates = sorted(x["records"] / x["real_us"] * 1e6 for x in row.reps if x.get("records") and x.get("real_us"))
        inside = rates and rates[0] * 0.9 <= m <= rates[-1] * 1.1
        share = [x["cpu_us"] / x["real_us"] for x in row.reps if x.get("cpu_us") and x.get("real_us")]
        why += (". The model's row `%s` ranged %.0f-%.0f reads/s over its %d repetitions (CV %.0f %%): the "
                "measurement is %s that spread" % (
                    row.run_name.split("/iterations")[0].replace("/real_time", ""), rates[0], rates[-1], len(rates), 100 * (row.cv() or 0),
                    "inside" if inside else "outside")) if rates else ""
        if share and statistics.median(share) < 0.8:
            why += ("; that row is CPU-bound, yet its CPU time was only %.0f %% of its wall time (median over "
                    "repetitions): it waited for a CPU held by other users, so it measured the host's load as much "
                    "as the reads" % (100 * statistics.median(share)))
            busy = A["elapsed_s"] - A["syncs"] * A["sync_mean_ns"] / 1e9
            if A.get("cpu_s") and busy > 0:
                why += ("; the load generator, outside its syncs, got %.0f %% of a CPU" % min(
                    100.0, 100 * A["cpu_s"] / busy))
        elif not inside:
            why += ("; the model does not account for the difference (the benchmark reads a 64 MiB file in "
                    "timed passes, the workload times single random reads of a %s set between appends and syncs)"
                    % M.fmt_bytes(spec.read_set))
    return why + "."


def _sync_note(spec, co, r, A, B, pr, drift):
    """Why a sync latency is off, in the direction it is off."""
    f, p, m = r["figure"], r["predicted"], r["measured"]
    q = f.split()[1].rstrip(",")
    paced = " at " in f.split("(")[0]
    ph = B if paced else A
    head = "%s: predicted %s, measured %s over %d syncs" % (f, M.fmt_ns(p), M.fmt_ns(m), ph["syncs"])
    tail = "; %d samples only, so p99 is close to the maximum" % ph["syncs"] if q != "p50" and ph["syncs"] < 200 else ""
    if m < p:
        probe = ""
        if pr and pr.get("sync_%s_ns" % q):
            probe = (" (the probe run seconds before this phase measured 1-page syncs at %s %s back to back%s, "
                     "against the model's %s)" % (
                         q, M.fmt_ns(pr["sync_%s_ns" % q]),
                         ", %s paced" % M.fmt_ns(pr["paced_sync_%s_ns" % q]) if pr.get("paced_sync_%s_ns" % q)
                         else "", M.fmt_ns(pr.get("model_%s_ns" % q))))
        return (head + ". Faster than predicted: on this shared virtual disk sync latency moves by several times "
                "from one minute to the next%s, so the benchmark's figure and this run's differ either way%s." % (
                    probe, tail))
    if paced and pr and pr.get("paced_sync_%s_ns" % q) and pr["paced_sync_%s_ns" % q] > 1.25 * pr["sync_%s_ns" % q]:
        why = (head + ". The benchmarks time syncs back to back; at the requested rate the writer sleeps between "
               "records, and on this VM a sync issued from an idle CPU waits longer for the journal thread and the "
               "disk's completion: the probe measured 1-page syncs at %s back to back and %s paced at %d/s (%.1fx)" % (
                   M.fmt_ns(pr["sync_%s_ns" % q]), M.fmt_ns(pr["paced_sync_%s_ns" % q]), V_PACED,
                   pr["paced_sync_%s_ns" % q] / pr["sync_%s_ns" % q]))
        if spec.records_per_sync:   # the same dirty size in both phases
            why += "; this run's back-to-back phase measured %s, its paced phase %s" % (
                M.fmt_ns(A["sync_%s_ns" % q]), M.fmt_ns(B["sync_%s_ns" % q]))
        return why + ". The harness has no paced sync row for the model to learn this from%s." % tail
    if drift and drift > 1.25:
        return (head + ". The probe shows the disk %.1fx slower than in the results folder, which accounts for %s of "
                "the gap%s." % (drift, "all" if p * drift >= m * 0.75 else "part", tail))
    dmax = max([int(x["dirty"]) for x in co.res.select("BM_Sync", call="mmf_sync")] or [0])
    dirty = int(f.split("(")[1].split()[0]) if "(" in f else 0
    if dmax and dirty > dmax:
        return (head + ". %d dirty pages is %.0fx the largest size BM_Sync measures (%d pages): the model "
                "extrapolates its median at constant writeback bandwidth (%s per MiB); the bandwidth of one large "
                "writeback on the shared disk is what differs%s." % (
                    dirty, dirty / dmax, dmax, M.fmt_ns(co.sync_ns(dmax, "p50") / (dmax * M.PAGE / M.MiB)), tail))
    return (head + ". fdatasync on ext4 waits for a journal commit shared with every other writer of the "
            "filesystem, so its tail (and on a busy host its median) follows the neighbours%s." % tail)


def _device_note(spec, r, A, B):
    """A device figure off: what the run's counters show per sync."""
    ph = B if r["figure"].startswith("device write") and B is not None else A
    d = ph.get("device") or {}
    syncs = max(1, ph["syncs"])
    parts = ["%s: predicted %s, measured %s" % (r["figure"], fmt_any(r["predicted"], r["kind"]),
                                                 fmt_any(r["measured"], r["kind"]))]
    if d.get("own_write_bytes", -1) >= 0:
        parts.append("the run's own bios: %.1f KiB in %.1f writes per sync" % (
            d["own_write_bytes"] / 1024 / syncs, max(0, d.get("own_writes", 0)) / syncs))
    if d.get("proc_dirtied_bytes", -1) >= 0 and ph["records"]:
        k = M.records_per_sync(spec, ph["append_bps"], max(1, spec.roll // spec.rec))
        pages = M.PAGE * M.data_pages(k * spec.rec) / k       # what 4 KiB folios would dirty per record
        dirtied = d["proc_dirtied_bytes"] / ph["records"]
        parts.append("%.1f KiB of page cache dirtied per record where 4 KiB folios make %.1f KiB%s" % (
            dirtied / 1024, pages / 1024,
            " (%.1fx: the synced records sat in large folios, each dirtied and written whole: MMF_KEEP_FOLIOS, "
            "or a writer that appended far without a sync keeps the folio it was in; bench/README.md "
            "\"Large folios in grown space\")" % (dirtied / pages) if dirtied > 1.25 * pages else ""))
        own = d.get("own_write_bytes", -1)
        if 0 <= own < 0.8 * d["proc_dirtied_bytes"]:
            parts.append("its own bios were %.0f %% of the page cache it dirtied: the kernel's flusher wrote the rest "
                         "in the background (dirty pages above the machine's dirty_background threshold, or older than "
                         "dirty_expire), and those bios count for the flusher, not this process, in a cgroup v1 blkio "
                         "group (cgroup v2 attributes writeback to the group that dirtied the pages)"
                         % (100.0 * own / d["proc_dirtied_bytes"]))
    return "; ".join(parts) + "."


def explain(spec, co, out):
    notes = []
    la, lb = out.get("load_before"), out.get("load_after")
    A, B = out["phase_a"], out.get("phase_b")
    if la is not None:
        ctx = co.res.context or {}
        bl = ctx.get("loadavg_end") or (co.res.gb_context or {}).get("load_avg")
        notes.append("Load average %.2f before, %.2f after the run (%s CPUs, shared with other users); the "
                     "benchmarks ended at load %s." % (
                         la, lb or 0, ctx.get("cpus") or (co.res.gb_context or {}).get("num_cpus") or "?",
                         "%.2f" % float(bl[0]) if bl else "n/a"))
    pr = out.get("probe")
    drift = None
    if pr and pr.get("model_p50_ns") and pr.get("sync_p50_ns"):
        drift = pr["sync_p50_ns"] / pr["model_p50_ns"]
        notes.append("Disk right now (3 s probe before the run, 4 KiB append + mmf_sync back to back): p50 %s, p99 %s, over %d "
                     "syncs; the results folder's model says p50 %s, p99 %s for the same thing — the disk is "
                     "%s." % (M.fmt_ns(pr["sync_p50_ns"]), M.fmt_ns(pr["sync_p99_ns"]), pr["syncs"],
                              M.fmt_ns(pr["model_p50_ns"]), M.fmt_ns(pr["model_p99_ns"]),
                              "%.1fx slower than when it was benchmarked" % drift if drift > 1.25 else
                              "%.1fx faster than when it was benchmarked" % (1 / drift) if drift < 0.8 else
                              "as fast as when it was benchmarked (within 25 %)"))
        if pr.get("paced_sync_p50_ns"):
            notes.append("Paced at %d syncs/s instead (the CPU idles between them), the same 1-page syncs took "
                         "p50 %s, p99 %s (%.1fx the back-to-back p50)." % (
                             V_PACED, M.fmt_ns(pr["paced_sync_p50_ns"]), M.fmt_ns(pr["paced_sync_p99_ns"]),
                             pr["paced_sync_p50_ns"] / pr["sync_p50_ns"]))
    for r in out["rows"]:
        if r["ok"] is not False:
            continue
        f, p, m = r["figure"], r["predicted"], r["measured"]
        if f.startswith("headroom"):
            notes.append("%s: follows the sustainable append rate (same ratio)." % f)
        elif f.startswith("sustainable append rate"):
            why = _budget_note(spec, co, A)
            if drift and (drift > 1.25 or drift < 0.8) and "in the syncs" in why:
                why = why[:-1] + ", where the probe finds the disk %.1fx %s than when it was benchmarked." % (
                    drift if drift > 1 else 1 / drift, "slower" if drift > 1 else "faster")
            notes.append(why)
        elif f.startswith("sync"):
            notes.append(_sync_note(spec, co, r, A, B, pr, drift))
        elif "page cache" in f:
            notes.append("%s: predicted %s, measured %s (mincore). Write faults on a shared mapping read ahead "
                         "around the faulting page like read faults (read_ahead_kb %d KiB): beyond the data the "
                         "cache holds zero-filled pages of the reserved space, how many depends on the readahead "
                         "window's state at the last fault." % (f, M.fmt_bytes(p), M.fmt_bytes(m),
                                                                  co.read_ahead // 1024))
        elif f.startswith("read rate"):
            notes.append(_read_note(spec, co, r, A))
        elif f.startswith("device"):
            notes.append(_device_note(spec, r, A, B))
        elif f.startswith("rate held"):
            if B and B["append_bps"] < A["append_bps"]:
                notes.append("%s: phase A sustained %s unthrottled, yet the paced phase reached only %s: its syncs "
                             "were slower (p50 %s, mean %s against %s, %s back to back), so at this headroom the "
                             "rate is not held." % (f, M.fmt_rate(A["append_bps"]), M.fmt_rate(B["append_bps"]),
                                                    M.fmt_ns(B["sync_p50_ns"]), M.fmt_ns(B["sync_mean_ns"]),
                                                    M.fmt_ns(A["sync_p50_ns"]), M.fmt_ns(A["sync_mean_ns"])))
            else:
                notes.append("%s: the paced phase could not hold the target: the machine is short of it "
                             "(see headroom)." % f)
        else:
            notes.append("%s: predicted %s, measured %s — the policy replay and the library disagree; "
                         "this is a bug in the model." % (f, p, m))
    return notes
