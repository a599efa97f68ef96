"""Why a validated figure is off: notes generated from what the run and the
coefficients show (load, the noise of the rows the prediction came from,
sample counts), one per figure outside the tolerance, plus the conditions."""
from . import model as M


def _cv_of(res, family, **keys):
    rows = res.select(family, **keys)
    cvs = [b.cv() for b in rows if b.cv() is not None]
    return max(cvs) if cvs else None


def explain(spec, co, out):
    res = co.res
    notes = []
    la, lb = out.get("load_before"), out.get("load_after")
    A, B = out["phase_a"], out.get("phase_b")
    if la is not None:
        notes.append("Load average %.2f before, %.2f after the run on 2 shared CPUs%s." % (
            la, lb or 0, " — other users were busy; rates and latencies measured now differ from the "
            "benchmark's" if max(la, lb or 0) > 1.5 else ""))
    for r in out["rows"]:
        if r["ok"] is not False:
            continue
        f, p, m = r["figure"], r["predicted"], r["measured"]
        over = p > m
        if f.startswith("sustainable append rate") or f.startswith("headroom"):
            cv = _cv_of(res, "BM_Write", api=spec.api, opts="default")
            why = ("%s: the model %s. Its append cost comes from BM_Write rows whose CV reached %s; " % (
                f, "is optimistic" if over else "is pessimistic", "%.0f %%" % (100 * cv) if cv else "n/a"))
            if spec.records_per_sync or spec.sync_interval_s:
                why += ("the rate is bound by sync latency, which on this virtual disk moves with every other "
                        "writer on the host (phase A measured sync p50 %s, mean %s over %d syncs)" % (
                            M.fmt_ns(A["sync_p50_ns"]), M.fmt_ns(A["sync_mean_ns"]), A["syncs"]))
            else:
                why += ("the rate is bound by writing %s of dirty pages back at each roll (the sync latency "
                        "model extrapolates BM_Sync's 4096-page row linearly; measured roll sync p50 %s)" % (
                            M.fmt_bytes(spec.roll), M.fmt_ns(A["sync_p50_ns"])))
            notes.append(why + ".")
        elif f.startswith("sync latency"):
            n = (B or A)["syncs"]
            notes.append("%s: predicted %s, measured %s over %d syncs. The sync coefficients are the medians of "
                         "BM_Sync/BM_Write repetitions taken at another moment; fdatasync on ext4 waits for a "
                         "journal commit shared with every other writer of the filesystem, so its tail (and on a "
                         "busy host its median) follows the neighbours%s." % (
                             f, M.fmt_ns(p), M.fmt_ns(m), n,
                             "; with so few samples p99 is nearly the maximum" if n < 200 else ""))
        elif "page cache" in f:
            notes.append("%s: predicted %s, measured %s (mincore). Write faults on a shared mapping read ahead "
                         "around the faulting page like read faults (read_ahead_kb %d KiB): beyond the data the "
                         "cache holds zero-filled pages of the reserved space, how many depends on the readahead "
                         "window's state at the last fault." % (f, M.fmt_bytes(p), M.fmt_bytes(m),
                                                                  co.read_ahead // 1024))
        elif f.startswith("read rate"):
            cv = _cv_of(res, "BM_Read", api=spec.read_api, cache="warm", order=spec.read_order)
            notes.append("%s: the benchmark reads a 64 MiB file, the workload a %s set interleaved with appends "
                         "(more TLB and cache misses per read; BM_Read CV up to %s)." % (
                             f, M.fmt_bytes(spec.read_set), "%.0f %%" % (100 * cv) if cv else "n/a"))
        elif f.startswith("rate held"):
            notes.append("%s: the paced phase could not hold the target: the machine is short of it (see headroom)."
                         % f)
        else:
            notes.append("%s: predicted %s, measured %s — the policy replay and the library disagree; "
                         "this is a bug in the model." % (f, p, m))
    return notes
