"""changepoint.py and `history detect`: the energy statistic, detection on known
series, the validation figures at this machine's measured noise, the CLI."""
import contextlib
import io
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

import numpy as np

from mmfresults import changepoint, history
from mmfresults.tests.test_history import HOSTILE, TOP, tiny_history, tiny_run

HISTORY = os.path.join(TOP, "scripts", "history")
LINE = re.compile(r"^change-point index=(\d+) before=(\S+) after=(\S+) change=(\S+)% p=(\S+)$")


def brute_q(x, tau):
    """Matteson & James's Q-hat at tau, from the definition (alpha = 1)."""
    a, b = x[:tau], x[tau:]
    m, k = len(a), len(b)
    cross = np.abs(a[:, None] - b[None, :]).sum() * 2 / (m * k)
    wa = np.abs(a[:, None] - a[None, :]).sum() / 2 / (m * (m - 1) / 2)
    wb = np.abs(b[:, None] - b[None, :]).sum() / 2 / (k * (k - 1) / 2)
    return m * k / (m + k) * (cross - wa - wb)


def run(args, **kw):
    return subprocess.run([HISTORY] + args, capture_output=True, text=True, **kw)


class ChangePointTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmf-test-cp.")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def csv(self, values, name="s.csv", header=True):
        p = os.path.join(self.dir, name)
        with open(p, "w") as f:
            if header:
                f.write("index,value\n")
            for i, v in enumerate(values):
                f.write(f"{i},{v!r}\n")
        return p

    def test_energy_split_is_the_statistic_of_the_paper(self):
        for seed in range(5):
            x = np.random.default_rng(seed).normal(size=23)
            tau, q = changepoint.energy_split(x, 3)
            qs = {t: brute_q(x, t) for t in range(3, 21)}
            best = max(qs, key=qs.get)
            self.assertEqual(tau, best)
            self.assertAlmostEqual(q, qs[best], places=9)

    def test_two_steps_are_found_where_they_are(self):
        rng = np.random.default_rng(7)
        x = np.concatenate([100 + rng.normal(0, 1, 40), 120 + rng.normal(0, 1, 30),
                            110 + rng.normal(0, 1, 30)])
        cps = changepoint.detect(x)
        self.assertEqual([c.index for c in cps], [40, 70])
        self.assertAlmostEqual(cps[0].change, 0.20, delta=0.01)
        self.assertLess(cps[0].p, 1e-9)
        self.assertEqual(changepoint.detect(100 + rng.normal(0, 1, 60)), [])

    def test_measured_noise_validation(self):
        """README's figures at this machine's measured A/A noise (results/aa-noise/), a 5 %
        step: how many benchmarks meet both targets (>= 9/10 found, <= 1 false change point)
        with the default point (the minimum of cpu_time) and method (rank), against the old
        point (the median of real_time); each seed is fixed, so the counts are exact. Two
        of them through the command's code."""
        folder = os.path.dirname(history.DEFAULT_NOISE)
        want = {"reps-quick.json": (30, 13, 5, 0), "pairs-quick.json": (24, 13, 3, 0),
                "pairs-full.json": (24, 11, 7, 0)}
        self.assertEqual(os.path.basename(history.DEFAULT_NOISE), "reps-quick.json")
        self.assertEqual((changepoint.DEFAULT_METRIC, changepoint.DEFAULT_STATISTIC,
                          changepoint.DEFAULT_METHOD), ("cpu_time", "min", "rank"))
        met_pools = []
        for name, (runs, benchmarks, met_new, met_old) in want.items():
            noise = history.load_noise(os.path.join(folder, name))
            self.assertEqual((noise["runs"], len(noise["benchmarks"])), (runs, benchmarks))
            got = []
            for point in ((changepoint.DEFAULT_METRIC, changepoint.DEFAULT_STATISTIC),
                          ("real_time", "median")):
                met = 0
                for pool in history.noise_pools(noise, *point).values():
                    self.assertGreater(changepoint.spread(pool)[0], 0.01)   # real noise
                    found, _, false = changepoint.validate(pool)
                    met += found >= 9 and false <= 1
                    if point[1] == "min":
                        self.assertLessEqual(false, 1, name)
                        if found >= 9 and name == "reps-quick.json":
                            met_pools.append(pool)
                got.append(met)
            self.assertEqual(tuple(got), (met_new, met_old), name)
        for pool in met_pools[:2]:
            found = 0
            for seed in range(10):       # through the command's code (in this process: fast)
                x = changepoint.synthetic(seed, pool, changepoint.STEP)
                out, err = io.StringIO(), io.StringIO()
                with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                    self.assertEqual(history.main(["detect", "--series", self.csv(x)]), 0)
                idx = [int(LINE.match(l).group(1)) for l in out.getvalue().splitlines()]
                found += any(abs(i - changepoint.STEP_AT) <= changepoint.TOLERANCE for i in idx)
            self.assertGreaterEqual(found, 9)

    def test_rank_method_is_blind_to_outlier_runs(self):
        """A +5 % step under 1 % noise, with a busy spell (6 runs in a row 8x slow) and
        a few single runs 5-17x slow: the rank method finds the step where it is; the
        t-test's variance is swamped, and the energy split of the raw values would
        isolate the spell (at 26) instead."""
        rng = np.random.default_rng(3)
        x = np.r_[np.full(50, 100.0), np.full(50, 105.0)] * rng.normal(1, 0.01, 100)
        x[20:26] *= 8.0
        for i, f in ((7, 17.0), (62, 5.0), (88, 9.0)):
            x[i] *= f
        self.assertEqual(changepoint.energy_split(x)[0], 26)
        self.assertEqual([c.index for c in changepoint.detect(x, method="rank")], [50])
        self.assertNotIn(50, [c.index for c in changepoint.detect(x, method="t")])
        cp = changepoint.detect(x, method="rank")[0]
        self.assertAlmostEqual(cp.change, 0.05, delta=0.01)    # medians, not means

    def test_step_statistics_follow_the_normal_theory(self):
        """Normal points with sd 5 % and a 5 % step, 50 + 50 points: t = 0.05 / (0.05 *
        sqrt(2/50)) = 5; A = Phi(1 / sqrt 2) = 0.760, z = 0.260 / sqrt(101 / 30000) = 4.48."""
        pool = np.random.default_rng(5).normal(1.0, 0.05, 3000)
        t, z = changepoint.step_statistics(pool, 0.05)
        self.assertAlmostEqual(t, 5.0, delta=0.2)
        self.assertAlmostEqual(z, 4.48, delta=0.15)
        self.assertEqual(changepoint.step_statistics(pool[:200].round(2), 0.0), (0.0, 0.0))  # ties
        t, z = changepoint.step_statistics(np.r_[pool, [17.0]], 0.05)   # one outlier run
        self.assertLess(t, 1.0)
        self.assertAlmostEqual(z, 4.48, delta=0.15)

    def test_validate_measures_aa_runs_and_keeps_the_noise(self):
        runs = []
        for r in range(history.MIN_AA_RUNS):
            d = tiny_run(os.path.join(self.dir, f"aa{r}"), f"2026-01-01T00:{r:02d}:00Z",
                         {"BM_A/x:1": 100.0 * (1 + 0.01 * (r % 4)), "BM_B/x:2": 50.0 + r})
            os.rename(os.path.join(d, "bench_x.json"), os.path.join(d, "bench_write.json"))
            runs.append(d)
        saved = os.path.join(self.dir, "noise.json")
        p = run(["validate", "--runs"] + runs + ["--save", saved, "--seeds", "2"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn(f"{history.MIN_AA_RUNS} runs of 2 benchmarks", p.stdout)
        self.assertEqual(len([l for l in p.stdout.splitlines() if "A/A false" in l]), 2)
        noise = history.load_noise(saved)
        self.assertEqual(noise["schema"], history.NOISE_SCHEMA)
        b = noise["benchmarks"]["BM_B/x:2"]          # every repetition of both times, per run
        np.testing.assert_allclose(b["real_time"][1], [51 * (1 + 0.001 * r) for r in range(5)])
        np.testing.assert_allclose(b["cpu_time"][1], [51.0] * 5)
        pools = {(m, s): history.noise_pools(noise, m, s)["BM_B/x:2"][:3]
                 for m in history.NOISE_METRICS for s in changepoint.STATISTICS}
        np.testing.assert_allclose(pools["real_time", "median"], [50.1, 51.102, 52.104])
        np.testing.assert_allclose(pools["real_time", "min"], [50, 51, 52])
        np.testing.assert_allclose(pools["real_time", "q1"], [50.05, 51.051, 52.052])
        np.testing.assert_allclose(pools["cpu_time", "median"], [50, 51, 52])
        p2 = run(["validate", "--noise", saved, "--seeds", "2", "--method", "all",
                  "--metric", "all", "--statistic", "all"])
        self.assertEqual(p2.returncode, 0, p2.stderr)
        self.assertIn("rank: found", p2.stdout)
        self.assertIn("t: found", p2.stdout)
        summary = re.findall(r"^(\S+) (\S+) (\S+): \d+ of 2 benchmarks meet both targets",
                             p2.stdout, re.M)
        self.assertEqual(sorted(summary), sorted((m, s, k) for m in history.NOISE_METRICS
                                                 for s in changepoint.STATISTICS
                                                 for k in changepoint.METHODS))
        other = tiny_run(os.path.join(self.dir, "other"), "2026-01-02T00:00:00Z",
                         {"BM_A/x:1": 100.0}, revision="1" * 40)
        os.rename(os.path.join(other, "bench_x.json"), os.path.join(other, "bench_write.json"))
        p = run(["validate", "--runs"] + runs[1:] + [other, "--seeds", "1"])
        self.assertEqual(p.returncode, 0, p.stderr)     # revisions are noted, not refused
        self.assertIn(f"revision {'0' * 12} {'1' * 12},", p.stdout)
        self.assertIn("1 benchmarks", p.stdout)          # only BM_A ran in every folder
        elsewhere = tiny_run(os.path.join(self.dir, "elsewhere"), "2026-01-02T00:00:00Z",
                             {"BM_A/x:1": 100.0}, kernel="7.0")
        os.rename(os.path.join(elsewhere, "bench_x.json"),
                  os.path.join(elsewhere, "bench_write.json"))
        with open(os.path.join(self.dir, "bad.json"), "w") as f:
            f.write('{"schema": "mmf-aa-noise/1", "benchmarks": {"a": [1, 2]}}')
        with open(os.path.join(self.dir, "bad2.json"), "w") as f:   # medians in a /2 file
            f.write('{"schema": "mmf-aa-noise/2", "benchmarks": {"a": {"real_time": %s, '
                    '"cpu_time": %s}}}' % ([1.0] * 10, [[1.0]] * 10))
        old = os.path.join(os.path.dirname(history.DEFAULT_NOISE), "quiet.json")
        for args, code, text in ((["--runs"] + runs[:3], 2, "at least"),
                                 (["--noise", os.path.join(self.dir, "bad2.json")], 1,
                                  "not an A/A noise file"),
                                 (["--noise", old, "--statistic", "min"], 1,
                                  "keeps only each run's median real_time"),
                                 (["--noise", old, "--metric", "cpu_time",
                                   "--statistic", "median"], 1, "not the median of cpu_time"),
                                 (["--statistic", "max"], 2, "--statistic"),
                                 (["--runs"] + runs[1:] + [elsewhere], 1, "2 machines"),
                                 (["--noise", os.path.join(self.dir, "bad.json")], 1,
                                  "not an A/A noise file"),
                                 (["--save", saved], 2, "--save needs --runs"),
                                 (["--step", "0"], 2, "--step")):
            p = run(["validate"] + args)
            self.assertEqual(p.returncode, code, (args, p.stderr))
            self.assertIn(text, p.stderr)
            self.assertEqual(p.stderr.strip().count("\n"), 0, p.stderr)

    def test_series_cli_prints_one_line_per_change_point(self):
        x = [10.0] * 20 + [11.0] * 20
        x = [v + 0.01 * (i % 3) for i, v in enumerate(x)]
        p = run(["detect", "--series", self.csv(x, header=False)])
        self.assertEqual(p.returncode, 0, p.stderr)
        m = LINE.match(p.stdout.strip())
        self.assertTrue(m, p.stdout)
        self.assertEqual(int(m.group(1)), 20)
        self.assertAlmostEqual(float(m.group(4)), 10.0, delta=0.3)
        self.assertIn("40 points, 1 change points", p.stderr)

    def test_series_cli_refuses_bad_input_in_one_line(self):
        bad = os.path.join(self.dir, "bad.csv")
        with open(bad, "w") as f:
            f.write("index,value\n0,1.0\n1,abc\n")
        for args, code, text in ((["detect", "--series", bad], 1, "line 3"),
                                 (["detect", "--series", self.csv([1.0] * 5)], 1,
                                  f"at least {changepoint.min_points()}"),
                                 (["detect", "--series", os.path.join(self.dir, "no.csv")], 1,
                                  "cannot read"),
                                 (["detect", "--bogus"], 2, "unrecognized")):
            p = run(args)
            self.assertEqual(p.returncode, code, (args, p.stderr))
            self.assertIn(text, p.stderr)
            self.assertEqual(p.stderr.strip().count("\n"), 0, p.stderr)

    def test_detect_over_the_store_stays_within_one_machine(self):
        db = os.path.join(self.dir, "h.db")
        # machine K1: 12 runs, the first benchmark 10 % slower from run 6 on;
        # machine K2: 12 later runs at another level (another machine, not a change).
        tiny_history(self.dir, db, [100.0] * 6 + [110.0] * 6, kernel="K1",
                     names=(HOSTILE, "BM_B/x:2"), revision_suffix="\x1b]0;owned\x07")
        tiny_history(self.dir, db, [110.0] * 12, kernel="K2", start=12,
                     names=(HOSTILE, "BM_B/x:2"))
        # 12 runs: the t-test (the rank test needs 14: changepoint.min_points)
        p = run(["detect", "--db", db, "--benchmark", "DROP", "--method", "t"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("within each machine fingerprint only", p.stdout)
        cps = [l for l in p.stdout.splitlines() if "change-point" in l]
        self.assertEqual(len(cps), 1, p.stdout)
        self.assertIn("index=6 ", cps[0])
        self.assertIn(f"revision={6:040x}\\x1b]0;owned\\x07 ", cps[0])   # shown, not sent
        self.assertNotIn("\x1b", p.stdout)
        self.assertIn(HOSTILE, p.stdout)
        self.assertIn("2 series", p.stdout)
        p = run(["detect", "--db", db, "--benchmark", "DROP", "--all-machines", "--method", "t"])
        self.assertIn("across all 2 machines", p.stdout)
        self.assertEqual(len([l for l in p.stdout.splitlines() if "change-point" in l]), 1)
        self.assertIn("1 series", p.stdout)
        p = run(["detect", "--db", db, "--benchmark", "^NOMATCH$"])
        self.assertEqual(p.returncode, 2)
        p = run(["detect", "--db", db, "--benchmark", "("])
        self.assertEqual(p.returncode, 2)
        young = os.path.join(self.dir, "young.db")    # 3 runs: nothing can be analysed
        tiny_history(os.path.join(self.dir, "y"), young, [100.0] * 3)
        p = run(["detect", "--db", young])
        self.assertEqual(p.returncode, 1, p.stdout)
        self.assertIn("nothing was analysed", p.stderr)

class PointTest(unittest.TestCase):
    """What a point of a series is (changepoint.point, the default statistic) and what a
    method needs before it can report anything (changepoint.min_points)."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmf-test-point.")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_statistics_of_a_run(self):
        reps = [5.0, 1.0, 3.0, 2.0, 4.0]
        self.assertEqual({s: changepoint.point(reps, s) for s in changepoint.STATISTICS},
                         {"median": 3.0, "min": 1.0, "q1": 2.0})
        self.assertEqual(changepoint.point(reps),
                         changepoint.point(reps, changepoint.DEFAULT_STATISTIC))
        self.assertEqual(changepoint.point([7.0], "q1"), 7.0)
        self.assertEqual(changepoint.point_name("cpu_time", "q1"),
                         "the lower quartile of cpu_time over a run's repetitions")

    def test_min_points_is_where_the_rank_test_can_first_pass(self):
        """A perfectly separated step (every point before below every point after):
        the t-test reports it from 10 points on; the rank test's exact p is 2 / C(n, n/2),
        which passes 0.001 from 14 points (7 + 7) and never at 13."""
        self.assertEqual(changepoint.min_points("t"), 10)
        self.assertEqual(changepoint.min_points("rank"), 14)
        for n, want in ((13, []), (14, [7])):
            x = [100.0 + 0.01 * i for i in range(n // 2)] + \
                [110.0 + 0.01 * i for i in range(n - n // 2)]
            self.assertEqual([c.index for c in changepoint.detect(x, method="rank")], want, n)
        with open(os.path.join(self.dir, "s.csv"), "w") as f:
            f.write("".join(f"{i},{100 + (i >= 6)}\n" for i in range(12)))
        p = run(["detect", "--series", os.path.join(self.dir, "s.csv"), "--method", "rank"])
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("12 points; a change point (rank) needs at least 14", p.stderr)
        p = run(["detect", "--series", os.path.join(self.dir, "s.csv"), "--method", "t"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("index=6 ", p.stdout)

    def test_store_series_use_the_chosen_statistic(self):
        """16 runs of BM_A: from run 8 on, 3 of each run's 5 repetitions are 40 % slow
        (a load spell: the median moves) while its fastest repetition does not; from run
        8 on BM_B's every repetition is 10 % slower (the code: every statistic moves).
        The default point (the minimum) sees BM_B's step only; --statistic median sees
        both. --method t: the steps' p are not the point here."""
        db = os.path.join(self.dir, "h.db")
        calm, spell = [1.0, 1.001, 1.002, 1.003, 1.004], [1.0, 1.4, 1.4, 1.4, 1.001]
        for i in range(16):
            history.ingest(db, tiny_run(os.path.join(self.dir, f"r{i}"),
                                        f"2026-03-01T{i:02d}:00:00Z",
                                        {"BM_A/x:1": 100.0, "BM_B/x:2": 100.0 * (1.1 if i >= 8
                                                                                 else 1.0)},
                                        revision=f"{i:040x}",
                                        factors=spell if i >= 8 else calm), out=io.StringIO())
        with history.store.Store(db, create=False) as st:
            mins = history.load_series(st, "real_time", re.compile("BM_A"))[0].values()
            meds = history.load_series(st, "real_time", re.compile("BM_A"),
                                       statistic="median")[0].values()
        self.assertEqual(mins, [100.0] * 16)
        self.assertEqual(meds, [100.2] * 8 + [140.0] * 8)

        def changed(*extra):
            p = run(["detect", "--db", db, "--metric", "real_time", "--method", "t"] + list(extra))
            self.assertEqual(p.returncode, 0, p.stderr)
            return p.stdout, sorted(re.findall(r"^(BM_\S+) real_time", p.stdout, re.M))
        out, names = changed()
        self.assertEqual(names, ["BM_B/x:2"], out)
        self.assertIn(f"a point is {changepoint.point_name('real_time')};", out)
        out, names = changed("--statistic", "median")
        self.assertEqual(names, ["BM_A/x:1", "BM_B/x:2"], out)
        self.assertIn("a point is the median of real_time", out)
        from mmfresults import dashboard
        with history.store.Store(db, create=False) as st:     # the page draws the same points
            for statistic, ncps in (("min", 1), ("median", 2)):
                _, charts, found = dashboard.page(st, "real_time", method="t",
                                                  statistic=statistic)
                self.assertEqual((charts, found), (2, ncps), statistic)

    def test_a_store_of_another_schema_is_refused_in_one_line(self):
        """The point is computed when a series is read (every repetition is stored), so the
        store's schema is unchanged (mmf-history/1); a store of any other version is refused."""
        db = os.path.join(self.dir, "old.db")
        tiny_history(self.dir, db, [100.0] * changepoint.min_points())
        self.assertEqual(history.store.SCHEMA_VERSION, "mmf-history/1")
        self.assertEqual(run(["detect", "--db", db]).returncode, 0)
        conn = sqlite3.connect(db)
        conn.execute("UPDATE meta SET value = 'mmf-history/0' WHERE key = 'schema'")
        conn.commit()
        conn.close()
        for args in (["detect", "--db", db], ["runs", "--db", db],
                     ["dashboard", "--db", db, "--out", os.path.join(self.dir, "d")]):
            p = run(args)
            self.assertEqual(p.returncode, 1, (args, p.stderr))
            self.assertEqual(p.stderr.strip(), f"history: {db}: schema 'mmf-history/0', "
                             "expected 'mmf-history/1'", args)

    def test_old_median_noise_files_still_validate(self):
        """results/aa-noise/quiet.json (mmf-aa-noise/1, each run's median real_time)."""
        old = os.path.join(os.path.dirname(history.DEFAULT_NOISE), "quiet.json")
        p = run(["validate", "--noise", old, "--metric", "real_time", "--statistic", "median",
                 "--seeds", "1", "--method", "rank"])
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("24 runs of 13 benchmarks", p.stdout)
        self.assertIn("real_time median rank: ", p.stdout)


class BackfillTest(unittest.TestCase):
    """backfill's usage checks and its verdict (the builds and runs themselves take a
    minute or more: README "Performance history" gives a measured run)."""

    def test_usage_and_verdict(self):
        from mmfresults import backfill
        for args in (["--revs", "3"], ["--revs", "10", "--inject-at", "9"],
                     ["--revs", "10", "--inject-ns", "0"], ["--revs", "x"]):
            p = run(["backfill"] + args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertEqual(p.stderr.strip().count("\n"), 0, p.stderr)
        d = tempfile.mkdtemp(prefix="mmf-test-backfill.")
        try:
            db = os.path.join(d, "h.db")
            tiny_history(d, db, [100.0] * 6 + [130.0] * 6, names=("BM_A/x:1",))
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertEqual(backfill.verdict(db, "^BM_A/", f"{6:040x}"), 0)
                self.assertEqual(backfill.verdict(db, "^BM_A/", f"{5:040x}"), 1)
                self.assertEqual(backfill.verdict(db, "^NOMATCH", f"{6:040x}"), 2)
            self.assertIn("named", out.getvalue())
        finally:
            shutil.rmtree(d)


if __name__ == "__main__":
    unittest.main()
