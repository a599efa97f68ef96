"""Change points in a performance series: E-divisive means + Student's t-test.

The method of D. Daly, W. Brown, H. Ingo, J. O'Leary, D. Bradford, "The Use
of Change Point Detection to Identify Software Performance Regressions in a
Continuous Integration System", ICPE 2020 (MongoDB), which uses the
E-divisive means statistic of D. S. Matteson and N. A. James, "A
Nonparametric Approach for Multiple Change Point Analysis of Multivariate
Data", JASA 109(505), 2014; as simplified by Hunter (DataStax,
github.com/datastax-labs/hunter, now Apache Otava; M. Fleming et al.,
"Hunter: Using Change Point Detection to Hunt for Performance Regressions",
ICPE 2023): the permutation test of each candidate is replaced by a
Student's t-test between the two sides, which is deterministic and cheap.
Written here from the papers (no such package is in Debian).

  detect(values, method=DEFAULT_METHOD) -> [ChangePoint(index, before, after, change, p)]
  point(repetitions, statistic=DEFAULT_STATISTIC) -> one run's point of a series

index is the first point of the new level (0-based); before/after are the
means of the segments on either side (bounded by the neighbouring change
points); change = (after - before) / before; p the two-sided p-value of
Welch's t-test (Student's t distribution, variances not assumed equal)
between those segments. method="rank" (METHODS below, the default) is the
same search on ranks with the Mann-Whitney U test, and medians as
before/after: the variant that meets the validation targets best on this
machine's heavy-tailed noise. A series needs min_points(method) points
before anything can be reported (10 for t, 14 for rank).

Steps:
1. Candidates (E-divisive, bisection): in every segment between the change
   points found so far, take the split tau that maximises the energy
   statistic Q(tau) = m k / (m + k) * (2/(m k) sum|x_i - y_j|
   - sum_{i<j}|x_i - x_j| / C(m,2) - sum_{i<j}|y_i - y_j| / C(k,2)),
   both sides at least MIN_SIZE points; test it with the t-test; accept the
   most significant candidate of all segments if p < P_MAX; repeat until no
   candidate passes.
2. Pruning (Hunter's merge): recompute every change point's p against its
   neighbours' segments; drop the weakest while one has p >= P_MAX.

Costs: O(n^2) time and O(n) memory per segment scan. The threshold P_MAX and
its validation (detection of a 5 % step, false change points on A/A series
with this machine's noise) are in README.md "Performance history".
"""
import collections
import math

import numpy as np
from scipy import stats

# Significance threshold of a change point: two-sided p of the method's test.
# 0.001 is Hunter's default; validated here on series with this machine's
# measured noise (tests/test_changepoint.py, README "Performance history").
P_MAX = 0.001
# Fewest points on each side of a split: a level needs a few runs before it
# counts (fewer lets one or two outliers at a series' end look like a change);
# 5 keeps a regression visible after 5 commits, the +-5 points the validation
# asks of its location.
MIN_SIZE = 5

ChangePoint = collections.namedtuple("ChangePoint", "index before after change p")

# --- what a point of a series is ------------------------------------------------
# The one place that defines it (history's series, detect, the dashboard,
# backfill and validate all use point()): one run's repetitions of a metric
# reduced to one number by a statistic. Timing noise on a shared machine is
# one-sided (a neighbour's load only adds time), so a low statistic of the
# repetitions tracks the code and not the load; which one is chosen by the
# validation on this machine's measured A/A noise (README "Performance
# history"). The store keeps every repetition, so any of them can be asked
# for (--statistic, --metric) on old runs as well.
STATISTICS = {
    "median": lambda v: float(np.median(v)),
    "min": lambda v: float(np.min(v)),
    # the lower quartile, linear interpolation: of 5 repetitions the 2nd lowest
    "q1": lambda v: float(np.percentile(v, 25)),
}
STATISTIC_NAMES = {"median": "the median", "min": "the minimum", "q1": "the lower quartile"}
DEFAULT_STATISTIC = "min"
DEFAULT_METRIC = "cpu_time"


def point(repetitions, statistic=DEFAULT_STATISTIC):
    """One run's point: statistic (a STATISTICS key) of its repetitions (a
    non-empty sequence of numbers)."""
    return STATISTICS[statistic](np.asarray(repetitions, dtype=float))


def point_name(metric=DEFAULT_METRIC, statistic=DEFAULT_STATISTIC):
    """'the minimum of real_time over a run's repetitions': for pages and help."""
    return f"{STATISTIC_NAMES[statistic]} of {metric} over a run's repetitions"


def energy_split(x, min_size=MIN_SIZE):
    """(tau, Q) of the split of x (1-d array) maximising the energy statistic,
    or None when x is shorter than 2 * min_size."""
    n = len(x)
    if n < 2 * max(min_size, 2):
        return None
    # row_left[t] = sum_{i<t} |x_i - x_t|; row_right[t] = sum_{j>t} |x_j - x_t|.
    row_left = np.empty(n)
    row_right = np.empty(n)
    for t in range(n):
        d = np.abs(x - x[t])
        row_left[t] = d[:t].sum()
        row_right[t] = d[t + 1:].sum()
    total = row_left.sum()                                      # sum over pairs i<j
    left = np.concatenate(([0.0], np.cumsum(row_left)))         # left[tau]: pairs within x[:tau]
    right = np.concatenate((np.cumsum(row_right[::-1])[::-1], [0.0]))  # right[tau]: within x[tau:]
    taus = np.arange(min_size, n - min_size + 1)
    m = taus.astype(float)
    k = n - m
    within_l = left[taus]
    within_r = right[taus]
    cross = total - within_l - within_r
    q = (m * k / n) * (2.0 * cross / (m * k) - within_l / (m * (m - 1) / 2)
                       - within_r / (k * (k - 1) / 2))
    best = int(np.argmax(q))
    return int(taus[best]), float(q[best])


def t_test(a, b):
    """Two-sided p of Welch's t-test between a and b; 1.0 when undefined."""
    if len(a) < 2 or len(b) < 2:
        return 1.0
    va, vb = np.var(a, ddof=1), np.var(b, ddof=1)
    if va == 0 and vb == 0:
        return 0.0 if np.mean(a) != np.mean(b) else 1.0
    p = stats.ttest_ind(a, b, equal_var=False).pvalue
    return 1.0 if math.isnan(p) else float(p)


def u_test(a, b):
    """Two-sided p of the Mann-Whitney U test between a and b (judge.u_pvalue)."""
    from .judge import u_pvalue
    return u_pvalue(list(a), list(b))


# The detectors: name -> (transform of a segment before its energy split,
# significance test of a split, the level printed as before/after).
#   t     E-divisive means on the values, Welch's t-test, means (Daly et al. /
#         Hunter, above).
#   rank  (the default) E-divisive on the segment's ranks, Mann-Whitney U
#         test, medians: the same bisection and pruning with rank statistics,
#         so that one slow run
#         (a noisy neighbour on a shared runner: a point 2x or 17x its level,
#         measured in README "Performance history") moves a rank by at most one
#         place instead of inflating the variance the t-test divides by. The
#         single-change form of this test is Pettitt's (A. N. Pettitt, "A
#         non-parametric approach to the change-point problem", Applied
#         Statistics 28(2), 1979: the Mann-Whitney statistic over every split).
#         The energy split of ranks is Matteson & James's statistic on a
#         monotone transform of the data (bounded, so its moment condition
#         holds whatever the data's tail); it is validated here (README), not
#         covered by their consistency proof (ranks are not independent).
METHODS = {
    "t": (lambda v: v, t_test, np.mean),
    "rank": (stats.rankdata, u_test, np.median),
}
DEFAULT_METHOD = "rank"
# What each method is, in the words pages and help use.
METHOD_NAMES = {
    "t": "E-divisive means with a t-test",
    "rank": "E-divisive on ranks with a Mann-Whitney U test",
}


def min_points(method=DEFAULT_METHOD, p_max=P_MAX, min_size=MIN_SIZE):
    """The fewest points a series needs before the method can report a change
    point at all: 2 * min_size for the t-test; for the rank test, whose
    smallest p with m and k points on the two sides is the exact
    Mann-Whitney 2 / C(m + k, m) (every point of one side below every point
    of the other), the n whose even split can reach p < p_max: 14 at 0.001
    (7 + 7: 2 / 3432; 12 points give at best 2 / 924 = 0.0022)."""
    n = 2 * min_size
    if method == "rank":
        while 2 / math.comb(n, n // 2) >= p_max:
            n += 1
    return n


def _bounds(cps, n):
    return [0] + sorted(cps) + [n]


def detect(values, p_max=P_MAX, min_size=MIN_SIZE, method=DEFAULT_METHOD):
    """The change points of values (a sequence of numbers), by index, with the
    detector METHODS[method]."""
    transform, test, level = METHODS[method]
    x = np.asarray(values, dtype=float)
    if x.ndim != 1 or not np.all(np.isfinite(x)):
        raise ValueError("a series is a list of finite numbers")
    n = len(x)
    cps = set()
    tested = {}   # segment (lo, hi) -> (p, tau): a segment's best split is fixed
    while True:
        best = None
        b = _bounds(cps, n)
        for lo, hi in zip(b, b[1:]):
            if (lo, hi) not in tested:
                split = energy_split(np.asarray(transform(x[lo:hi]), dtype=float), min_size)
                if split is None:
                    tested[(lo, hi)] = (1.0, None)
                else:
                    tau = lo + split[0]
                    tested[(lo, hi)] = (test(x[lo:tau], x[tau:hi]), tau)
            p, tau = tested[(lo, hi)]
            if tau is not None and p < p_max and (best is None or p < best[0]):
                best = (p, tau)
        if best is None:
            break
        cps.add(best[1])
    while cps:   # pruning: each change point against its neighbours' segments
        b = _bounds(cps, n)
        ps = {b[i]: test(x[b[i - 1]:b[i]], x[b[i]:b[i + 1]]) for i in range(1, len(b) - 1)}
        worst = max(ps, key=ps.get)
        if ps[worst] < p_max:
            break
        cps.discard(worst)
    out = []
    b = _bounds(cps, n)
    for i in range(1, len(b) - 1):
        left, right = x[b[i - 1]:b[i]], x[b[i]:b[i + 1]]
        before, after = float(level(left)), float(level(right))
        change = (after - before) / before if before else math.inf
        out.append(ChangePoint(b[i], before, after, change, test(left, right)))
    return out


def format_point(cp):
    """The one line `history detect` prints for a change point."""
    return (f"change-point index={cp.index} before={cp.before:.6g} after={cp.after:.6g} "
            f"change={cp.change * 100:+.2f}% p={cp.p:.3g}")


# --- validation on synthetic series with measured noise -----------------------
# The figures of README "Performance history" (`history validate`). A point of
# a history series is point() of one run's repetitions, so the noise of a
# point is the spread of that statistic across A/A runs (one build, one
# machine, runs one after another), not the spread of the repetitions within
# a run: measured here, per-run medians spread 2-3 times more than medians of
# independent repetitions would, with a heavy right tail (a run that shared
# the machine with another job: 1.5 to 17 times its level). So a synthetic
# point is drawn at random, with replacement, from one benchmark's measured
# A/A per-run points divided by their median: the measured distribution
# itself (a bootstrap), no normal model. The step series have a +STEP step at
# STEP_AT of SERIES_LEN points.
SERIES_LEN = 100
STEP_AT = 50
STEP = 0.05
TOLERANCE = 5      # a step is found when a change point lies within +-5 points
AA_SEED = 1000     # the A/A series use seeds AA_SEED.., the step series 0..


def synthetic(seed, pool, step=0.0, n=SERIES_LEN, at=STEP_AT):
    """n points drawn from pool (A/A per-run values, scaled to median 1) with
    the numpy generator of seed; the points from at on times 1 + step."""
    pool = np.asarray(pool, dtype=float)
    x = np.random.default_rng(seed).choice(pool / np.median(pool), size=n, replace=True)
    x[at:] *= 1.0 + step
    return x


def validate(pool, seeds=10, step=STEP, method=DEFAULT_METHOD, p_max=P_MAX):
    """(steps found, other change points on the step series, false change points
    on the A/A series) over `seeds` series of each kind drawn from pool."""
    found = other = false = 0
    for seed in range(seeds):
        cps = detect(synthetic(seed, pool, step), p_max, method=method)
        near = [c for c in cps if abs(c.index - STEP_AT) <= TOLERANCE]
        found += bool(near)
        other += len(cps) - min(len(near), 1)
        false += len(detect(synthetic(AA_SEED + seed, pool), p_max, method=method))
    return found, other, false


def step_statistics(pool, step=STEP, n=SERIES_LEN, at=STEP_AT):
    """(t, z): the statistics of each method's test between the two sides of a
    step at its true place, expected for points drawn from pool: Welch's
    t = step / (sd * sqrt(1/m + 1/k)) (sd: the pool's stdev / mean), and the
    Mann-Whitney z = (A - 1/2) / sqrt((m + k + 1) / (12 m k)), A the
    probability that a point before the step is below one after it (over
    every pair of the pool, ties counting 1/2). m = at, k = n - at points. A
    change point needs |t| or |z| past about 3.3 (p < 0.001) at the true
    split, and a margin to win over the splits next to it."""
    v = np.asarray(pool, dtype=float)
    v = v / np.median(v)
    m, k = at, n - at
    t = step / (np.std(v, ddof=1) / np.mean(v) * math.sqrt(1 / m + 1 / k))
    after = v * (1 + step)
    a = (np.mean(v[:, None] < after[None, :]) + 0.5 * np.mean(v[:, None] == after[None, :]))
    z = (a - 0.5) / math.sqrt((m + k + 1) / (12 * m * k))
    return float(t), float(z)


def spread(values):
    """(robust, classical) relative spread of values: 1.4826 * median absolute
    deviation / median (the normal sigma for normal data, blind to a few
    outliers), and stdev / mean."""
    v = np.asarray(values, dtype=float)
    med = np.median(v)
    return (float(1.4826 * np.median(np.abs(v - med)) / med),
            float(np.std(v, ddof=1) / np.mean(v)))
