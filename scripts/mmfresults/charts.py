"""SVG charts of a results folder. Each function returns (filename, caption)
or (None, reason it was skipped)."""
import io
import os

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib.ticker import FuncFormatter  # noqa: E402

from . import files  # noqa: E402
from . import model as M  # noqa: E402

matplotlib.rcParams.update({
    "svg.hashsalt": "mmapfile", "svg.fonttype": "none", "font.size": 9,
    "axes.grid": True, "grid.alpha": 0.3, "axes.titlesize": 10, "legend.fontsize": 8,
})

COLORS = {"bytes": "C0", "slice": "C9", "mmap_memcpy": "C2", "pread": "C3", "read": "C1",
          "allocate_slice": "C0", "append_buffer": "C9", "write": "C1", "pwrite": "C3",
          "memcpy_limit": "k", "double": "C0", "exact": "C3", "chunk": "C2", "seed": "C1",
          "mmf_sync": "C0", "mmf_sync_range": "C9", "msync": "C2", "msync_async": "0.6",
          "fdatasync": "C3", "fsync": "C1"}


def _size_fmt(x, _pos=None):
    return M.fmt_bytes(x).replace(" ", "")


def _save(fig, outdir, name):
    """Render fig as SVG and write outdir/name atomically (files.write_text:
    a full or read-only folder leaves no truncated chart, ResultError)."""
    svg = io.StringIO()
    try:
        fig.savefig(svg, format="svg", bbox_inches="tight", metadata={"Date": None})
        png = os.environ.get("MMF_REPORT_PNG_DIR")    # a PNG copy, for looking at (not a result file)
        if png:
            fig.savefig(os.path.join(png, name[:-4] + ".png"), format="png", dpi=80, bbox_inches="tight")
    finally:
        plt.close(fig)
    files.write_text(os.path.join(outdir, name), svg.getvalue())
    return name


def _bps(b):
    v = b.median("bytes_per_second")
    if v is None:
        t = b.median("real_us")
        # fall back: one record per iteration, rec bytes
        if t and b["rec"]:
            v = int(b["rec"]) / (t / 1e6)
    return v


def _measured_ticks(ax, sizes, min_octaves=2):
    """x ticks at the measured sizes only (log2 axis), a label on a tick only
    when it is at least min_octaves from the previous labelled one (no
    colliding labels)."""
    ax.set_xticks(sizes)
    ax.minorticks_off()
    labels, last = [], None
    for x in sizes:
        if last is None or x >= last * (1 << min_octaves):
            labels.append(_size_fmt(x))
            last = x
        else:
            labels.append("")
    ax.set_xticklabels(labels)


def read_chart(res, outdir):
    rows = res.select("BM_Read")
    if not rows:
        return None, "no BM_Read rows (bench_read.json missing)"
    sizes = sorted({int(b["rec"]) for b in rows})
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), sharex=True)
    for i, cache in enumerate(("warm", "cold")):
        for j, order in enumerate(("seq", "rand")):
            ax = axes[i][j]
            for api in ("bytes", "slice", "mmap_memcpy", "pread", "read"):
                for madv, ls in (("normal", "-"), ("none", "-"), ("random", "--")):
                    pts = sorted((int(b["rec"]), _bps(b) / 1e9) for b in
                                 res.select("BM_Read", api=api, cache=cache, order=order, madv=madv) if _bps(b))
                    if not pts:
                        continue
                    label = api + (" MADV_RANDOM" if madv == "random" else "")
                    ax.plot([p[0] for p in pts], [p[1] for p in pts], ls, marker="o", ms=3,
                            color=COLORS.get(api), label=label)
            ax.set_xscale("log", base=2)
            ax.set_yscale("log")
            _measured_ticks(ax, sizes)
            ax.set_title("%s cache, %s reads" % (cache, "sequential" if order == "seq" else "uniform random"))
            if i == 1:
                ax.set_xlabel("record size")
            if j == 0:
                ax.set_ylabel("throughput (GB/s, log)")
    # one legend for the four panels, below them: none covers a curve
    seen = {}
    for ax in axes.flat:
        for h, lab in zip(*ax.get_legend_handles_labels()):
            seen.setdefault(lab, h)
    fig.legend(list(seen.values()), list(seen), loc="upper center", bbox_to_anchor=(0.5, 0.0),
               ncol=min(6, len(seen)), frameon=False)
    fig.suptitle("Reading records: mmap (mmf_bytes / mmf_slice / mmap+memcpy) vs pread/read — median of repetitions")
    fig.tight_layout()
    return _save(fig, outdir, "read_throughput.svg"), \
        "Read throughput by record size, warm and cold, sequential and random; points are the measured sizes " \
        "(%s), the lines only join them." % ", ".join(M.fmt_bytes(x) for x in sizes)


def write_chart(res, outdir):
    rows = res.select("BM_Write", sync="never")
    growth = res.select("BM_Growth")
    if not rows and not growth:
        return None, "no BM_Write sync:never or BM_Growth rows"
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4), gridspec_kw={"width_ratios": [1, 1.3]})
    _append_by_size(res, axes[0])
    _append_by_policy(res, growth, axes[1])
    fig.tight_layout()
    return _save(fig, outdir, "append_throughput.svg"), \
        "Append throughput: left at each measured record size by API (points only: nothing was measured " \
        "between the sizes), right per growth policy (4 KiB appends) with write(2) for reference."


def _append_by_size(res, ax):
    """Markers at the measured record sizes (a categorical axis), one
    column offset per series: no line suggests a measurement in between."""
    series = (("allocate_slice", "default", "o"), ("allocate_slice", M.SEED_COMPAT, "o"),
              ("append_buffer", "default", "s"), ("append_buffer", M.SEED_COMPAT, "s"),
              ("write", "none", "D"), ("pwrite", "none", "D"), ("memcpy_limit", "none", "*"))
    sizes = sorted({int(b["rec"]) for b in res.select("BM_Write", sync="never")})
    if not sizes:
        ax.text(0.5, 0.5, "no BM_Write sync:never rows in this run", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    width = 0.7 / len(series)
    for k, (api, opts, marker) in enumerate(series):
        pts = [(sizes.index(int(b["rec"])), _bps(b) / 1e6)
               for b in res.select("BM_Write", api=api, opts=opts, sync="never") if _bps(b)]
        if not pts:
            continue
        hollow = opts == M.SEED_COMPAT
        ax.plot([x - 0.35 + width * (k + 0.5) for x, _ in pts], [y for _, y in pts], marker, ls="none", ms=6,
                color=COLORS.get(api), mfc="white" if hollow else COLORS.get(api), mew=1.5,
                label="%s (%s)" % (api, opts) if opts != "none" else api)
    ax.set_xticks(range(len(sizes)))
    ax.set_xticklabels([_size_fmt(x) for x in sizes])
    ax.set_xlim(-0.5, len(sizes) - 0.5)
    ax.grid(axis="x", visible=False)
    for x in range(1, len(sizes)):
        ax.axvline(x - 0.5, color="0.85", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("record size (the sizes measured)")
    ax.set_ylabel("append throughput (MB/s, log)")
    ax.set_title("Appending, no sync: library vs write(2) vs memcpy limit")
    if ax.lines:
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.18), ncol=2)


def _append_by_policy(res, growth, ax):
    """Bars per growth policy and flags on a linear axis (a bar's length is
    its value)."""
    bars = []
    keep = {("double", "reserve"), ("chunk", "reserve"), ("exact", "reserve"), ("seed", "reserve"),
            ("seed", "sync_before_grow"), ("double", "none"), ("double", "reserve+populate"),
            ("double", "reserve+sync_before_grow")}
    for b in growth:
        if (b["policy"], b["flags"]) in keep and b["api"] in (None, "append_buffer"):
            v = _bps(b)
            if v:
                tag = " (default)" if b.label == "default" else " (seed)" if M.is_seed_compat(b.label) else ""
                bars.append(("%s%s\n%s\nto %s" % (b["policy"], tag, b["flags"].replace("+", "+\n"), b["to"] or "?"),
                             v / 1e6, COLORS.get(b["policy"], "C7")))
    if not bars:
        ax.text(0.5, 0.5, "no BM_Growth rows in this run", ha="center", transform=ax.transAxes)
        ax.set_axis_off()
        return
    bars.sort(key=lambda x: -x[1])
    ax.bar(range(len(bars)), [x[1] for x in bars], color=[x[2] for x in bars])
    for i, (_, v, _) in enumerate(bars):
        ax.text(i, v, "%.0f" % v, ha="center", va="bottom", fontsize=7)
    ax.set_xticks(range(len(bars)))
    ax.set_xticklabels([x[0] for x in bars], fontsize=6.5)
    ax.grid(axis="x", visible=False)
    top = max(x[1] for x in bars)
    notes = []
    for api, color, lab in (("write", "C1", "write(2)"), ("memcpy_limit", "k", "memcpy limit")):
        ref = res.one("BM_Write", api=api, sync="never", rec="4096")
        if ref and _bps(ref):
            v = _bps(ref) / 1e6
            if v <= 1.5 * top:
                ax.axhline(v, color=color, ls="--", lw=1, label="%s, 4 KiB: %.0f MB/s" % (lab, v))
                top = max(top, v)
            else:
                notes.append("%s, 4 KiB: %.0f MB/s (off this scale)" % (lab, v))
    ax.set_ylim(0, top * 1.4)      # room for the legend above the bars
    ax.set_ylabel("append throughput (MB/s)")
    ax.set_title("4 KiB appends from 1 MiB by growth policy and flags (BM_Growth)")
    if notes:
        ax.plot([], [], " ", label="; ".join(notes))
    if ax.get_legend_handles_labels()[1]:
        ax.legend(loc="upper right")


def growth_chart(res, co, outdir):
    fit, src = co.grow_fit("reserve")
    if fit is None:
        return None, "no growth rows (BM_Growth / BM_Write grow counters)"
    # data sizes 2 MiB .. 1 GiB, log-spaced and page-aligned, not powers of two
    # (a doubling file is exactly full at 2^k and half empty just after)
    sizes = sorted({int(2 ** (21 + 9 * i / 80.0)) // 4096 * 4096 for i in range(81)})
    pols = (("double", {}), ("chunk", {"chunk": 64 * M.MiB}), ("exact", {}))
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.8))
    c0, c1 = fit
    for pol, kw in pols:
        cost, over = [], []
        for s in sizes:
            if pol == "exact" and s > 256 * M.MiB:
                cost.append(None)
                over.append(None)
                continue
            sim = M.simulate(pol, M.MiB, s, 4096, "append_buffer", kw.get("chunk", 64 * M.MiB))
            cost.append(sum(c0 + c1 * g for g in sim["grow_bytes"][1:]) / 1e3)
            over.append(100.0 * (sim["size"] - sim["data"]) / sim["data"])
        label = pol + (" 64 MiB" if pol == "chunk" else "")
        xs = [s for s, c in zip(sizes, cost) if c is not None]
        axes[0].plot(xs, [c for c in cost if c is not None], "-", color=COLORS[pol], label=label + " (model)")
        if pol == "exact":
            axes[1].plot([], [], "-", color=COLORS[pol], label="exact: always 0")
        else:
            axes[1].plot(xs, [max(o, 0.1) for o in over if o is not None], "-", lw=1, color=COLORS[pol], label=label)
    for b in res.select("BM_Growth", flags="reserve", api="append_buffer"):
        g, d = b.median("grow_ns"), b.median("data_bytes")
        if g and d:
            axes[0].plot([d], [g / 1e6], "o", color=COLORS.get(b["policy"], "C7"), ms=5,
                         label="measured: %s" % b["policy"])
            ov = b.median("overalloc_bytes")
            if ov:
                axes[1].plot([d], [max(100.0 * ov / d, 0.1)], "o",
                             color=COLORS.get(b["policy"], "C7"), ms=5)
    for ax in axes:
        ax.set_xscale("log", base=2)
        ax.xaxis.set_major_formatter(FuncFormatter(_size_fmt))
        ax.set_xlabel("file size reached by 4 KiB appends (from 1 MiB)")
        ax.set_yscale("log")
        # below the plot: inside, it covered the curves of the largest files
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=3)
    axes[0].set_ylabel("total time spent growing (ms, log)")
    axes[0].set_title("Growth cost, flags reserve: %.0f µs/grow + %.2f ms/GiB" % (c0, c1 * (1 << 30) / 1e3))
    axes[1].set_ylabel("space beyond the data (% of data, log)")
    axes[1].set_title("Over-allocation when the data stops at that size")
    axes[1].set_ylim(0.1, 1e4)
    fig.tight_layout()
    return _save(fig, outdir, "growth.svg"), \
        "Growth cost and space overhead vs file size per policy (lines: the model fitted to BM_Growth; dots: measured)."


# Samples per repetition a latency percentile needs to be more than the
# maximum of a handful of calls: about 10 samples beyond it (p99: 1 %, so
# ~1000 samples for p999 and ~100 for p99).
MIN_SAMPLES = {"p50": 1, "p99": 100, "p999": 1000}


def sync_chart(res, outdir):
    # the call rows of the default options (not the folios:keep calls, not the
    # record scenarios of issue 12, which have no dirty-page size)
    rows = res.select("BM_Sync", folios=None)
    if not rows:
        return None, "no BM_Sync rows (bench_sync.json missing)"
    calls = sorted({b["call"] for b in rows}, key=lambda c: list(COLORS).index(c) if c in COLORS else 99)
    ds = sorted({int(b["dirty"]) for b in rows})
    # samples per repetition at each dirty size (the fewest over the calls)
    n = {d: min(int(b.median("samples") or b.median("iterations") or 0) for b in rows if int(b["dirty"]) == d)
         for d in ds}
    tails = [q for q in ("p99", "p999") if any(v >= MIN_SAMPLES[q] for v in n.values())]
    fig, axes = plt.subplots(1, 1 + len(tails), figsize=(4.6 * (1 + len(tails)), 4.2), sharey=True, squeeze=False)
    axes = axes[0]
    for ax, q in zip(axes, ["p50"] + tails):
        for call in calls:
            pts = sorted((int(b["dirty"]), b.median(q + "_ns") / 1e3) for b in res.select("BM_Sync", call=call, folios=None)
                         if b.median(q + "_ns") and n[int(b["dirty"])] >= MIN_SAMPLES[q])
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], "-o", ms=3, color=COLORS.get(call), label=call)
        ax.set_xscale("log", base=2)
        ax.set_yscale("log")
        shown = [d for d in ds if n[d] >= MIN_SAMPLES[q]]
        ax.set_xticks(shown)
        ax.set_xticklabels(["%d\nn=%d" % (d, n[d]) for d in shown])
        ax.minorticks_off()
        if len(shown) < len(ds):
            ax.set_xlim(min(ds) / 1.5, max(ds) * 1.5)
        ax.set_xlabel("dirty pages (4 KiB) before the call\nn: sync calls per repetition")
        ax.set_title("%s latency%s" % (q, "" if q == "p50" else " (only where n ≥ %d)" % MIN_SAMPLES[q]))
    axes[0].set_ylabel("latency (µs, log)")
    missing = [q for q in ("p99", "p999") if q not in tails]
    if missing:
        axes[-1].text(0.97, 0.97, "\n".join("%s not drawn: needs n ≥ %d\n(this run: n ≤ %d)" % (
            q, MIN_SAMPLES[q], max(n.values())) for q in missing), transform=axes[-1].transAxes,
            ha="right", va="top", fontsize=8, color="0.3")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=len(labels), frameon=False)
    fig.suptitle("Sync latency vs dirty pages (per-call latencies inside each repetition, median over repetitions)")
    fig.tight_layout()
    note = ("; %s not shown: it needs ≥ %s sync calls per repetition, this run has at most %d" % (
        " and ".join(missing), " / ".join(str(MIN_SAMPLES[q]) for q in missing), max(n.values()))) if missing else ""
    return _save(fig, outdir, "sync_latency.svg"), \
        "Sync latency %s vs dirty pages, per call; a percentile is drawn only where the repetition has enough " \
        "sync calls (n under each size)%s." % ("/".join(["p50"] + tails), note)


def ltm_rows(res):
    return [b for b in res.benches if not b.error and (b.driver == "bench_ltm" or b.family.lower().startswith("bm_ltm")
                                                        or b.family.lower().startswith("bm_larger"))]


def ltm_label(b):
    madv = b["madv"]
    if madv in ("normal", "random"):
        return "%s MADV_%s" % (b["api"], madv.upper())
    return " ".join("%s" % v for k, v in b.keys.items() if k not in ("rec", "file", "limit") and v != "none")


def ltm_chart(res, outdir):
    rows = [b for b in ltm_rows(res) if b.median("items_per_second")]
    if not rows:
        why = "no larger-than-memory rows"
        errs = [e for n, e in res.skipped if "ltm" in n.lower()]
        if errs:
            why += " (skipped: %s)" % errs[0]
        return None, why
    fig, ax = plt.subplots(figsize=(7.5, 3.8))
    labels = [ltm_label(b) for b in rows]
    vals = [b.median("items_per_second") for b in rows]
    # a linear axis: a bar's length is its rate
    ax.barh(range(len(rows)), vals, color=["C3" if b["madv"] == "normal" else "C0" for b in rows])
    ax.set_yticks(range(len(rows)))
    ax.set_yticklabels(labels)
    ax.grid(axis="y", visible=False)
    ax.set_xlabel("random 4 KiB reads per second")
    for i, (v, b) in enumerate(zip(vals, rows)):
        amp = b.median("io_amplification")
        ax.text(v, i, " %.0f/s%s" % (v, ", read amplification %.0fx" % amp if amp and amp > 0 else ""),
                va="center", fontsize=8)
    ax.set_xlim(0, max(vals) * 1.45)
    r0 = rows[0]
    ax.set_title("Random 4 KiB reads, %s file, %s memory limit (cgroup)" % (r0["file"] or "?", r0["limit"] or "?"))
    if any((b.median("io_amplification") or 0) > 0 for b in rows):
        ax.text(0.99, 0.01, "read amplification: bytes read from the disk / bytes asked for",
                transform=ax.transAxes, ha="right", va="bottom", fontsize=7, color="0.3")
    fig.tight_layout()
    return _save(fig, outdir, "larger_than_memory.svg"), \
        "Random reads of a file larger than memory, with each row's read amplification."


def noise_chart(res, outdir):
    pts = [(b.driver, b.cv()) for b in res.benches if not b.error and b.cv() is not None]
    if not pts:
        return None, "no repetitions to measure noise from"
    drivers = sorted({d for d, _ in pts})
    fig, ax = plt.subplots(figsize=(8, 3.5))
    data = [[100 * c for d, c in pts if d == drv] for drv in drivers]
    ax.boxplot(data, vert=False, labels=drivers, whis=(5, 95))
    ax.set_xscale("log")
    lo, hi = min(min(d) for d in data), max(max(d) for d in data)
    ticks = [t for t in (0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500) if lo / 2 <= t <= hi * 2]
    ax.set_xticks(ticks)
    ax.set_xticklabels(["%g" % t for t in ticks])
    ax.minorticks_off()
    ax.axvline(5, color="C2", ls="--", lw=1, label="5 %")
    ax.axvline(25, color="C3", ls="--", lw=1, label="25 %")
    ax.set_xlabel("coefficient of variation of the repetitions' real time (%, log)")
    ax.set_title("Harness noise: CV per benchmark, by driver (box: quartiles, whiskers: 5-95 %)")
    ax.legend(loc="lower right")
    fig.tight_layout()
    return _save(fig, outdir, "noise.svg"), "Noise of the harness: coefficient of variation per benchmark."
