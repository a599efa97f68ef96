"""report.md of a results folder: charts, context, noise, findings, capacity
model per workload spec (and the validation tables found next to it)."""
import math
import os
import statistics
import time

from . import charts as C
from . import data as D
from . import explain as E
from . import files
from . import judge as J
from . import model as M
from . import validate as V


def _ratio_text(a, b):
    if not a or not b:
        return "n/a"
    r = a / b
    return "%.1fx" % r if r >= 0.995 else "%.2fx" % r


# ---------------------------------------------------------------------------
# Context and noise
# ---------------------------------------------------------------------------
def context_section(res):
    ctx, gb = res.context or {}, res.gb_context or {}
    lines = ["## Machine and run", ""]
    if not ctx:
        lines.append("_No context.json in this folder: only Google Benchmark's own context is shown._")
        lines.append("")
    rows = []

    def flat(prefix, d):
        for k, v in d.items():
            if isinstance(v, dict):
                flat(prefix + k + ".", v)
            elif isinstance(v, list):
                if v and not isinstance(v[0], (dict, list)):
                    rows.append((prefix + k, ", ".join(str(x) for x in v)))
            else:
                rows.append((prefix + k, v))

    flat("", ctx)
    for k in ("host_name", "num_cpus", "mhz_per_cpu", "library_build_type", "mmf_profile", "mmf_bench_fs",
              "load_avg"):
        if k in gb and not any(r[0].endswith(k) for r in rows):
            v = gb[k]
            rows.append(("benchmark " + k, ", ".join("%.2f" % x for x in v) if isinstance(v, list) else v))
    rows.append(("page-cache readahead used by the model", "%d KiB" % (res_readahead(res) // 1024)))
    lines += ["| | |", "|---|---|"] + ["| %s | %s |" % (k, str(v).replace("|", "/")) for k, v in rows]
    lines.append("")
    lines.append("Drivers found: %s." % (", ".join(res.drivers) or "none"))
    if res.skipped:
        lines.append("")
        lines.append("Rows the harness skipped (their charts and findings leave them out):")
        seen = set()
        for n, e in res.skipped:
            if n not in seen:
                seen.add(n)
                lines.append("- `%s`: %s" % (n, e))
    return lines


def res_readahead(res):
    return M.read_ahead_bytes(res)


def noise_section(res, chart):
    lines = ["## Noise of the harness", ""]
    cvs = [(b, b.cv()) for b in res.benches if not b.error and b.cv() is not None]
    if not cvs:
        return lines + ["_No repetitions in this folder, so no noise figure._"]
    reps = sorted({b.n for b, _ in cvs})
    allc = [c for _, c in cvs]
    lines.append("Coefficient of variation (stdev / mean of the repetitions' real time) of %d benchmarks, "
                 "%s repetitions each: median **%.1f %%**, %d above 10 %%, %d above 25 %%." % (
                     len(cvs), "/".join(str(r) for r in reps), 100 * statistics.median(allc),
                     sum(c > 0.10 for c in allc), sum(c > 0.25 for c in allc)))
    lines.append("")
    lines.append("| driver | benchmarks | median CV | worst CV | worst row |")
    lines.append("|---|---:|---:|---:|---|")
    for drv in sorted({b.driver for b, _ in cvs}):
        mine = [(b, c) for b, c in cvs if b.driver == drv]
        worst = max(mine, key=lambda x: x[1])
        lines.append("| %s | %d | %.1f %% | %.0f %% | `%s` |" % (
            drv, len(mine), 100 * statistics.median([c for _, c in mine]), 100 * worst[1], worst[0].run_name))
    warm = [x["cpu_us"] / x["real_us"] for b in res.select("BM_Read", cache="warm") for x in b.reps
            if x.get("cpu_us") and x.get("real_us")]
    if warm:
        lines += ["", "How much of a CPU the benchmarks got: the warm BM_Read rows do no I/O, so their CPU time "
                  "should equal their wall time; here it was a median **%.0f %%** of it (quartiles %.0f-%.0f %%): "
                  "the rest of the time they waited for a CPU held by other users of this machine." % (
                      100 * statistics.median(warm), 100 * sorted(warm)[len(warm) // 4],
                      100 * sorted(warm)[3 * len(warm) // 4])]
    if chart:
        lines += ["", "![noise](%s)" % chart]
    lines += ["", "<details><summary>CV of every benchmark (%d)</summary>" % len(cvs), "",
              "| benchmark | repetitions | median time per iteration | CV |", "|---|---:|---:|---:|"]
    for b, c in sorted(cvs, key=lambda x: (x[0].driver, x[0].run_name)):
        lines.append("| `%s` | %d | %s | %.1f %% |" % (
            b.run_name.replace("/real_time", ""), b.n, M.fmt_ns(b.median("real_us") * 1e3), 100 * c))
    lines += ["", "</details>"]
    lines += ["", "A difference between two rows smaller than about twice their CV is not a finding. "
              "Cold-cache and sync rows are the noisiest: they wait on a virtual disk shared with the other "
              "users of this machine."]
    return lines


# ---------------------------------------------------------------------------
# Findings (generated from the numbers)
# ---------------------------------------------------------------------------
def findings(res, co):
    out = []
    # reads: mmap (bytes) vs pread
    for cache in ("warm", "cold"):
        for order in ("seq", "rand"):
            pairs = []
            for b in res.select("BM_Read", api="bytes", cache=cache, order=order, madv="normal"):
                p = res.one("BM_Read", api="pread", cache=cache, order=order, rec=b["rec"])
                if p and C._bps(b) and C._bps(p):
                    pairs.append((int(b["rec"]), C._bps(b) / C._bps(p), b.cv(), p.cv()))
            if not pairs:
                continue
            pairs.sort()

            def side(x, a, b):
                # a ratio within twice the pair's CV is not a win
                noise = math.log(1 + 2 * max(a or 0, b or 0))
                return "tie" if abs(math.log(x)) <= noise else "mmap" if x > 1 else "pread"
            sides = {}
            for r, x, a, b in pairs:
                sides.setdefault(side(x, a, b), []).append(M.fmt_bytes(r))
            txt = ", ".join("%s %s" % (M.fmt_bytes(r), _ratio_text(x, 1)) for r, x, _, _ in pairs)
            noisy = max((max(a or 0, b or 0) for _, _, a, b in pairs), default=0)
            if len(sides) == 1:
                k = list(sides)[0]
                verdict = "within the noise at every size" if k == "tie" else "%s wins at every size" % k
            else:
                verdict = "; ".join("%s at %s" % ({"mmap": "mmap wins", "pread": "pread wins",
                                                   "tie": "within the noise"}[k], ", ".join(v))
                                    for k, v in sorted(sides.items()))
            out.append("**Reads, %s cache, %s**: %s (mmf_bytes / pread throughput: %s; worst CV of the pair %.0f %%)."
                       % (cache, "sequential" if order == "seq" else "random", verdict, txt, 100 * noisy))
    mr = [(b, res.one("BM_Read", api="bytes", cache="cold", order=b["order"], madv="normal", rec=b["rec"]))
          for b in res.select("BM_Read", api="bytes", cache="cold", madv="random")]
    mr = [(r, n) for r, n in mr if n and C._bps(r) and C._bps(n)]
    if mr:
        out.append("**MADV_RANDOM on cold mmap reads**: " + ", ".join(
            "%s %s: %s of MADV_NORMAL" % (r["order"], M.fmt_bytes(int(r["rec"])), _ratio_text(C._bps(r), C._bps(n)))
            for r, n in sorted(mr, key=lambda x: (x[0]["order"], int(x[0]["rec"])))) + ".")
    # writes
    for rec in sorted({int(b["rec"]) for b in res.select("BM_Write", sync="never")}):
        g = lambda api, opts: res.one("BM_Write", api=api, opts=opts, sync="never", rec=str(rec))  # noqa: E731
        lib, seed, wr, lim = g("allocate_slice", "default"), g("allocate_slice", M.SEED_COMPAT), \
            g("write", "none"), g("memcpy_limit", "none")
        if lib and wr and lim and C._bps(lib) and C._bps(wr) and C._bps(lim):
            s = ("**Appends of %s records, no sync**: mmf_allocate_slice %s, %s write(2) (%s), "
                 "%.0f %% of the memcpy limit (%s)" % (
                     M.fmt_bytes(rec), M.fmt_rate(C._bps(lib)), _ratio_text(C._bps(lib), C._bps(wr)),
                     M.fmt_rate(C._bps(wr)), 100 * C._bps(lib) / C._bps(lim), M.fmt_rate(C._bps(lim))))
            if seed and C._bps(seed):
                s += "; the seed's options: %s (%s of the defaults)" % (
                    M.fmt_rate(C._bps(seed)), _ratio_text(C._bps(seed), C._bps(lib)))
            out.append(s + ".")
    # growth
    grows = [b for b in res.select("BM_Growth", api="append_buffer") if C._bps(b)]
    if grows:
        per = {b["policy"]: b for b in grows if b["flags"] == "reserve"}
        dflt = [b for b in grows if b.label == "default"]
        seed = [b for b in grows if M.is_seed_compat(b.label)]
        s = "**Growth policies (4 KiB appends from 1 MiB, flags reserve)**: " + ", ".join(
            "%s %s (%s per append, %d grows to %s)" % (
                p, M.fmt_rate(C._bps(b)), M.fmt_ns(b.median("real_us") * 1e3), b.median("grows") or 0, b["to"])
            for p, b in sorted(per.items(), key=lambda kv: -C._bps(kv[1])))
        if dflt and seed:
            s += "; the defaults append %s as fast as seed-compat (%s, which msyncs before every grow)" % (
                _ratio_text(C._bps(dflt[0]), C._bps(seed[0])), M.fmt_rate(C._bps(seed[0])))
        fit, src = co.grow_fit("reserve")
        if fit:
            s += ". One grow with MMF_RESERVE costs about %.0f µs + %.2f ms per GiB (fit of %s)" % (
                fit[0], fit[1] * (1 << 30) / 1e3, src)
        out.append(s + ".")
    # sync
    ms = {int(b["dirty"]): b for b in res.select("BM_Sync", call="mmf_sync")}
    fd = {int(b["dirty"]): b for b in res.select("BM_Sync", call="fdatasync")}
    if ms:
        d0 = min(ms)
        s = "**Sync**: mmf_sync with %d dirty page%s p50 %s / p99 %s" % (
            d0, "s" if d0 > 1 else "", M.fmt_ns(ms[d0].median("p50_ns")), M.fmt_ns(ms[d0].median("p99_ns")))
        if d0 in fd:
            s += " against fdatasync's %s / %s" % (M.fmt_ns(fd[d0].median("p50_ns")), M.fmt_ns(fd[d0].median("p99_ns")))
        ap = [b for b in res.select("BM_Write", api="allocate_slice", opts="default", sync="1")
              if b.has("sync_p50_ns")]
        if ap:
            s += "; right after an append into reserved space (BM_Write sync:1) p50 %s / p99 %s" % (
                M.fmt_ns(statistics.median(b.median("sync_p50_ns") for b in ap)),
                M.fmt_ns(statistics.median(b.median("sync_p99_ns") for b in ap)))
        d1 = max(ms)
        if d1 != d0:
            s += "; at %d pages (%s) p50 %s, so about %s per extra MiB" % (
                d1, M.fmt_bytes(d1 * 4096), M.fmt_ns(ms[d1].median("p50_ns")),
                M.fmt_ns((ms[d1].median("p50_ns") - ms[d0].median("p50_ns")) / ((d1 - d0) * 4096 / M.MiB)))
        out.append(s + ".")
    else:
        ws = [b for b in res.select("BM_Write", api="allocate_slice", opts="default", sync="1") if b.has("sync_p50_ns")]
        if ws:
            out.append("**Sync after each append** (BM_Write, no BM_Sync rows): mmf_sync p50 %s, p99 %s." % (
                M.fmt_ns(ws[0].median("sync_p50_ns")), M.fmt_ns(ws[0].median("sync_p99_ns"))))
    # larger than memory
    lt = [b for b in C.ltm_rows(res) if b.median("items_per_second")]
    if lt:
        best = max(lt, key=lambda b: b.median("items_per_second"))
        worst = min(lt, key=lambda b: b.median("items_per_second"))
        amp = worst.median("io_amplification")
        out.append("**Larger than memory** (%s file, %s cgroup limit): %s" % (
            best["file"] or "?", best["limit"] or "?", ", ".join(
                "%s %.0f reads/s (p50 %s)" % (ltm_label(b), b.median("items_per_second"), M.fmt_ns(b.median("p50_ns")))
                for b in sorted(lt, key=lambda b: -b.median("items_per_second")))) +
            "; the best is %s the worst. %s has a read amplification of %s (bytes read from the disk per byte "
            "asked for): with MADV_NORMAL each fault on "
            "the mapping reads ahead around the faulting page (read_ahead_kb is %d KiB here), so a random 4 KiB "
            "read drags megabytes through a page cache that cannot hold them and evicts pages still needed; "
            "MADV_RANDOM and pread read only the page asked for." % (
                _ratio_text(best.median("items_per_second"), worst.median("items_per_second")), ltm_label(worst),
                "%.0fx" % amp if amp and amp > 0 else "(no io counter)", co.read_ahead // 1024))
    return out


def ltm_label(b):
    return C.ltm_label(b)


# ---------------------------------------------------------------------------
# Device work (issue 12): what reached the disk
# ---------------------------------------------------------------------------
SCENARIOS = D.SYNC_SCENARIOS


def _kib(v):
    return "n/a" if v is None or v < 0 else "%.1f" % (v / 1024)


def _amp(b, own, dev):
    """Median own counter when counted (>= 0), else the device-wide one."""
    v = b.median(own)
    if v is not None and v >= 0:
        return v
    return b.median(dev)


def device_rows(res):
    """The rows whose device write counters compare revisions (judge.py's
    selection): BM_Write rows that sync, every BM_Sync row."""
    return [b for b in res.benches if b.has("dev_write_bytes") and J.device_row(b.run_name)]


def device_section(res):
    rows = device_rows(res)
    if not rows:
        return ["_No device counters in this folder (runs before issue 12 §1)._", ""]
    L = []
    sc = [b for b in rows if b["scenario"] and b["folios"] == "small"]
    if sc:
        L += ["Write amplification per scenario (`BM_Sync/scenario:*`: each record appended, then synced), "
              "with the fix (default options, `folios:small`) and without it (`MMF_KEEP_FOLIOS`, "
              "`folios:keep`). Bytes per sync: this process's own bios when counted, else device-wide; "
              "amplification = those bytes ÷ the record; goal ≤ 2 × the record in 4 KiB pages.", "",
              "| scenario | rec | KiB/sync fix | KiB/sync keep | write amp fix | write amp keep | goal ratio fix "
              "| goal ratio keep | largest folio KiB fix / keep |", "|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
        for rec in sorted({int(b["rec"]) for b in sc}):
            for name in SCENARIOS:
                f = res.one("BM_Sync", scenario=name, rec=str(rec), folios="small")
                k = res.one("BM_Sync", scenario=name, rec=str(rec), folios="keep")
                if f is None:
                    continue
                cell = lambda b, fn: fn(b) if b is not None else "n/a"  # noqa: E731
                per = lambda b: _kib(_amp(b, "own_write_bytes_per_sync", "dev_write_bytes_per_sync"))  # noqa: E731
                amp = lambda b: "%.1fx" % _amp(b, "own_write_amp", "write_amp")  # noqa: E731
                goal = lambda b: "%.2f" % b.median("goal_ratio") if b.has("goal_ratio") else "n/a"  # noqa: E731
                folio = lambda b: "%.0f" % b.median("folio_max_kib") if b.has("folio_max_kib") else "n/a"  # noqa: E731
                L.append("| %s | %d | %s | %s | %s | %s | %s | %s | %s / %s |" % (
                    name, rec, per(f), cell(k, per), amp(f), cell(k, amp), goal(f), cell(k, goal),
                    folio(f), cell(k, folio)))
        L.append("")
    L += ["<details><summary>Device counters of every row that syncs (%d): medians per iteration (a record "
          "in BM_Write and the scenarios, a sync in the BM_Sync call rows)</summary>" % len(rows), "",
          "| benchmark | dev KiB written | own KiB written | write_amp | own_write_amp | dirty_amp |",
          "|---|---:|---:|---:|---:|---:|"]
    for b in sorted(rows, key=lambda b: b.run_name):
        it = b.median("iterations") or 1
        per = lambda k: _kib(b.median(k) / it if (b.median(k) or 0) >= 0 else -1)  # noqa: E731
        am = lambda k: "n/a" if (b.median(k) is None or b.median(k) < 0) else "%.2f" % b.median(k)  # noqa: E731
        L.append("| `%s` | %s | %s | %s | %s | %s |" % (
            b.run_name.split("/iterations")[0].replace("/real_time", ""), per("dev_write_bytes"),
            per("own_write_bytes"), am("write_amp"), am("own_write_amp"), am("dirty_amp")))
    L += ["", "</details>", "",
          "dev = the whole disk's counters (`/sys/block/<disk>/stat`: the journal and every other process "
          "included), own = this process's bios (root + cgroup v1 blkio; −1 = not counted), dirty = page "
          "cache this process dirtied (bench/README.md \"Device work\").", ""]
    return L


# ---------------------------------------------------------------------------
# Capacity model section
# ---------------------------------------------------------------------------
def _shown(path):
    """A spec's path: relative to the repository when inside it."""
    rel = os.path.relpath(os.path.abspath(path), V.top())
    return path if rel.startswith("..") else rel


def spec_section(spec, co, validation=None):
    L = ["### %s" % spec.name, "", spec.description, "",
         "Spec `%s`: %s records via `mmf_%s` at %s, sync %s, roll at %s, growth %s%s." % (
             _shown(spec.path) if spec.path else "(flags)", M.fmt_bytes(spec.rec), spec.api,
             M.fmt_rate(spec.rate_bps), spec.sync_text(), M.fmt_bytes(spec.roll), spec.policy_text(),
             (", %g %s reads of %s per record (%s, %s cache, %s set)" % (
                 spec.reads_per_record, spec.read_order, M.fmt_bytes(spec.read_rec), spec.read_api, spec.read_cache,
                 M.fmt_bytes(spec.read_set)) if spec.reads_per_record else "")), ""]
    co.sources = {}         # the coefficients this spec uses, and only those
    p = M.predict(spec, co)
    if p.get("missing"):
        return L + ["_Not predicted: the results lack rows for %s._" % ", ".join(p["missing"]), ""]
    if not p["rate_bps"]:
        return L + ["_Not sustainable: %s._" % model_summary(spec, co).split(": ", 1)[1], ""]
    hr = p["headroom"]
    n_sync = max([int(b.median("samples") or 0) for b in co.res.select("BM_Sync", call="mmf_sync")] or [0])
    verdict = ("enough: %.1fx headroom" % hr if hr >= 1.5 else
               "tight: %.2fx headroom, under the harness's noise margin" % hr if hr >= 1 else
               "**not enough**: the machine sustains %.0f %% of the requested rate" % (100 * hr))
    L += ["| prediction | value | from |", "|---|---:|---|",
          "| sustainable append rate | %s (%.0f records/s) | copy %.2f µs + growth %.2f µs + sync %.2f µs%s per record |" % (
              M.fmt_rate(p["rate_bps"]), p["rate_bps"] / spec.rec, p["copy_us"],
              p["grow_us_file"] / max(1, p["sim"]["data"] // spec.rec),
              (spec.rec / p["rate_bps"] * 1e6) - p["per_rec_us"],
              (" + reads %.2f µs" % (spec.reads_per_record * p["read_us"])) if spec.reads_per_record else ""),
          "| headroom at %s | %.2fx — %s | |" % (M.fmt_rate(spec.rate_bps), hr, verdict),
          "| sync latency p50 / p99 / p999 | %s / %s / %s | %d dirty page%s per sync%s |" % (
              M.fmt_ns(p["sync_p50_ns"]), M.fmt_ns(p["sync_p99_ns"]),
              M.fmt_ns(p["sync_p999_ns"]) if n_sync >= C.MIN_SAMPLES["p999"] else "n/a",
              p["dirty_pages"], "s" if p["dirty_pages"] > 1 else "",
              "; the BM_Sync rows have at most %d sync calls per repetition: p999 needs %d" % (
                  n_sync, C.MIN_SAMPLES["p999"]) if n_sync < C.MIN_SAMPLES["p999"] else ""),
          "| file size at roll (mapped) | %s | %s of data + %s over-allocated |" % (
              M.fmt_bytes(p["size"]), M.fmt_bytes(p["sim"]["data"]), M.fmt_bytes(p["overalloc"])),
          "| remaps per file | %d | the open's mapping + %d grows |" % (p["remaps"], p["remaps"] - 1),
          "| disk used by the active file at roll | %s | %s |" % (
              M.fmt_bytes(p["disk_at_roll"]), "MMF_RESERVE allocates the whole size" if "reserve" in spec.flags
              else "sparse: only written pages"),
          "| disk used, %d file%s kept | %s | rolled files %s |" % (
              spec.files_kept, "s" if spec.files_kept > 1 else "", M.fmt_bytes(p["disk_total"]),
              "truncated to their data" if spec.truncate_on_roll else "keep their over-allocation"),
          "| page cache of the active file at roll | %s | data + readahead of %s around write faults%s |" % (
              M.fmt_bytes(p["cache_file"]), M.fmt_bytes(co.read_ahead),
              ", all populated" if "populate" in spec.flags else ""),
          "| page cache, all kept files + reads | %s | while memory allows |" % M.fmt_bytes(p["cache_total"]),
          "| mapped memory | %s | the active file%s |" % (
              M.fmt_bytes(p["mapped"]), " + the read set" if p["mapped"] > p["size"] else ""),
          "| dirty memory before a sync | %s | |" % M.fmt_bytes(p["dirty_max"]),
          "| time to fill one file | %s | |" % (M.fmt_ns(p["file_seconds"] * 1e9) if p["file_seconds"] else "n/a")]
    if spec.reads_per_record:
        L.append("| read capacity | %.0f reads/s (%.2f µs each) | %s |" % (
            p["read_ops_s"], p["read_us"], co.sources.get("read", "")))
    L += device_lines(spec, p)
    cands, rec = M.candidates(spec, co)
    if cands:
        L += ["", "Growth policies for this workload (same flags, model):", "",
              "| policy | append rate | remaps/file | over-allocation at roll | time growing per file |",
              "|---|---:|---:|---:|---:|"]
        for label, c in cands:
            L.append("| %s%s | %s | %d | %s | %s |" % (
                label, " **(recommended)**" if label == rec else "", M.fmt_rate(c["rate_bps"]), c["remaps"],
                M.fmt_bytes(c["overalloc"]), M.fmt_ns(c["grow_us_file"] * 1e3)))
        alt = M.best_growing(spec, cands)
        L += ["", "Recommended: **%s** — the highest predicted rate within 3 %% (below the noise), then the least "
              "over-allocation and fewest remaps%s. Flags: keep MMF_RESERVE (a full disk is -ENOSPC at grow time, "
              "not SIGBUS); MMF_SYNC_BEFORE_GROW only adds syncs." % (
                  rec, "; when the final size is not known at open, **%s** (mean over-allocation %.0f %% when the "
                  "data stops between half and all of the roll size)" % (alt[0], 100 * alt[1])
                  if alt and alt[0] != rec else "")]
    L += ["", "Coefficients: " + "; ".join("%s: %s" % kv for kv in sorted(co.sources.items())) + "."]
    if validation:
        L += ["", "**Validated** on %s (`scripts/report --validate %s`, load average %s → %s):" % (
            validation["started"], _shown(spec.path) if spec.path else spec.name,
            validation.get("load_before"), validation.get("load_after")), "",
            V.table(validation["rows"])]
        L += ["", "The last column repeats the prediction with every sync latency of up to 256 dirty pages (the "
              "latency-bound range) scaled by what the 3-second probe measured just before the run (1-page syncs "
              "now / in the results folder; paced for the paced rows). It is not the verdict: it tells a model "
              "that is wrong from a disk that changed, as far as a 3-second sample of a noisy disk can."]
        notes = E.explain(spec, co, validation)     # recomputed: the notes follow the current model
        bad = [r for r in validation["rows"] if r["ok"] is False]
        if bad:
            L += ["", "Outside ±25 %: " + "; ".join(r["figure"] for r in bad) + "."]
        L += [""] + ["- " + n for n in notes]
    L.append("")
    return L


def device_lines(spec, p):
    """The spec's device-work rows of the prediction table."""
    if "dev_bytes_per_record" not in p:
        return ["| device writes | n/a | the results have no BM_Write sync rows with device counters |"]
    what = ("this process's bios (not the ext4 journal: +75 % for a sync per 1 KiB record, +9 % for 100 KiB "
            "per sync, measured on a dedicated ext4: bench/README.md)"
            if p["dev_counter"] == "own" else "device-wide bytes of the benchmark rows")
    L = ["| device bytes written per record | %s (write amplification %.2fx) | %.0f record%s per sync; %s |" % (
        M.fmt_bytes(p["dev_bytes_per_record"]), p["dev_write_amp"], p["dev_records_per_sync"],
        "s" if p["dev_records_per_sync"] != 1 else "", what),
         "| device write bandwidth | %s | at %s of appends%s |" % (
             M.fmt_rate(p["dev_rate_bps"]), M.fmt_rate(p["dev_at_bps"]),
             " (the sustainable rate: below the spec's)" if p["dev_at_bps"] < spec.rate_bps else ""),
         "| bytes written per day | %s | |" % fmt_si_bytes(p["dev_bytes_per_day"])]
    if "dwpd" in p:
        L.append("| drive writes per day | %.3f DWPD | %s drive |" % (p["dwpd"], fmt_si_bytes(spec.disk_size)))
    if "dwpd_headroom" in p:
        L.append("| endurance headroom | %.1fx | rated %.2f DWPD%s ÷ %.3f |" % (
            p["dwpd_headroom"], spec.disk_rated_dwpd,
            " (%g TBW over %g years)" % (spec.disk_rated_tbw, spec.disk_years) if spec.disk_rated_tbw else "",
            p["dwpd"]))
    if "tbw_years" in p:
        L.append("| years to the rated TBW | %.1f | %g TBW at %s per day |" % (
            p["tbw_years"], spec.disk_rated_tbw, fmt_si_bytes(p["dev_bytes_per_day"])))
    return L


def fmt_si_bytes(v):
    """Bytes in decimal units, as drives are rated (GB, TB)."""
    for unit, sc in (("TB", 1e12), ("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if v >= sc:
            return "%.2f %s" % (v / sc, unit)
    return "%.0f B" % v


def model_summary(spec, co):
    """One line of the model's main figures for spec: what the README's
    worked example quotes (tests/test_report_readme.py checks the README
    against it, so the README cannot drift from the tool)."""
    p = M.predict(spec, co)
    if p.get("missing"):
        return "not predicted: the results lack rows for %s" % ", ".join(p["missing"])
    if not p["rate_bps"]:
        return "not sustainable: a sync takes longer (mean %.2f ms at %d dirty pages) than the interval" % (
            p["sync_mean_ns"] / 1e6, p["dirty_pages"])
    s = "%s sustainable (%.2f× headroom), sync p50/p99 %.2f/%.2f ms at %d dirty page%s, %d remaps per file" % (
        M.fmt_rate(p["rate_bps"]), p["headroom"], p["sync_p50_ns"] / 1e6, p["sync_p99_ns"] / 1e6,
        p["dirty_pages"], "s" if p["dirty_pages"] > 1 else "", p["remaps"])
    if "dev_bytes_per_record" in p:
        s += "; the disk gets %s per record (%.2f× write amplification), %s, %s per day" % (
            M.fmt_bytes(p["dev_bytes_per_record"]), p["dev_write_amp"], M.fmt_rate(p["dev_rate_bps"]),
            fmt_si_bytes(p["dev_bytes_per_day"]))
        if "dwpd" in p:
            s += ", %.3f drive writes per day on %s" % (p["dwpd"], fmt_si_bytes(spec.disk_size))
        if "dwpd_headroom" in p:
            s += ", endurance headroom %.2f× against its %.2f DWPD rating" % (p["dwpd_headroom"], spec.disk_rated_dwpd)
    return s


def find_validation(dirs, spec):
    """The stored validation of spec (validate/<name>.json) in the first of
    dirs that has one; a corrupt one is refused by name (files.load_json)."""
    for d in dirs:
        p = os.path.join(d, spec.name + ".json")
        if os.path.exists(p):
            v = files.load_json(p, "validation of %s" % spec.name)
            rows = v.get("rows")
            if not (isinstance(rows, list) and rows and all(
                    isinstance(r, dict) and {"figure", "predicted", "measured", "kind", "ok"} <= set(r)
                    for r in rows) and isinstance(v.get("phase_a"), dict)):
                raise files.ResultError("%s: not a validation of scripts/report --validate (no rows of "
                                        "figure/predicted/measured, or no phase_a)" % p)
            return v
    return None


def refresh_validation(spec, co, v):
    """The stored rows, with the predictions of the current model (the
    measurements stay as they were)."""
    if not v:
        return v
    pred = M.predict(spec, co)
    if pred.get("missing"):
        return v
    try:
        for q in ("p50", "p99", "mean"):        # the probe is compared with this folder's model too
            if v.get("probe"):
                v["probe"]["model_%s_ns" % q] = co.sync_ns(1, q)
        v["rows"] = V.compare(spec, co, pred, v["phase_a"], v.get("phase_b"))
        V.add_adjusted(spec, co, v)
    except (KeyError, TypeError, IndexError):
        pass        # written by an older validate: shown as stored
    return v


# ---------------------------------------------------------------------------
# The whole report
# ---------------------------------------------------------------------------
def write(res, specs, outdir, say, validation_dirs=()):
    """Write outdir/report.md and its charts (each file atomically).
    Returns (report path, {chart key: (file, caption)}, [(chart key, why skipped)])."""
    co = M.Coefficients(res)
    validation_dirs = [os.path.join(outdir, "validate")] + [d for d in validation_dirs
                                                           if os.path.abspath(d) != os.path.abspath(
                                                               os.path.join(outdir, "validate"))]
    L = ["# mmapfile capacity-planning report", "",
         "Results folder `%s`, generated %s by `scripts/report`. Every figure is the median of the "
         "benchmark's repetitions; charts are SVG files next to this one." % (
             os.path.basename(os.path.abspath(res.path)), time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())), ""]
    made, skipped = {}, []
    for key, fn in (("read", lambda: C.read_chart(res, outdir)), ("write", lambda: C.write_chart(res, outdir)),
                    ("growth", lambda: C.growth_chart(res, co, outdir)), ("sync", lambda: C.sync_chart(res, outdir)),
                    ("ltm", lambda: C.ltm_chart(res, outdir)), ("noise", lambda: C.noise_chart(res, outdir))):
        say("chart: %s" % key)
        name, cap = fn()
        if name:
            made[key] = (name, cap)
        else:
            skipped.append((key, cap))
    fnd = findings(res, co)
    L += ["## Findings", ""] + (["- " + f for f in fnd] if fnd else ["_No rows to compare._"]) + [""]
    titles = {"read": "Reading: mmap vs pread", "write": "Appending", "growth": "Growth policies",
              "sync": "Sync latency", "ltm": "Larger than memory"}
    for key in ("read", "write", "growth", "sync", "ltm"):
        L += ["## %s" % titles[key], ""]
        if key in made:
            L += ["![%s](%s)" % (made[key][1], made[key][0]), "", made[key][1], ""]
        else:
            L += ["_Chart skipped: %s._" % dict(skipped)[key], ""]
    L += ["## Device work", ""] + device_section(res)
    L += ["## Capacity model", "",
          "Each workload spec below is turned into predictions from this folder's coefficients "
          "(see `scripts/mmfresults/model.py`): the append cost per record without growth (BM_Write), the cost of "
          "each grow (a fit of BM_Growth), the sync latency at the workload's dirty size (BM_Sync scaled by the "
          "append factor from BM_Write) and the read cost (BM_Read). Sizes and remaps replay the growth policy "
          "exactly. `scripts/report --validate SPEC` runs a spec for real and prints predicted vs measured.", ""]
    for spec in specs:
        say("capacity model: %s" % spec.name)
        L += spec_section(spec, co, refresh_validation(spec, co, find_validation(validation_dirs, spec)))
    L += noise_section(res, made.get("noise", (None,))[0]) + [""]
    L += context_section(res) + [""]
    path = os.path.join(outdir, "report.md")
    files.write_text(path, "\n".join(L).rstrip() + "\n")
    return path, made, skipped
