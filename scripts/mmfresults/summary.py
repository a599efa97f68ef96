"""The benchmark summary and run context of scripts/bench (commands context, summary, check-drivers).

  context DIR --profile P --reps N ...     write DIR/context.json
  summary DIR [--write FILE] [--stage NAME] [--drivers LIST] [--failed-driver D=WHY]...
                                           print the one-screen summary
  check-drivers DIR [--drivers LIST]       per driver its repetitions (the smoke check)

The summary reads the run folder through data.load (the one Google Benchmark
reader: a truncated or corrupt JSON is refused by name, exit 1), takes the
MEDIAN over the per-repetition rows of each benchmark, and prints the ratios
that matter, all computed inside this one run; then a line per driver and
every failed and skipped benchmark (grouped by message, none left out).

Verdict (also the stage record DIR/NAME.json with --stage, counts drivers,
benchmarks, repetitions, failed, failed_drivers, skipped, and "files": the
driver JSON it read, which every reader of the folder then requires): fail when a
benchmark or a driver failed or nothing ran (exit 1); skipped when every
benchmark was skipped with a reason (exit 77); pass otherwise (exit 0).
Benchmark names: bench/README.md.
"""
import os
import platform
import socket
import subprocess
import sys
import time

from . import data, files
from .runfolder import parser, key_values


def med(res, family, metric, **want):
    """Median of metric over the repetitions of the first benchmark matching want."""
    b = res.one(family, **want)
    return None if b is None else b.median(metric)


def ratio(a, b):
    return None if a is None or b in (None, 0) else a / b


def fx(v, width=8, fmt="{:.2f}x"):
    return ("-" if v is None else fmt.format(v)).rjust(width)


def si(v, width=8):
    """1234567 -> '1.23M'."""
    if v is None:
        return "-".rjust(width)
    for unit, div in (("G", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(v) >= div:
            return f"{v / div:.3g}{unit}".rjust(width)
    return f"{v:.3g}".rjust(width)


def ms(ns, width=8):
    if ns is None:
        return "-".rjust(width)
    v = ns / 1e6
    return (f"{v:.0f}" if v >= 1000 else f"{v:.3g}").rjust(width)


def section_read(res, out):
    recs = sorted({int(b["rec"]) for b in res.select("BM_Read")})
    if not recs:
        return
    ips = "items_per_second"
    out.append("READ  mmap (mmf_bytes) / pread, ratio of median records/s (>1: mmap faster)")
    out.append(f"  {'rec':>8} {'warm/seq':>9} {'warm/rand':>9} {'cold/seq':>9} {'cold/rand':>9}"
               f" {'cold/rand':>9} {'cold/rand':>9}")
    out.append(f"  {'':>8} {'':>9} {'':>9} {'':>9} {'':>9} {'+MADV_RND':>9} {'pread/s':>9}")
    for rec in recs:
        cells = []
        for cache, order in (("warm", "seq"), ("warm", "rand"), ("cold", "seq"), ("cold", "rand")):
            m = med(res, "BM_Read", ips, api="bytes", cache=cache, order=order, madv="normal", rec=rec)
            p = med(res, "BM_Read", ips, api="pread", cache=cache, order=order, rec=rec)
            cells.append(fx(ratio(m, p), 9))
        m = med(res, "BM_Read", ips, api="bytes", cache="cold", order="rand", madv="random", rec=rec)
        p = med(res, "BM_Read", ips, api="pread", cache="cold", order="rand", rec=rec)
        cells.append(fx(ratio(m, p), 9))
        cells.append(si(p, 9))
        out.append(f"  {rec:>8} " + " ".join(cells))
    line = []
    for api in ("slice", "mmap_memcpy", "read"):
        order = "seq"
        a = med(res, "BM_Read", ips, api=api, cache="warm", order=order,
                       madv="none" if api == "read" else "normal", rec=4096)
        p = med(res, "BM_Read", ips, api="pread", cache="warm", order=order, rec=4096)
        line.append(f"{api}/pread {fx(ratio(a, p), 0).strip()}")
    out.append("  warm/seq rec 4096: " + ", ".join(line))
    amp = med(res, "BM_Read", "io_amplification", api="bytes", cache="cold", order="rand",
                     madv="normal", rec=4096)
    amp_r = med(res, "BM_Read", "io_amplification", api="bytes", cache="cold", order="rand",
                       madv="random", rec=4096)
    if amp is not None:
        out.append(f"  cold/rand rec 4096: disk bytes per byte read {amp:.2f} (MADV_NORMAL) vs "
                   f"{fx(amp_r, 0, '{:.2f}').strip()} (MADV_RANDOM)")
    section_read_direct(res, out)


# The cold random reads a user would pick instead of mmap (issue 12 section 5):
# (label, keys) per api, in the order of the tables. O_DIRECT rows of both
# drivers; madv:none for every non-mmap row.
DIRECT_APIS = (("O_DIRECT pread", dict(api="pread_direct")),
               ("io_uring qd1", dict(api="io_uring_direct", qd=1)),
               ("io_uring qd32", dict(api="io_uring_direct", qd=32)))


def pressure_cells(res, family, **kw):
    """TLB shootdowns per read, PSI memory and io 'some' % of one row (medians); '-' when absent (-1)."""
    def cell(metric, fmt, width):
        v = med(res, family, metric, **kw)
        return ("-" if v is None or v < 0 else fmt.format(v)).rjust(width)
    return (cell("tlb_shootdowns_per_read", "{:.3f}", 9) + cell("psi_memory_some_pct", "{:.1f}", 8)
            + cell("psi_io_some_pct", "{:.1f}", 7))


def skipped_note(res, family, api, out):
    """One line per reason the rows of api were skipped (e.g. io_uring disabled)."""
    why = sorted({m for n, m in res.skipped if n.startswith(family + "/") and f"/api:{api}/" in n})
    out.extend(f"  {api} rows skipped: {m}" for m in why)


def section_read_direct(res, out):
    cold = dict(cache="cold", order="rand")
    recs = sorted({int(b["rec"]) for b in res.select("BM_Read", api="pread_direct", **cold)}
                  | {int(b["rec"]) for b in res.select("BM_Read", api="io_uring_direct", **cold)})
    if not recs:
        skipped_note(res, "BM_Read", "io_uring_direct", out)
        return
    ips = "items_per_second"
    out.append("READ cold/rand: what a user would pick instead of mmap (Crotty/Leis/Pavlo CIDR 2022:"
               " O_DIRECT + async I/O), ratios of median records/s")
    out.append(f"  {'rec':>8} {'pread/s':>8} {'direct':>8} {'uring1':>8} {'uring32':>8}"
               f" {'mmap':>8} {'mmap':>8} {'mmap+RND':>8} {'mmap+RND':>8}")
    out.append(f"  {'':>8} {'':>8} {'/pread':>8} {'/pread':>8} {'/pread':>8}"
               f" {'/direct':>8} {'/uring32':>8} {'/direct':>8} {'/uring32':>8}")
    for rec in recs:
        p = med(res, "BM_Read", ips, api="pread", rec=rec, **cold)
        d, u1, u32 = (med(res, "BM_Read", ips, rec=rec, **kw, **cold) for _, kw in DIRECT_APIS)
        m = med(res, "BM_Read", ips, api="bytes", madv="normal", rec=rec, **cold)
        mr = med(res, "BM_Read", ips, api="bytes", madv="random", rec=rec, **cold)
        out.append(f"  {rec:>8} {si(p, 8)} " + " ".join(fx(ratio(a, b), 8) for a, b in (
            (d, p), (u1, p), (u32, p), (m, d), (m, u32), (mr, d), (mr, u32))))
    out.append(f"  rec 4096 {'':<16} {'p50 ms':>8} {'p99 ms':>8} {'TLB/read':>9} {'PSI mem%':>8} {'io%':>7}")
    for label, kw in (("mmap MADV_NORMAL", dict(api="bytes", madv="normal")),
                      ("mmap MADV_RANDOM", dict(api="bytes", madv="random")),
                      ("pread", dict(api="pread"))) + DIRECT_APIS:
        out.append(f"  {label:<25} {ms(med(res, 'BM_Read', 'p50_ns', rec=4096, **kw, **cold))}"
                   f" {ms(med(res, 'BM_Read', 'p99_ns', rec=4096, **kw, **cold))}"
                   + pressure_cells(res, "BM_Read", rec=4096, **kw, **cold))
    skipped_note(res, "BM_Read", "io_uring_direct", out)


def section_write(res, out):
    if not res.select("BM_Write"):
        return
    ips = "items_per_second"
    cols = [("slice:def", dict(api="allocate_slice", opts="default")),
            ("slice:seed", dict(api="allocate_slice", opts="seed_compat")),
            ("app:def", dict(api="append_buffer", opts="default")),
            ("app:seed", dict(api="append_buffer", opts="seed_compat")),
            ("app:keep", dict(api="append_buffer", opts="keep_folios")),
            ("write(2)", dict(api="write")),
            ("pwrite(2)", dict(api="pwrite")),
            ("memcpy:lim", dict(api="memcpy_limit"))]
    recs = sorted({int(b["rec"]) for b in res.select("BM_Write")})
    out.append("WRITE  median appends/s: slice = mmf_allocate_slice, app = mmf_append_buffer,"
               " def = default, seed = seed-compat")
    out.append(f"  {'rec':>5} {'sync':>5} " + " ".join(f"{c:>9}" for c, _ in cols)
               + f" {'def/write':>9} {'def/limit':>9} {'seed/def':>8} {'dev KiB/rec':>11}")
    for rec in recs:
        for sync in ("never", "64", "1"):
            vals = [med(res, "BM_Write", ips, rec=rec, sync=sync, **kw) for _, kw in cols]
            if all(v is None for v in vals):
                continue
            own = med(res, "BM_Write", "own_write_amp", rec=rec, sync=sync, **cols[0][1])
            amp = own if own is not None and own >= 0 else \
                med(res, "BM_Write", "write_amp", rec=rec, sync=sync, **cols[0][1])
            out.append(f"  {rec:>5} {sync:>5} " + " ".join(si(v, 9) for v in vals)
                       + fx(ratio(vals[0], vals[5]), 10) + fx(ratio(vals[0], vals[7]), 10)
                       + fx(ratio(vals[1], vals[0]), 9)
                       + fx(None if amp is None else amp * rec / 1024, 12, "{:.1f}"))
    out.append("  app:keep = append_buffer with MMF_KEEP_FOLIOS (no small writes); dev KiB/rec ="
               " slice:def device bytes per record (own_ when counted)")


CALIB_OPS = ("fault_ftruncate", "fault_fallocate", "populate_write", "store_populated",
             "populate_read", "fault_after_read", "write_4k")


def section_appends(res, out):
    """Issue 17: default appends against write(2) by record size, faults per
    MiB and the time they cost (BM_Calib fault_fallocate x faults)."""
    calib = {op: med(res, "BM_Calib", "ns_per_page", op=op) for op in CALIB_OPS}
    if any(v is not None for v in calib.values()):
        out.append("CALIBRATION  ns per 4 KiB page: " + ", ".join(
            f"{op} {v:.0f}" for op, v in calib.items() if v is not None))
    rows = res.select("BM_Write", api="append_buffer", opts="default")
    if not rows or not res.select("BM_Write", api="write"):
        return
    fault_ns = calib.get("fault_fallocate")
    out.append("APPENDS BY SIZE  default options / write(2) (median appends/s ratio; goal"
               " >= 0.8x, 4 KiB >= 1.2x): append_buffer (app) and allocate_slice (slice),"
               " no sync and a sync every 64; faults/MiB and est. % of time in faults, no sync")
    out.append(f"  {'rec':>8} {'app':>7} {'app/64':>7} {'slice':>7} {'slice/64':>9}"
               f" {'keep/def':>9} {'faults/MiB':>11} {'fault %':>8} {'slice f/MiB':>12}"
               f" {'slice f %':>10}")
    for rec in sorted({int(b["rec"]) for b in rows}):
        cells = []
        for api in ("append_buffer", "allocate_slice"):
            for sync in ("never", "64"):
                d = med(res, "BM_Write", "items_per_second", api=api, opts="default",
                        sync=sync, rec=rec)
                w = med(res, "BM_Write", "items_per_second", api="write", sync=sync, rec=rec)
                cells.append(fx(ratio(d, w), 8 if (api, sync) != ("allocate_slice", "64") else 10))
        k = med(res, "BM_Write", "items_per_second", api="append_buffer", opts="keep_folios",
                sync="never", rec=rec)
        d = med(res, "BM_Write", "items_per_second", api="append_buffer", opts="default",
                sync="never", rec=rec)
        faults = []
        for api in ("append_buffer", "allocate_slice"):
            fpm = med(res, "BM_Write", "faults_per_mib", api=api, opts="default",
                      sync="never", rec=rec)
            rate = med(res, "BM_Write", "items_per_second", api=api, opts="default",
                       sync="never", rec=rec)
            share = None
            if fpm is not None and fault_ns and rate:
                share = 100 * fpm * fault_ns * 1e-9 / (1024 * 1024 / rec / rate)
            faults.append((fpm, share))
        (fpm, share), (sfpm, sshare) = faults
        out.append(f"  {rec:>8}" + "".join(cells) + fx(ratio(k, d), 10)
                   + fx(fpm, 12, "{:.0f}") + fx(share, 9, "{:.0f}")
                   + fx(sfpm, 13, "{:.0f}") + fx(sshare, 11, "{:.0f}"))


def section_growth(res, out):
    names = res.select("BM_Growth")
    if not names:
        return
    per = "real_us"   # per-append wall time of the repetition
    mib = lambda b: int((b["to"] or "0MiB")[:-3])
    main = res.select("BM_Growth", policy="double", flags="none", api="append_buffer")
    main_to = max(mib(n) for n in main) if main else None

    def target(**kw):
        """The profile's main target when the row has it, else its smallest."""
        sizes = sorted(mib(n) for n in res.select("BM_Growth", **kw))
        return None if not sizes else f"{main_to if main_to in sizes else sizes[0]}MiB"

    def row(label, **kw):
        to = target(**kw)
        if to is None:
            return
        kw["to"] = to
        t = med(res, "BM_Growth", per, **kw)
        g = [med(res, "BM_Growth", k, **kw) for k in
             ("grows", "remaps", "moves", "grow_ns", "sync_ns", "overalloc_bytes", "minflt")]
        if t is None:
            return
        out.append(f"  {label:<34} {to:>6} {t:>8.3g}us " + " ".join(si(v, 7) for v in g[:3])
                   + f" {ms(g[3], 8)} {ms(g[4], 8)} {si(g[5], 8)} {si(g[6], 7)}")

    out.append("GROWTH  1 MiB -> target by 4 KiB appends (medians; time = wall time per append)")
    out.append(f"  {'options (api)':<34} {'to':>6} {'/append':>10} {'grows':>7} {'remaps':>7}"
               f" {'moves':>7} {'grow ms':>8} {'sync ms':>8} {'overalc':>8} {'minflt':>7}")
    row("default: double+reserve (append)", policy="double", flags="reserve", api="append_buffer")
    row("default (allocate_slice)", policy="double", flags="reserve", api="allocate_slice")
    row("seed-compat (append_buffer)", policy="seed", flags="sync_before_grow", api="append_buffer")
    row("seed-compat (allocate_slice)", policy="seed", flags="sync_before_grow", api="allocate_slice")
    row("exact, no flags (append)", policy="exact", flags="none", api="append_buffer")
    row("chunk+reserve (append)", policy="chunk", flags="reserve", api="append_buffer")
    row("double+reserve+populate (append)", policy="double", flags="reserve+populate",
        api="append_buffer")
    kd = dict(policy="double", flags="reserve", api="append_buffer")
    ks = dict(policy="seed", flags="sync_before_grow", api="append_buffer")
    t_def = med(res, "BM_Growth", per, to=target(**kd), **kd)
    t_seed = med(res, "BM_Growth", per, to=target(**ks), **ks)
    if t_def and t_seed:
        out.append(f"  seed-compat append costs {t_seed / t_def:.0f}x the default per append "
                   f"(different targets: per-append figures)")


def section_sync(res, out):
    if not res.select("BM_Sync"):
        return
    out.append("SYNC  latency in ms, median over repetitions of each repetition's p50 / p99")
    out.append(f"  {'dirty':>6} {'mmf_sync':>17} {'sync_range':>17} {'fdatasync':>17} {'fsync':>17}"
               f" {'async us':>9} {'mmf/fdsync p50':>15} {'p99':>6}")
    dirties = sorted({int(b["dirty"]) for b in res.select("BM_Sync") if b["dirty"]})
    for d in dirties:
        cells, got = [], {}
        for call in ("mmf_sync", "mmf_sync_range", "fdatasync", "fsync"):
            p50 = med(res, "BM_Sync", "p50_ns", call=call, dirty=d, folios=None)
            p99 = med(res, "BM_Sync", "p99_ns", call=call, dirty=d, folios=None)
            got[call] = (p50, p99)
            cells.append(f"{ms(p50, 7)} /{ms(p99, 7)}")
        a = med(res, "BM_Sync", "p50_ns", call="msync_async", dirty=d, folios=None)
        r50 = ratio(got["mmf_sync"][0], got["fdatasync"][0])
        r99 = ratio(got["mmf_sync"][1], got["fdatasync"][1])
        out.append(f"  {d:>6} " + " ".join(f"{c:>17}" for c in cells)
                   + f" {('-' if a is None else f'{a / 1e3:.2f}'):>9}"
                   + fx(r50, 16) + fx(r99, 7))


def per_sync_kib(res, **kw):
    """Device KiB written per sync of a scenario row: the process's own bios
    (own_write_bytes) when counted, else the whole device's."""
    own = med(res, "BM_Sync", "own_write_bytes_per_sync", **kw)
    if own is not None and own >= 0:
        return own / 1024
    dev = med(res, "BM_Sync", "dev_write_bytes_per_sync", **kw)
    return None if dev is None else dev / 1024


def section_small_writes(res, out):
    rows = res.select("BM_Sync", folios="small")
    keep = [b for b in res.select("BM_Sync", folios="keep") if b["dirty"]]
    if not rows and not keep:
        return
    out.append("SMALL WRITES  small = default (mmapfile.h SMALL WRITES), keep = MMF_KEEP_FOLIOS;"
               " KiB/sync = device bytes written per sync (own bios when counted)")
    if keep:
        cells = []
        for b in sorted(keep, key=lambda b: int(b["dirty"])):
            d = b["dirty"]
            s = med(res, "BM_Sync", "p50_ns", call="mmf_sync_range", dirty=d, folios=None)
            k = med(res, "BM_Sync", "p50_ns", call="mmf_sync_range", dirty=d, folios="keep")
            cells.append(f"{d}:{fx(ratio(k, s), 0).strip()}")
        out.append("  sync_range p50 keep/small by dirty pages (>1: the fix is faster): "
                   + ", ".join(cells))
    if not rows:
        return
    out.append("  scenarios: append rec + mmf_sync_range of it per record (medians); goal: KiB/sync"
               " <= 2x rec in 4 KiB pages")
    out.append(f"  {'scenario':<13} {'rec':>5} {'KiB/sync':>9} {'keep':>8} {'goal<=2':>8}"
               f" {'syncs/s':>8} {'keep':>8} {'p50 ms':>7} {'keep':>7} {'folio KiB':>9} {'keep':>6}")
    for rec in sorted({int(b["rec"]) for b in rows}):
        for sc in data.SYNC_SCENARIOS:
            s = dict(scenario=sc, rec=rec, folios="small")
            k = dict(scenario=sc, rec=rec, folios="keep")
            if res.one("BM_Sync", **s) is None:
                continue
            g = lambda m, kw: med(res, "BM_Sync", m, **kw)
            out.append(f"  {sc:<13} {rec:>5} {fx(per_sync_kib(res, **s), 9, '{:.1f}')}"
                       f"{fx(per_sync_kib(res, **k), 9, '{:.1f}')}"
                       f"{fx(g('goal_ratio', s), 9, '{:.2f}')}"
                       f" {si(g('items_per_second', s), 8)} {si(g('items_per_second', k), 8)}"
                       f" {ms(g('sync_p50_ns', s), 7)} {ms(g('sync_p50_ns', k), 7)}"
                       f"{fx(g('folio_max_kib', s), 10, '{:.0f}')}{fx(g('folio_max_kib', k), 7, '{:.0f}')}")


def section_ltm(res, out):
    names = res.select("BM_LTM")
    if not names and not any(n.startswith("BM_LTM") for n, _ in res.skipped):
        return
    if not names:
        why = next(m for n, m in res.skipped if n.startswith("BM_LTM"))
        out.append(f"LARGER THAN MEMORY  not run: {why}")
        return
    f = names[0].keys
    out.append(f"LARGER THAN MEMORY  random 4 KiB reads, {f.get('file')} file, {f.get('limit')} "
               f"memory cgroup (medians; TLB, PSI: system-wide)")
    out.append(f"  {'api':<18} {'reads/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'disk KiB/read':>14}"
               f" {'majflt/read':>12} {'TLB/read':>9} {'PSI mem%':>8} {'io%':>7}")
    vals = {}
    for label, kw in (("mmap MADV_NORMAL", dict(api="mmap", madv="normal")),
                      ("mmap MADV_RANDOM", dict(api="mmap", madv="random")),
                      ("pread", dict(api="pread"))) + DIRECT_APIS:
        r = med(res, "BM_LTM", "items_per_second", **kw)
        vals[label] = r
        amp = med(res, "BM_LTM", "io_amplification", **kw)
        iters = med(res, "BM_LTM", "iterations", **kw) or 0
        maj = med(res, "BM_LTM", "majflt", **kw)
        out.append(f"  {label:<18} {si(r, 9)} {ms(med(res, 'BM_LTM', 'p50_ns', **kw))}"
                   f" {ms(med(res, 'BM_LTM', 'p99_ns', **kw))}"
                   f" {('-' if amp is None else f'{amp * 4:.0f}'):>14}"
                   f" {('-' if maj is None or not iters else f'{maj / iters:.2f}'):>12}"
                   + pressure_cells(res, "BM_LTM", **kw))

    def r(a, b):
        return fx(ratio(vals[a], vals[b]), 0).strip()
    out.append(f"  pread / MADV_NORMAL {r('pread', 'mmap MADV_NORMAL')}, "
               f"MADV_RANDOM / MADV_NORMAL {r('mmap MADV_RANDOM', 'mmap MADV_NORMAL')}, "
               f"MADV_RANDOM / pread {r('mmap MADV_RANDOM', 'pread')}")
    out.append(f"  O_DIRECT pread / pread {r('O_DIRECT pread', 'pread')}, "
               f"io_uring qd1 / pread {r('io_uring qd1', 'pread')}, "
               f"io_uring qd32 / pread {r('io_uring qd32', 'pread')}; "
               f"MADV_RANDOM / O_DIRECT pread {r('mmap MADV_RANDOM', 'O_DIRECT pread')}, "
               f"MADV_RANDOM / io_uring qd32 {r('mmap MADV_RANDOM', 'io_uring qd32')}")
    skipped_note(res, "BM_LTM", "io_uring_direct", out)


def listing(kind, items, out):
    """Every (name, message) of items, grouped by message: none is left out."""
    groups = {}
    for name, msg in items:
        groups.setdefault(msg, []).append(name)
    for msg, names in groups.items():
        if len(names) == 1:
            out.append(f"  {kind} {names[0]}: {msg}")
        else:
            out.append(f"  {kind} {len(names)} benchmarks: {msg}")
            out.extend(f"    {n}" for n in names)


def verdict(res, failed_drivers):
    """(verdict, reason, counts, per-driver lines) of a run's results.
    failed_drivers: {driver: why} of drivers that did not finish (no JSON read)."""
    c = res.counts()
    counts = {"drivers": len(res.drivers) + len(failed_drivers), **c,
              "failed_drivers": len(failed_drivers)}
    lines, bad = [], dict(failed_drivers)
    for d in res.drivers:
        dc = res.counts(d)
        if dc["benchmarks"] == 0 and dc["skipped"] == 0:
            why = (f"all {dc['failed']} benchmarks failed" if dc["failed"]
                   else "its JSON holds no benchmark row")
            bad[d] = why
            lines.append(f"  {d:<13} FAILED: {why}")
        elif dc["benchmarks"] == 0:
            why = next(m for n, m in res.skips() if any(b.run_name == n and b.driver == d for b in res.benches))
            lines.append(f"  {d:<13} skipped ({dc['skipped']} benchmarks): {why}")
        else:
            extra = "".join(f", {dc[k]} {k}" for k in ("failed", "skipped") if dc[k])
            lines.append(f"  {d:<13} {dc['benchmarks']} benchmarks, {dc['repetitions']} repetitions{extra}")
    for d, why in failed_drivers.items():
        lines.append(f"  {d:<13} FAILED: {why}")
    counts["failed_drivers"] = len(bad)
    if bad or c["failed"]:
        parts = [f"{d} ({why})" for d, why in bad.items()]
        if c["failed"]:
            parts.append(f"{c['failed']} benchmarks failed")
        return "fail", "; ".join(parts), counts, lines
    if c["repetitions"] == 0 and c["skipped"]:
        return "skipped", res.skips()[0][1], counts, lines
    if c["repetitions"] == 0:
        return "fail", "nothing ran (0 repetitions)", counts, lines
    if c["skipped"]:
        # A pass with skips says what was skipped and why (scripts/run's summary).
        n, why = res.skips()[0]
        more = f" (and {c['skipped'] - 1} more)" if c["skipped"] > 1 else ""
        return "pass", f"{c['skipped']} skipped: {n}: {why}{more}", counts, lines
    return "pass", "", counts, lines


def summary_text(res, failed_drivers=None):
    """(text, verdict, reason, counts) of the run res."""
    ctx = res.context
    out = [f"mmapfile benchmarks: {ctx.get('profile', '?')} profile, {ctx.get('repetitions', '?')} "
           f"repetitions, {ctx.get('date', '?')}, {ctx.get('host', '?')}, "
           f"rev {str(ctx.get('git_revision', '?'))[:10]}{' (dirty)' if ctx.get('git_dirty') else ''}",
           f"{ctx.get('kernel', '?')}, {ctx.get('cpu_model', '?')} x{ctx.get('cpus', '?')}, "
           f"{ctx.get('bench_fs', '?')} on {ctx.get('bench_device', '?')} "
           f"(read_ahead_kb {ctx.get('read_ahead_kb', '?')}); all figures are medians of this run; "
           f"load average at the end {' '.join(map(str, ctx.get('loadavg_end', ['?'])))}",
           ""]
    for section in (section_read, section_write, section_appends, section_growth,
                    section_sync, section_small_writes, section_ltm):
        before = len(out)
        section(res, out)
        if len(out) > before:
            out.append("")
    v, reason, counts, lines = verdict(res, failed_drivers or {})
    out.append("DRIVERS")
    out.extend(lines)
    out.append(f"{counts['benchmarks']} benchmarks, {counts['repetitions']} repetitions from "
               f"{counts['drivers']} drivers; {counts['skipped']} skipped, {counts['failed']} failed"
               + (f", {counts['failed_drivers']} driver{'s' * (counts['failed_drivers'] > 1)} failed"
                  if counts["failed_drivers"] else ""))
    listing("skipped", res.skips(), out)
    listing("FAILED", res.failures(), out)
    out.append(f"verdict: {v.upper() if v != 'pass' else 'pass'}{': ' + reason if reason else ''}")
    return "\n".join(out) + "\n", v, reason, counts


EXIT = {"pass": 0, "fail": 1, "skipped": 77}


def driver_list(ap, text):
    """'a b,c' -> ['a', 'b', 'c'], each a driver of bench/drivers.txt."""
    known = data.driver_names()
    names = text.replace(",", " ").split()
    for d in names:
        if d not in known:
            ap.error(f"unknown driver '{d}' (one of: {' '.join(known)})")
    return names


def main_summary(argv):
    ap = parser("summary", "Print the one-screen benchmark summary of DIR; exit 0 pass, "
                "1 fail, 77 every benchmark skipped.")
    ap.add_argument("folder")
    ap.add_argument("--write", metavar="FILE", help="also write the text to FILE (atomically)")
    ap.add_argument("--stage", metavar="NAME", help="write the stage record DIR/NAME.json")
    ap.add_argument("--drivers", metavar="LIST",
                    help="the drivers whose JSON must be there (default: those present)")
    ap.add_argument("--failed-driver", action="append", default=[], metavar="DRIVER=WHY",
                    help="a driver that did not finish (its JSON is not read)")
    ap.add_argument("--seconds", type=float)
    a = ap.parse_args(argv)
    failed = {driver_list(ap, d)[0]: why or "failed"
              for d, why in key_values(ap, a.failed_driver, "--failed-driver", str).items()}
    want = None if a.drivers is None else driver_list(ap, a.drivers)
    extra = {} if a.seconds is None else {"seconds": a.seconds}
    try:
        res = data.load(a.folder, want)
        text, v, reason, counts = summary_text(res, failed)
    except files.ResultError as e:
        if a.stage:
            files.write_stage(a.folder, a.stage, "fail", str(e), {}, **extra)
        raise
    if a.write:
        files.write_text(a.write, text)
    if a.stage:
        # The driver JSON the verdict counts: every reader of the folder
        # refuses it when one of them is gone (files.check_recorded).
        files.write_stage(a.folder, a.stage, v, reason, counts,
                          files=[d + ".json" for d in res.drivers], **extra)
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except OSError as e:
        raise files.ResultError(f"cannot print the summary ({e.strerror})") from None
    return EXIT[v]


def main_check_drivers(argv):
    ap = parser("check-drivers", "Print per driver its repetitions; exit 1 if a driver produced "
                "none (unless all its rows are 'skipped: ...' rows).")
    ap.add_argument("folder")
    ap.add_argument("--drivers", metavar="LIST", help="default: every driver of bench/drivers.txt")
    a = ap.parse_args(argv)
    want = data.driver_names() if a.drivers is None else driver_list(ap, a.drivers)
    if not want:
        ap.error("--drivers selects no driver")
    res = data.load(a.folder, want)
    bad = 0
    for d in want:
        bs = [b for b in res.benches if b.driver == d]
        good = sum(sum(1 for r in b.reps if r["real_us"] > 0) for b in bs if not b.error)
        skipped = [b for b in bs if b.skipped]
        line = f"  {d:<13} {good} repetitions" + (f", {len(skipped)} skipped" if skipped else "")
        if not good and not (bs and len(skipped) == len(bs)):
            line += ": FAILED (no repetition ran)"
            bad += 1
        print(line)
    print(f"check-drivers: {len(want) - bad} of {len(want)} drivers produced results")
    return 1 if bad else 0


def sh(*cmd):
    try:
        return subprocess.run(cmd, capture_output=True, text=True, check=False).stdout.strip()
    except OSError:
        return ""


def block_device(path):
    """(device name, read_ahead_kb) of the filesystem holding path."""
    try:
        dev = os.stat(path).st_dev
        sysdir = f"/sys/dev/block/{os.major(dev)}:{os.minor(dev)}"
        name = os.path.basename(os.path.realpath(sysdir))
        q = os.path.join(sysdir, "queue/read_ahead_kb")
        if not os.path.exists(q):   # a partition: the queue is the parent's
            q = os.path.join(os.path.realpath(sysdir), "../queue/read_ahead_kb")
        return name, int(open(q).read())
    except (OSError, ValueError):
        return "?", None


def context(folder, a):
    top = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    mem = next((int(l.split()[1]) * 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal")), 0)
    dev, ra = block_device(os.path.dirname(a.scratch) or "/")
    timings = dict(t.split("=", 1) for t in a.timings.split() if "=" in t)
    ctx = {
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "host": socket.gethostname(),
        "profile": a.profile,
        "repetitions": a.reps,
        "filter": a.filter,
        "kernel": platform.release(),
        "cpu_model": cpu,
        "cpus": os.cpu_count(),
        "memory_bytes": mem,
        "bench_dir": os.path.dirname(a.scratch),
        "bench_fs": a.fs,
        "bench_device": dev,
        "read_ahead_kb": ra,
        "git_revision": sh("git", "-C", top, "rev-parse", "HEAD"),
        "git_dirty": bool(sh("git", "-C", top, "status", "--porcelain", "--untracked-files=no")),
        "compiler": sh("c++", "--version").splitlines()[0] if sh("c++", "--version") else "?",
        "benchmark_library": sh("dpkg-query", "-W", "-f=${Version}", "libbenchmark-dev"),
        "build_type": "release preset (RelWithDebInfo -O2)",
        "duration_s": a.duration,
        "build_s": a.build_seconds,
        "driver_seconds": {k: int(v) for k, v in timings.items()},
        "loadavg_end": open("/proc/loadavg").read().split()[:3],
        "euid": os.geteuid(),
    }
    files.write_json(os.path.join(folder, "context.json"), ctx)
    return 0


def main_context(argv):
    c = parser("context", "Write DIR/context.json: machine, kernel, filesystem, revision, profile.")
    c.add_argument("folder")
    c.add_argument("--profile", required=True)
    c.add_argument("--reps", type=int, required=True)
    c.add_argument("--filter", default="")
    c.add_argument("--scratch", required=True)
    c.add_argument("--fs", default="?")
    c.add_argument("--duration", type=int, default=0)
    c.add_argument("--build-seconds", type=int, default=0)
    c.add_argument("--timings", default="")
    a = c.parse_args(argv)
    if not os.path.isdir(a.folder):
        raise files.ResultError(f"{a.folder}: no such folder")
    return context(a.folder, a)
