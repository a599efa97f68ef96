#!/usr/bin/python3
"""Helpers of scripts/bench (run with Debian's /usr/bin/python3).

  bench_summary.py context DIR --profile P --reps N ...   write DIR/context.json
  bench_summary.py summary DIR                            print the one-screen summary

The summary reads every <driver>.json of DIR (Google Benchmark JSON), takes
the MEDIAN over the per-repetition rows of each benchmark, and prints the
ratios that matter, all computed inside this one run. Exit status 1 when a
benchmark failed (an error row whose message does not start with
"skipped"), else 0. Benchmark names: see bench/README.md.
"""
import argparse
import glob
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import time

GB_SUFFIX = re.compile(r"^(real_time|manual_time|iterations:\d+|repeats:\d+|min_time:.*|threads:\d+)$")


def parse_name(name):
    """'BM_Read/api:bytes/.../rec:4096/real_time' -> ('BM_Read', {'api': 'bytes', ...})."""
    parts = name.split("/")
    fields = {}
    for p in parts[1:]:
        if GB_SUFFIX.match(p):
            if p.startswith("iterations:"):
                fields["_iterations"] = p.split(":", 1)[1]
            continue
        k, _, v = p.partition(":")
        fields[k] = v
    return parts[0], fields


class Run:
    """The per-repetition rows of one folder, grouped by benchmark name."""

    def __init__(self, folder):
        self.rows = {}        # run_name -> [row, ...] (successful repetitions)
        self.errors = []      # (name, message)
        self.skips = []
        self.files = []
        for path in sorted(glob.glob(os.path.join(folder, "*.json"))):
            if os.path.basename(path) == "context.json":
                continue
            try:
                doc = json.load(open(path))
            except (OSError, ValueError) as e:
                self.errors.append((os.path.basename(path), f"unreadable JSON: {e}"))
                continue
            self.files.append(os.path.basename(path))
            for b in doc.get("benchmarks", []):
                if b.get("run_type") == "aggregate":
                    continue
                name = b.get("run_name", b["name"])
                if b.get("error_occurred"):
                    msg = b.get("error_message", "")
                    target = self.skips if msg.startswith("skipped") else self.errors
                    if (name, msg) not in target:
                        target.append((name, msg))
                    continue
                self.rows.setdefault(name, []).append(b)

    def find(self, family, **want):
        """Names of family whose fields include want (values as strings)."""
        out = []
        for name in self.rows:
            fam, f = parse_name(name)
            if fam == family and all(f.get(k) == str(v) for k, v in want.items()):
                out.append(name)
        return out

    def median(self, family, metric, **want):
        """Median of metric over the repetitions of the one matching row
        (None when absent)."""
        names = self.find(family, **want)
        if not names:
            return None
        vals = [r[metric] for r in self.rows[names[0]] if metric in r]
        return statistics.median(vals) if vals else None

    def reps(self, family, **want):
        names = self.find(family, **want)
        return len(self.rows[names[0]]) if names else 0


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


def section_read(run, out):
    recs = sorted({int(parse_name(n)[1]["rec"]) for n in run.find("BM_Read")})
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
            m = run.median("BM_Read", ips, api="bytes", cache=cache, order=order, madv="normal", rec=rec)
            p = run.median("BM_Read", ips, api="pread", cache=cache, order=order, rec=rec)
            cells.append(fx(ratio(m, p), 9))
        m = run.median("BM_Read", ips, api="bytes", cache="cold", order="rand", madv="random", rec=rec)
        p = run.median("BM_Read", ips, api="pread", cache="cold", order="rand", rec=rec)
        cells.append(fx(ratio(m, p), 9))
        cells.append(si(p, 9))
        out.append(f"  {rec:>8} " + " ".join(cells))
    line = []
    for api in ("slice", "mmap_memcpy", "read"):
        order = "seq"
        a = run.median("BM_Read", ips, api=api, cache="warm", order=order,
                       madv="none" if api == "read" else "normal", rec=4096)
        p = run.median("BM_Read", ips, api="pread", cache="warm", order=order, rec=4096)
        line.append(f"{api}/pread {fx(ratio(a, p), 0).strip()}")
    out.append("  warm/seq rec 4096: " + ", ".join(line))
    amp = run.median("BM_Read", "io_amplification", api="bytes", cache="cold", order="rand",
                     madv="normal", rec=4096)
    amp_r = run.median("BM_Read", "io_amplification", api="bytes", cache="cold", order="rand",
                       madv="random", rec=4096)
    if amp is not None:
        out.append(f"  cold/rand rec 4096: disk bytes per byte read {amp:.2f} (MADV_NORMAL) vs "
                   f"{fx(amp_r, 0, '{:.2f}').strip()} (MADV_RANDOM)")


def section_write(run, out):
    if not run.find("BM_Write"):
        return
    ips = "items_per_second"
    cols = [("slice:def", dict(api="allocate_slice", opts="default")),
            ("slice:seed", dict(api="allocate_slice", opts="seed_compat")),
            ("app:def", dict(api="append_buffer", opts="default")),
            ("app:seed", dict(api="append_buffer", opts="seed_compat")),
            ("write(2)", dict(api="write")),
            ("pwrite(2)", dict(api="pwrite")),
            ("memcpy:lim", dict(api="memcpy_limit"))]
    recs = sorted({int(parse_name(n)[1]["rec"]) for n in run.find("BM_Write")})
    out.append("WRITE  median appends/s: slice = mmf_allocate_slice, app = mmf_append_buffer,"
               " def = default, seed = seed-compat")
    out.append(f"  {'rec':>5} {'sync':>5} " + " ".join(f"{c:>9}" for c, _ in cols)
               + f" {'def/write':>9} {'def/limit':>9} {'seed/def':>8}")
    for rec in recs:
        for sync in ("never", "64", "1"):
            vals = [run.median("BM_Write", ips, rec=rec, sync=sync, **kw) for _, kw in cols]
            out.append(f"  {rec:>5} {sync:>5} " + " ".join(si(v, 9) for v in vals)
                       + fx(ratio(vals[0], vals[4]), 10) + fx(ratio(vals[0], vals[6]), 10)
                       + fx(ratio(vals[1], vals[0]), 9))


def section_growth(run, out):
    names = run.find("BM_Growth")
    if not names:
        return
    per = "real_time"   # per-append wall time of the repetition, in the row's time unit
    mib = lambda n: int(parse_name(n)[1].get("to", "0MiB")[:-3])
    main = run.find("BM_Growth", policy="double", flags="none", api="append_buffer")
    main_to = max(mib(n) for n in main) if main else None

    def target(**kw):
        """The profile's main target when the row has it, else its smallest."""
        sizes = sorted(mib(n) for n in run.find("BM_Growth", **kw))
        return None if not sizes else f"{main_to if main_to in sizes else sizes[0]}MiB"

    def row(label, **kw):
        to = target(**kw)
        if to is None:
            return
        kw["to"] = to
        t = run.median("BM_Growth", per, **kw)
        g = [run.median("BM_Growth", k, **kw) for k in
             ("grows", "remaps", "moves", "grow_ns", "sync_ns", "overalloc_bytes", "minflt")]
        n = run.find("BM_Growth", **kw)
        if t is None:
            return
        unit = run.rows[n[0]][0].get("time_unit", "us")
        out.append(f"  {label:<34} {to:>6} {t:>8.3g}{unit:<2} " + " ".join(si(v, 7) for v in g[:3])
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
    t_def = run.median("BM_Growth", per, to=target(**kd), **kd)
    t_seed = run.median("BM_Growth", per, to=target(**ks), **ks)
    if t_def and t_seed:
        out.append(f"  seed-compat append costs {t_seed / t_def:.0f}x the default per append "
                   f"(different targets: per-append figures)")


def section_sync(run, out):
    if not run.find("BM_Sync"):
        return
    out.append("SYNC  latency in ms, median over repetitions of each repetition's p50 / p99")
    out.append(f"  {'dirty':>6} {'mmf_sync':>17} {'sync_range':>17} {'fdatasync':>17} {'fsync':>17}"
               f" {'async us':>9} {'mmf/fdsync p50':>15} {'p99':>6}")
    dirties = sorted({int(parse_name(n)[1]["dirty"]) for n in run.find("BM_Sync")})
    for d in dirties:
        cells, got = [], {}
        for call in ("mmf_sync", "mmf_sync_range", "fdatasync", "fsync"):
            p50 = run.median("BM_Sync", "p50_ns", call=call, dirty=d)
            p99 = run.median("BM_Sync", "p99_ns", call=call, dirty=d)
            got[call] = (p50, p99)
            cells.append(f"{ms(p50, 7)} /{ms(p99, 7)}")
        a = run.median("BM_Sync", "p50_ns", call="msync_async", dirty=d)
        r50 = ratio(got["mmf_sync"][0], got["fdatasync"][0])
        r99 = ratio(got["mmf_sync"][1], got["fdatasync"][1])
        out.append(f"  {d:>6} " + " ".join(f"{c:>17}" for c in cells)
                   + f" {('-' if a is None else f'{a / 1e3:.2f}'):>9}"
                   + fx(r50, 16) + fx(r99, 7))


def section_ltm(run, out):
    names = run.find("BM_LTM")
    if not names and not any(n.startswith("BM_LTM") for n, _ in run.skips + run.errors):
        return
    if not names:
        why = next(m for n, m in run.skips + run.errors if n.startswith("BM_LTM"))
        out.append(f"LARGER THAN MEMORY  not run: {why}")
        return
    f = parse_name(names[0])[1]
    out.append(f"LARGER THAN MEMORY  random 4 KiB reads, {f.get('file')} file, {f.get('limit')} "
               f"memory cgroup (medians)")
    out.append(f"  {'api':<18} {'reads/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'disk KiB/read':>14}"
               f" {'majflt/read':>12}")
    vals = {}
    for label, kw in (("mmap MADV_NORMAL", dict(api="mmap", madv="normal")),
                      ("mmap MADV_RANDOM", dict(api="mmap", madv="random")),
                      ("pread", dict(api="pread"))):
        r = run.median("BM_LTM", "items_per_second", **kw)
        vals[label] = r
        amp = run.median("BM_LTM", "io_amplification", **kw)
        n = run.find("BM_LTM", **kw)
        iters = float(parse_name(n[0])[1].get("_iterations", 0)) if n else 0
        maj = run.median("BM_LTM", "majflt", **kw)
        out.append(f"  {label:<18} {si(r, 9)} {ms(run.median('BM_LTM', 'p50_ns', **kw))}"
                   f" {ms(run.median('BM_LTM', 'p99_ns', **kw))}"
                   f" {('-' if amp is None else f'{amp * 4:.0f}'):>14}"
                   f" {('-' if maj is None or not iters else f'{maj / iters:.2f}'):>12}")
    out.append(f"  pread / MADV_NORMAL {fx(ratio(vals['pread'], vals['mmap MADV_NORMAL']), 0).strip()}, "
               f"MADV_RANDOM / MADV_NORMAL "
               f"{fx(ratio(vals['mmap MADV_RANDOM'], vals['mmap MADV_NORMAL']), 0).strip()}, "
               f"MADV_RANDOM / pread {fx(ratio(vals['mmap MADV_RANDOM'], vals['pread']), 0).strip()}")


def summary(folder):
    run = Run(folder)
    ctx = {}
    try:
        ctx = json.load(open(os.path.join(folder, "context.json")))
    except (OSError, ValueError):
        pass
    out = [f"mmapfile benchmarks: {ctx.get('profile', '?')} profile, {ctx.get('repetitions', '?')} "
           f"repetitions, {ctx.get('date', '?')}, {ctx.get('host', '?')}, "
           f"rev {ctx.get('git_revision', '?')[:10]}{' (dirty)' if ctx.get('git_dirty') else ''}",
           f"{ctx.get('kernel', '?')}, {ctx.get('cpu_model', '?')} x{ctx.get('cpus', '?')}, "
           f"{ctx.get('bench_fs', '?')} on {ctx.get('bench_device', '?')} "
           f"(read_ahead_kb {ctx.get('read_ahead_kb', '?')}); all figures are medians of this run",
           ""]
    for section in (section_read, section_write, section_growth, section_sync, section_ltm):
        before = len(out)
        section(run, out)
        if len(out) > before:
            out.append("")
    out.append(f"{sum(len(v) for v in run.rows.values())} repetitions of {len(run.rows)} benchmarks "
               f"from {', '.join(run.files) or 'no JSON'}; {len(run.skips)} skipped, "
               f"{len(run.errors)} failed")
    for name, msg in run.skips[:3]:
        out.append(f"  skipped {name}: {msg}")
    for name, msg in run.errors[:5]:
        out.append(f"  FAILED {name}: {msg}")
    print("\n".join(out))
    return 1 if run.errors else 0


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
    with open(os.path.join(folder, "context.json"), "w") as f:
        json.dump(ctx, f, indent=2)
        f.write("\n")
    return 0


def main_context(argv):
    c = argparse.ArgumentParser(prog="context")
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
    return context(a.folder, a)


def main_summary(argv):
    s = argparse.ArgumentParser(prog="summary")
    s.add_argument("folder")
    a = s.parse_args(argv)
    return summary(a.folder)
