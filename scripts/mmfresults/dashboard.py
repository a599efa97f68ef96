"""history dashboard: a static, offline page of the performance history.

  dashboard [--db DB] --out DIR [--metric M] [--benchmark RE]  -> DIR/index.html

One HTML file, no network and no external file: per machine (a selector at
the top) and per benchmark family (the name before the first '/'), one inline
SVG chart of every series of the family over the machine's runs (oldest
left), each value relative to its series' median (so a family's series share
an axis), change points (changepoint.py) marked in red and listed under the
chart; then the machine's runs with links to their folders.

Everything shown comes from stores that other machines fill (benchmark names,
revisions, hosts, paths): untrusted text. Every such string goes through
html.escape (text and attributes alike); links are built here (file:// +
percent-encoded path). The page's own script is inline and allowed by its
SHA-256 in a Content-Security-Policy, which forbids every other script
(inline handlers included) and every network fetch: a name that slipped
through unescaped still could not run.
"""
import base64
import collections
import datetime
import hashlib
import html
import math
import os
import urllib.parse

from . import changepoint, files, history, store
from .runfolder import parser

WIDTH, HEIGHT = 960, 280
MARGIN_L, MARGIN_R, MARGIN_T, MARGIN_B = 64, 16, 14, 40
COLORS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f",
          "#bcbd22", "#17becf", "#393b79", "#637939", "#8c6d31")
CP_COLOR = "#d62728"

# The page's only script: show the machine chosen in the selector. It reads
# no data (the sections carry their machine in data-machine attributes).
SCRIPT = """
(function () {
  var sel = document.getElementById("machine");
  function show() {
    var secs = document.querySelectorAll("section.machine");
    for (var i = 0; i < secs.length; i++) {
      secs[i].hidden = secs[i].getAttribute("data-machine") !== sel.value;
    }
  }
  sel.addEventListener("change", show);
  show();
})();
"""
STYLE = """
body { font: 14px sans-serif; margin: 1em 2em; color: #222; }
h1 { font-size: 1.4em; } h2 { font-size: 1.2em; margin-top: 1.5em; } h3 { font-size: 1.05em; }
table { border-collapse: collapse; margin: 0.5em 0 1em; }
td, th { border: 1px solid #ccc; padding: 2px 6px; text-align: left; font-size: 12px; }
.muted { color: #666; } svg.chart { background: #fafafa; border: 1px solid #ddd; }
code { font-size: 12px; word-break: break-all; }
ul.legend { list-style: none; padding: 0; margin: 2px 0 8px; columns: 2; max-width: 960px; }
ul.legend li { font-size: 12px; } .swatch { display: inline-block; width: 14px; height: 3px;
  margin: 0 6px 3px 0; vertical-align: middle; }
"""


def e(s):
    """Escape untrusted text for HTML text and quoted attributes."""
    return html.escape("" if s is None else str(s), quote=True)


def family(benchmark):
    return benchmark.split("/", 1)[0]


def run_link(source):
    """A file:// URL of a run folder (percent-encoded: the path is data)."""
    return "file://" + urllib.parse.quote(source if source.startswith("/") else "/" + source)


def _ticks(lo, hi, n=5):
    """Round ticks (1, 2 or 5 times a power of ten) covering [lo, hi]."""
    if hi <= lo:
        return [lo]
    raw = (hi - lo) / (n - 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 5, 10) if m * mag >= raw)
    first = math.ceil(lo / step) * step
    return [first + i * step for i in range(int((hi - first) / step) + 1)]


def _pct(ratio):
    v = (ratio - 1) * 100
    return "0%" if abs(v) < 0.05 else f"{v:+.3g}%"


def chart(series_list, runs, cps_by_bench, title):
    """An inline SVG: series_list [history.Series], runs [run_id in x order]."""
    xpos = {r: i for i, r in enumerate(runs)}
    n = max(len(runs) - 1, 1)
    lines = []
    lo, hi = float("inf"), float("-inf")
    for s in series_list:
        vals = s.values()
        med = sorted(vals)[len(vals) // 2] if vals else 0
        if not med:
            continue
        rel = [(xpos[p.run_id], p.value / med, p) for p in s.points if p.run_id in xpos]
        lo = min(lo, min(v for _, v, _ in rel))
        hi = max(hi, max(v for _, v, _ in rel))
        lines.append((s, rel))
    if not lines:
        return ""
    pad = (hi - lo) * 0.05 or 0.01
    lo, hi = lo - pad, hi + pad
    pw, ph = WIDTH - MARGIN_L - MARGIN_R, HEIGHT - MARGIN_T - MARGIN_B

    def X(i):
        return MARGIN_L + pw * i / n

    def Y(v):
        return MARGIN_T + ph * (1 - (v - lo) / (hi - lo))

    out = [f'<svg class="chart" xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" '
           f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="{e(title)}">']
    for t in _ticks(lo, hi):
        out.append(f'<line x1="{MARGIN_L}" x2="{WIDTH - MARGIN_R}" y1="{Y(t):.1f}" y2="{Y(t):.1f}" '
                   f'stroke="#e4e4e4"/><text x="{MARGIN_L - 4}" y="{Y(t) + 4:.1f}" '
                   f'font-size="11" text-anchor="end">{_pct(t)}</text>')
    step = max(1, len(runs) // 8)
    for i in range(0, len(runs), step):
        out.append(f'<text x="{X(i):.1f}" y="{HEIGHT - MARGIN_B + 16}" font-size="10" '
                   f'text-anchor="middle">{i}</text>')
    out.append(f'<text x="{MARGIN_L + pw / 2:.0f}" y="{HEIGHT - 6}" font-size="11" '
               f'text-anchor="middle">run (oldest first); value relative to its series median'
               f'</text>')
    for k, (s, rel) in enumerate(lines):
        color = COLORS[k % len(COLORS)]
        pts = " ".join(f"{X(i):.1f},{Y(v):.1f}" for i, v, _ in rel)
        out.append(f'<polyline class="series" fill="none" stroke="{color}" stroke-width="1.2" '
                   f'points="{pts}"><title>{e(s.benchmark)}</title></polyline>')
        for cp in cps_by_bench.get(s.benchmark, []):
            i, v, p = rel[cp.index]
            label = (f"{s.benchmark}: {changepoint.format_point(cp)} at run {p.run_id}, "
                     f"revision {p.revision}")
            out.append(f'<line class="change-point" x1="{X(i):.1f}" x2="{X(i):.1f}" '
                       f'y1="{MARGIN_T}" y2="{MARGIN_T + ph}" stroke="{CP_COLOR}" '
                       f'stroke-dasharray="4 3"><title>{e(label)}</title></line>'
                       f'<circle cx="{X(i):.1f}" cy="{Y(v):.1f}" r="4" fill="{CP_COLOR}">'
                       f'<title>{e(label)}</title></circle>')
    out.append("</svg>")
    out.append('<ul class="legend">')
    for k, (s, _) in enumerate(lines):
        out.append(f'<li><span class="swatch" style="background:{COLORS[k % len(COLORS)]}">'
                   f'</span><code>{e(s.benchmark)}</code></li>')
    out.append("</ul>")
    return "".join(out)


def page(st, metric=changepoint.DEFAULT_METRIC, bench_re=None, now=None,
         method=changepoint.DEFAULT_METHOD, statistic=changepoint.DEFAULT_STATISTIC):
    """(the HTML text, number of charts, number of change points); a point is
    statistic of a run's repetitions of metric (changepoint.point)."""
    machines = st.machines()
    runs = st.runs()
    series = history.load_series(st, metric, bench_re, statistic=statistic)
    by_machine = collections.defaultdict(lambda: collections.defaultdict(list))
    for s in series:
        by_machine[s.machine][family(s.benchmark)].append(s)
    script_hash = base64.b64encode(hashlib.sha256(SCRIPT.encode()).digest()).decode()
    csp = (f"default-src 'none'; script-src 'sha256-{script_hash}'; style-src 'unsafe-inline'; "
           "img-src data:; base-uri 'none'; form-action 'none'")
    now = now or datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    h = ['<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">',
         f'<meta http-equiv="Content-Security-Policy" content="{e(csp)}">',
         '<meta name="referrer" content="no-referrer">',
         "<title>mmapfile performance history</title>",
         f"<style>{STYLE}</style></head><body>",
         "<h1>mmapfile performance history</h1>",
         f'<p class="muted">{len(runs)} runs on {len(machines)} machines; a point is '
         f"{e(changepoint.point_name(metric, statistic))}; "
         f"change points: {e(changepoint.METHOD_NAMES[method])}, p &lt; {changepoint.P_MAX}, "
         f"series of at least {changepoint.min_points(method)} runs; comparisons stay within one "
         f"machine fingerprint. Generated {e(now)}.</p>",
         '<p><label for="machine">Machine: </label><select id="machine">']
    order = [fp for fp in machines if fp in by_machine] or list(machines)
    for fp in order:
        h.append(f'<option value="{e(fp)}">{e(fp)}: {e(machines[fp])}</option>')
    h.append("</select></p>")
    charts = ncps = 0
    for fp in order:
        mruns = [r for r in runs if r[1] == fp]
        run_ids = [r[0] for r in mruns]
        h.append(f'<section class="machine" data-machine="{e(fp)}">'
                 f"<h2>Machine {e(fp)}</h2><p>{e(machines[fp])}</p>")
        for fam, sl in sorted(by_machine[fp].items()):
            cps = {}
            for s in sl:
                if len(s.points) >= changepoint.min_points(method):
                    found = changepoint.detect(s.values(), method=method)
                    if found:
                        cps[s.benchmark] = found
            svg = chart(sl, run_ids, cps, f"{fam} on {fp}")
            if not svg:
                continue
            charts += 1
            h.append(f'<h3>{e(fam)} <span class="muted">({len(sl)} series)</span></h3>{svg}')
            rows = [(s, cp) for s in sl for cp in cps.get(s.benchmark, [])]
            ncps += len(rows)
            if rows:
                h.append("<table><tr><th>benchmark</th><th>change</th><th>p</th><th>run</th>"
                         "<th>revision</th></tr>")
                for s, cp in rows:
                    p = s.points[cp.index]
                    h.append(f"<tr><td><code>{e(s.benchmark)}</code></td>"
                             f"<td>{cp.change * 100:+.1f}% ({cp.before:.4g} &rarr; {cp.after:.4g}"
                             f" {e(s.unit)})</td><td>{cp.p:.2g}</td><td>{e(p.run_id)}</td>"
                             f"<td><code>{e(p.revision)}</code></td></tr>")
                h.append("</table>")
        h.append("<h3>Runs</h3><table><tr><th>#</th><th>time</th><th>revision</th>"
                 "<th>profile</th><th>host</th><th>run</th></tr>")
        for i, (rid, _, rev, dirty, t, profile, host, source) in enumerate(mruns):
            h.append(f"<tr><td>{i}</td><td>{e(t)}</td><td><code>{e(rev)}{'+dirty' if dirty else ''}"
                     f"</code></td><td>{e(profile)}</td><td>{e(host)}</td>"
                     f'<td><a class="run" href="{e(run_link(source))}">{e(rid)}</a></td></tr>')
        h.append("</table></section>")
    h.append(f"<script>{SCRIPT}</script></body></html>\n")
    return "".join(h), charts, ncps


def main(argv):
    ap = parser("history dashboard", "Write DIR/index.html: a static, offline page of the "
                "history (a chart per benchmark family and machine, change points marked).")
    ap.add_argument("--db", default=None, help="SQLite file or postgresql:// URL "
                    "(default results/history.db)")
    ap.add_argument("--out", required=True, metavar="DIR")
    ap.add_argument("--benchmark", metavar="RE", help="only benchmarks whose name matches RE")
    history.add_method(ap)
    history.add_point(ap)
    a = ap.parse_args(argv)
    bench_re = history.bench_regex(ap, a.benchmark) if a.benchmark else None
    db = a.db or history.DEFAULT_DB
    try:
        os.makedirs(a.out, exist_ok=True)
    except OSError as err:
        ap.error(f"--out {a.out}: cannot create the folder ({err.strerror})")
    with store.Store(db, create=False) as st:
        text, charts, ncps = page(st, a.metric, bench_re, method=a.method, statistic=a.statistic)
    if charts == 0:
        raise files.ResultError(f"{db}: no series of metric {a.metric!r} to draw")
    path = os.path.join(a.out, "index.html")
    files.write_text(path, text, mode=0o644)     # a page is for readers
    print(f"{path}: {charts} charts, {ncps} change points")
    return 0
