"""judge.py and scripts/compare: the rule that decides "regression", on runs
made from results/baseline's per-repetition rows; options refused before any
build; a corrupt or incomplete baseline refused by name; SIGTERM mid-build."""
import contextlib
import glob
import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from mmfresults import files
from mmfresults.__main__ import main as cli

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BASELINE = os.path.join(TOP, "results", "baseline")
# The baseline holds 5 repetitions per benchmark: the fewest for which the
# two-sided U test can reach p < 0.01 (2/252 = 0.0079 with no overlap).
BASELINE_REPS = 5
# A usage error must come back before any build could have started.
USAGE_SECONDS = 10


def run_cli(argv):
    """(status, stdout, stderr) of python3 -m mmfresults ARGV, in process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli(argv)
        except SystemExit as e:     # argparse's exit
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def make_runs(dest, factor=1.0, only=None):
    """dest/<driver>.json: the baseline's per-repetition rows, real and cpu
    time multiplied by factor for the rows whose name matches only (all when
    None). Returns the names of the benchmarks."""
    os.makedirs(dest, exist_ok=True)
    names = set()
    for path in sorted(glob.glob(os.path.join(BASELINE, "bench_*.json"))):
        doc = files.load_gbench(path)
        rows = [r for r in doc["benchmarks"] if r.get("run_type") == "iteration"]
        for r in rows:
            names.add(r["name"])
            if only is None or re.search(only, r["name"]):
                r["real_time"] *= factor
                r["cpu_time"] *= factor
        doc["benchmarks"] = rows
        files.write_json(os.path.join(dest, os.path.basename(path)), doc)
    return names


class JudgeRuleTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmf-test-judge.")
        self.base = os.path.join(self.dir, "base")
        self.names = make_runs(self.base)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def judge(self, head, *extra):
        out = os.path.join(self.dir, "out")
        rc, so, se = run_cli(["judge", self.base, head, "--out", out,
                              "--min-reps", str(BASELINE_REPS), *extra])
        cj = os.path.join(out, "compare.json")
        doc = files.load_json(cj) if rc in (0, 1) and os.path.exists(cj) else None
        return rc, so, se, doc

    def times(self):
        """{name: [real_time per repetition]} of the base."""
        out = {}
        for path in glob.glob(os.path.join(self.base, "*.json")):
            for r in files.load_gbench(path)["benchmarks"]:
                out.setdefault(r["name"], []).append(r["real_time"])
        return out

    def time_rows(self, doc):
        return [r for r in doc["results"] if r["metric"] == "time"]

    def test_aa_copy_has_no_regression(self):
        head = os.path.join(self.dir, "head")
        make_runs(head)
        rc, so, se, doc = self.judge(head)
        self.assertEqual(rc, 0, se)
        self.assertEqual(doc["regressions"], 0)
        self.assertEqual(len(self.time_rows(doc)), len(self.names))
        self.assertIn(f"judged {len(self.names)} benchmarks", so)

    def test_times_doubled_is_a_regression_everywhere(self):
        head = os.path.join(self.dir, "head")
        make_runs(head, factor=2.0)
        rc, so, se, doc = self.judge(head)
        self.assertEqual(rc, 1, se)
        flagged = {r["benchmark"] for r in self.time_rows(doc) if r["verdict"] == "REGRESSION"}
        # With 5 repetitions a side, p < 0.01 needs the two samples apart: a
        # benchmark whose own spread exceeds 2x (cold reads) cannot be flagged.
        apart = {n for n, t in self.times().items() if max(t) < 2 * min(t)}
        self.assertEqual(flagged, apart)
        self.assertGreater(len(apart), 0.9 * len(self.names))
        self.assertTrue(all(abs(r["change_pct"] - 100.0) < 1e-6 for r in self.time_rows(doc)))

    def test_slowdown_below_threshold_is_not_a_regression(self):
        head = os.path.join(self.dir, "head")
        make_runs(head, factor=1.09)
        rc, so, se, doc = self.judge(head)
        self.assertEqual(rc, 0, se)
        self.assertEqual(doc["regressions"], 0)
        # The U test does see it where the 5 repetitions of the baseline lie
        # within 9 % of each other (6 benchmarks: p = 2/252), but 6 of 183 at
        # 0.0079 is not significant in the family at q = 0.01; at q = 0.5 it
        # is (0.0079 <= 6/183 * 0.5), and then only the threshold decides.
        self.assertTrue(any(r["p"] < 0.01 for r in self.time_rows(doc)))
        rc, so, se, doc = self.judge(head, "--alpha", "0.5")
        self.assertEqual(rc, 0, se)
        rc, so, se, doc = self.judge(head, "--threshold", "5", "--alpha", "0.5")
        self.assertEqual(rc, 1, se)

    def test_only_the_doubled_family_members_are_flagged(self):
        head = os.path.join(self.dir, "head")
        make_runs(head, factor=2.0, only="^BM_Write/")
        # With 5 repetitions (p >= 2/252) a family of 183 needs q = 0.5 to let
        # a few dozen regressions through: p(k) <= k/183 * q.
        rc, so, se, doc = self.judge(head, "--alpha", "0.5")
        self.assertEqual(rc, 1, se)
        flagged = {r["benchmark"] for r in doc["results"] if r["verdict"] == "REGRESSION"}
        apart = {n for n, t in self.times().items()
                 if n.startswith("BM_Write/") and max(t) < 2 * min(t)}
        # Every doubled row whose samples lie apart, a few overlapping ones
        # (q = 0.5 is lenient), and nothing outside BM_Write.
        self.assertLessEqual(apart, flagged)
        self.assertTrue(all(n.startswith("BM_Write/") for n in flagged), flagged)
        self.assertIn(f"{len(flagged)} regression(s)", so)

    def test_a_lone_regression_needs_enough_repetitions(self):
        # Benjamini-Hochberg asks a lone regression among m = 183 for
        # p <= 0.01/183; 5 repetitions a side cannot go below 2/252: the
        # judge does not flag it, and says so in its detectable column.
        one = sorted(self.names)[0]
        head = os.path.join(self.dir, "head")
        make_runs(head, factor=2.0, only="^" + re.escape(one) + "$")
        rc, so, se, doc = self.judge(head)
        self.assertEqual(rc, 0, se)
        self.assertTrue(all(r["detectable_pct"] is None for r in self.time_rows(doc)))
        self.assertIn(" none ", so)
        # Judged alone (a family of one) the same data is a regression.
        pattern = "^" + re.escape(one) + "$"
        for side in ("base1", "head1"):
            src = self.base if side == "base1" else head
            rc, so, se = run_cli(["judge-baseline", src, os.path.join(self.dir, side),
                                  "--filter", pattern])
            self.assertEqual(rc, 0, se)
        out = os.path.join(self.dir, "out1")
        rc, so, se = run_cli(["judge", os.path.join(self.dir, "base1"),
                              os.path.join(self.dir, "head1"), "--out", out,
                              "--min-reps", str(BASELINE_REPS)])
        self.assertEqual(rc, 1, se)
        doc = files.load_json(os.path.join(out, "compare.json"))
        self.assertEqual([r["benchmark"] for r in doc["results"]
                          if r["verdict"] == "REGRESSION"], [one])

    def test_aa_with_nonsense_rule_is_refused_not_judged(self):
        head = os.path.join(self.dir, "head")
        make_runs(head)
        for extra, word in ((["--threshold", "-50", "--alpha", "2"], "--threshold"),
                            (["--alpha", "2"], "--alpha"), (["--alpha", "0"], "--alpha"),
                            (["--threshold", "0"], "--threshold"),
                            (["--threshold", "nan"], "--threshold"),
                            (["--threshold", "abc"], "--threshold")):
            rc, so, se, doc = self.judge(head, *extra)
            self.assertEqual(rc, 2, extra)
            self.assertEqual(len(se.strip().splitlines()), 1, se)
            self.assertIn(word, se)

    def test_corrupt_run_file_is_refused_by_name(self):
        head = os.path.join(self.dir, "head")
        make_runs(head)
        p = os.path.join(head, "bench_read.json")
        with open(p, "rb") as f:
            raw = f.read()
        with open(p, "wb") as f:
            f.write(raw[: len(raw) // 2])
        rc, so, se, _ = self.judge(head)
        self.assertEqual(rc, 1)
        self.assertIn("bench_read.json", se)
        self.assertEqual(len(se.strip().splitlines()), 1, se)

    def test_failed_rows_are_refused(self):
        head = os.path.join(self.dir, "head")
        make_runs(head)
        p = os.path.join(head, "bench_read.json")
        doc = files.load_gbench(p)
        doc["benchmarks"][0]["error_occurred"] = True
        doc["benchmarks"][0]["error_message"] = "setup failed"
        files.write_json(p, doc)
        rc, so, se, _ = self.judge(head)
        self.assertEqual(rc, 1)
        self.assertIn("failed", se)

    def test_nothing_in_common_exits_2(self):
        head = os.path.join(self.dir, "head")
        os.makedirs(head)
        files.write_json(os.path.join(head, "bench_x.json"), {"benchmarks": [
            {"name": "BM_X", "run_type": "iteration", "real_time": 1.0}]})
        rc, so, se, _ = self.judge(head)
        self.assertEqual(rc, 2)


class BaselineImportTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmf-test-judge.")
        self.copy = os.path.join(self.dir, "baseline")
        shutil.copytree(BASELINE, self.copy)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_import_keeps_only_filtered_rows(self):
        dest = os.path.join(self.dir, "base")
        rc, so, se = run_cli(["judge-baseline", self.copy, dest, "--filter", "^BM_Read/"])
        self.assertEqual(rc, 0, se)
        self.assertEqual(os.listdir(dest), ["bench_read.json"])
        n = len({r["name"] for r in files.load_gbench(os.path.join(dest, "bench_read.json"))["benchmarks"]})
        self.assertIn(f": {n} benchmarks", so)

    def test_truncated_baseline_json_is_refused_by_name(self):
        p = os.path.join(self.copy, "bench_sync.json")
        with open(p, "rb") as f:
            raw = f.read()
        with open(p, "wb") as f:
            f.write(raw[: len(raw) // 2])
        dest = os.path.join(self.dir, "base")
        rc, so, se = run_cli(["judge-baseline", self.copy, dest, "--filter", "^BM_Read/"])
        self.assertEqual(rc, 1)
        self.assertIn("bench_sync.json", se)
        self.assertFalse(os.path.exists(dest), "nothing imported from a corrupt baseline")

    def test_incomplete_baseline_is_refused(self):
        with open(os.path.join(self.copy, files.MARKER), "w") as f:
            f.write("in progress: bench\n")
        rc, so, se = run_cli(["judge-baseline", self.copy, "--filter", "."])
        self.assertEqual(rc, 1)
        self.assertIn("incomplete", se)


class CompareScriptTest(unittest.TestCase):
    """scripts/compare in a scratch clone: a git repository holding a copy
    of scripts/ (and, for the signal test, a bench/ whose build sleeps)."""

    def setUp(self):
        self.top = tempfile.mkdtemp(prefix="mmf-test-compare.")
        shutil.copytree(os.path.join(TOP, "scripts"), os.path.join(self.top, "scripts"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        self.corrupt = os.path.join(self.top, "corrupt")
        shutil.copytree(BASELINE, self.corrupt)
        p = os.path.join(self.corrupt, "bench_read.json")
        with open(p, "rb") as f:
            raw = f.read()
        with open(p, "wb") as f:
            f.write(raw[: len(raw) // 2])

    def tearDown(self):
        shutil.rmtree(self.top)

    def git_commit(self):
        git = ["git", "-C", self.top, "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run(git + ["init", "-q"], check=True)
        subprocess.run(git + ["add", "-A"], check=True)
        subprocess.run(git + ["commit", "-qm", "t", "--allow-empty"], check=True)

    def compare(self, *args):
        t0 = time.monotonic()
        res = subprocess.run([os.path.join(self.top, "scripts", "compare"), *args],
                             capture_output=True, text=True, timeout=120)
        return res.returncode, res.stdout, res.stderr, time.monotonic() - t0

    def assert_refused_before_work(self, args, status, word):
        self.git_commit()
        for d in ("build", "results"):     # what an earlier subtest's failure left
            shutil.rmtree(os.path.join(self.top, d), ignore_errors=True)
        rc, so, se, secs = self.compare("--base", "HEAD", "--head", "HEAD", *args)
        self.assertEqual(rc, status, f"{args}: {se}")
        self.assertEqual(len(se.strip().splitlines()), 1, f"{args}: {se}")
        self.assertIn(word, se)
        self.assertLess(secs, USAGE_SECONDS)
        self.assertFalse(os.path.exists(os.path.join(self.top, "build")), f"{args} started a build")
        self.assertFalse(os.path.exists(os.path.join(self.top, "results")), f"{args} made a run folder")

    def test_bad_options_exit_2_before_any_build(self):
        for args, word in ((["--threshold", "abc"], "--threshold"),
                           (["--threshold", "-50", "--alpha", "2"], "--threshold"),
                           (["--alpha", "2"], "--alpha"),
                           (["--threshold"], "--threshold"),
                           (["--out"], "--out"),
                           (["--filter", "("], "--filter"),
                           (["--rounds", "3"], "--rounds"),
                           (["--inject-slow", "x"], "--inject-slow"),
                           (["--inject-msync", "x"], "--inject-msync"),
                           (["--self-test", "--runs", "0"], "--runs"),
                           (["--self-test", "--kinds", "aa,bogus"], "--kinds"),
                           (["--self-test", "--kinds", ","], "--kinds"),
                           (["--baseline", os.path.join(self.top, "nope")], "nope")):
            with self.subTest(args=args):
                self.assert_refused_before_work(args, 2, word)

    def test_corrupt_baseline_exit_1_by_name_before_any_build(self):
        self.assert_refused_before_work(["--baseline", self.corrupt], 1, "bench_read.json")

    def test_out_is_created_and_a_run_that_could_not_judge_looks_incomplete(self):
        self.git_commit()           # a revision without bench/: cannot build
        out = os.path.join(self.top, "new", "out")
        rc, so, se, _ = self.compare("--base", "HEAD", "--head", "HEAD", "--out", out)
        self.assertEqual(rc, 2, se)
        self.assertIn("no benchmarks", se)
        self.assertTrue(os.path.isfile(os.path.join(out, files.MARKER)))

    def test_sigterm_mid_build_stops_the_build_and_exits_143(self):
        bench = os.path.join(self.top, "bench")
        os.makedirs(bench)
        token = f"{os.getpid() % 1000 + 17}.{int(time.time()) % 9973}"
        with open(os.path.join(bench, "CMakeLists.txt"), "w") as f:
            f.write("cmake_minimum_required(VERSION 3.13)\nproject(slow NONE)\n"
                    f"add_custom_target(slow ALL COMMAND sleep {token})\n")
        with open(os.path.join(self.top, "CMakeLists.txt"), "w") as f:
            f.write("cmake_minimum_required(VERSION 3.13)\nproject(top NONE)\nadd_subdirectory(bench)\n")
        self.git_commit()
        out = os.path.join(self.top, "out")
        proc = subprocess.Popen([os.path.join(self.top, "scripts", "compare"), "--base", "HEAD",
                                 "--head", "HEAD", "--out", out],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            sleeper = None
            deadline = time.monotonic() + 60
            while sleeper is None and time.monotonic() < deadline and proc.poll() is None:
                time.sleep(0.2)
                sleeper = self.find("sleep " + token)
            self.assertIsNotNone(sleeper, "the fake build never started")
            proc.send_signal(signal.SIGTERM)
            # An orphaned build would hold the pipes open: wait for the exit only.
            proc.wait(timeout=30)
            left = self.find("sleep " + token)
        finally:
            if proc.poll() is None:
                proc.kill()
            orphan = self.find("sleep " + token)
            if orphan:
                os.kill(orphan, signal.SIGKILL)
            so, se = proc.communicate(timeout=30)
        self.assertEqual(proc.returncode, 143, se)
        self.assertIn("interrupted", se)
        self.assertIsNone(left, "the build's child outlived scripts/compare")
        with open(os.path.join(out, files.MARKER)) as f:
            self.assertIn("interrupted", f.read())
        src = os.path.join(self.top, "build", "compare", "src")
        self.assertEqual([n for n in os.listdir(src) if n.startswith(".")], [], "scratch left")

    @staticmethod
    def find(cmdline):
        """The pid of a process whose command line is exactly cmdline, or None."""
        for pid in os.listdir("/proc"):
            if not pid.isdigit():
                continue
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    if f.read().replace(b"\0", b" ").strip() == cmdline.encode():
                        return int(pid)
            except OSError:
                pass
        return None



def gbench_rows(name, times, counters):
    """Google Benchmark iteration rows: one per time, with counters."""
    return [dict({"name": name, "run_type": "iteration", "iterations": 4096,
                  "real_time": t, "cpu_time": t, "time_unit": "us"}, **counters)
            for t in times]


class ExactCountersTest(unittest.TestCase):
    """An extra msync every 1000 appends: +4 syncs on 4096 records, exactly,
    while the time moves within its noise."""
    ROW = "BM_Write/api:append_buffer/opts:default/sync:64/rec:64/iterations:4096/real_time"
    CONTROL = "BM_Write/api:pwrite/opts:none/sync:64/rec:64/iterations:4096/real_time"

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmf-test-judge-exact.")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def side(self, tag, seed, syncs):
        import random
        rnd = random.Random(seed)
        times = [70.0 * rnd.uniform(0.7, 1.4) for _ in range(9)]
        ctl = [66.0 * rnd.uniform(0.7, 1.4) for _ in range(9)]
        rows = (gbench_rows(self.ROW, times, {"syncs": syncs, "remaps": 1, "minflt": 67})
                + gbench_rows(self.CONTROL, ctl, {"minflt": 0}))
        for i, r in enumerate(rows[9:]):
            r["minflt"] = (i + seed) % 3      # a count that varies
        d = os.path.join(self.dir, tag)
        os.makedirs(d)
        files.write_json(os.path.join(d, "bench_write.json"), {"context": {}, "benchmarks": rows})
        return d

    def judge(self, base, head):
        out = os.path.join(self.dir, "out")
        rc, so, se = run_cli(["judge", base, head, "--out", out])
        return rc, so, se, files.load_json(os.path.join(out, "compare.json"))

    def test_an_extra_sync_per_1000_is_flagged_exactly(self):
        rc, so, se, doc = self.judge(self.side("base", 1, 64), self.side("head", 2, 68))
        self.assertEqual(rc, 1, se)
        flagged = [(r["benchmark"], r["metric"], r["test"]) for r in doc["results"]
                   if r["verdict"] == "REGRESSION"]
        self.assertEqual(flagged, [(self.ROW, "syncs", "exact")])
        self.assertIn("exact", so)

    def test_aa_with_constant_counters_flags_nothing(self):
        rc, so, se, doc = self.judge(self.side("base", 1, 64), self.side("head", 2, 64))
        self.assertEqual(rc, 0, se)
        exact = {(r["benchmark"], r["metric"]) for r in doc["results"] if r["test"] == "exact"}
        self.assertEqual(exact, {(self.ROW, "syncs"), (self.ROW, "remaps"), (self.ROW, "minflt")})
        # The control's page faults vary: judged by the U test, not exactly.
        ctl = [r for r in doc["results"] if r["benchmark"] == self.CONTROL and r["metric"] == "minflt"]
        self.assertEqual([r["test"] for r in ctl], ["U+BH"])

    def test_detectable_slowdown_follows_the_spread(self):
        rc, so, se, doc = self.judge(self.side("base", 1, 64), self.side("head", 2, 64))
        t = {r["benchmark"]: r["detectable_pct"] for r in doc["results"] if r["metric"] == "time"}
        # +-20 % noise, 9 repetitions a side, level 0.01/2: about 30-60 %.
        self.assertTrue(all(20 < v < 80 for v in t.values()), t)


class BenjaminiHochbergTest(unittest.TestCase):
    def test_step_up(self):
        from mmfresults.judge import bh_significant
        # m = 5, q = 0.05: k/m*q = .01 .02 .03 .04 .05; the largest k with
        # p(k) <= k/m*q is 3 (0.029 <= 0.03), so the first three, though
        # p(2) = 0.021 > 0.02 on its own.
        sig, adj = bh_significant([0.029, 0.005, 0.3, 0.021, 0.2], 0.05)
        self.assertEqual(sig, {0, 1, 3})
        self.assertAlmostEqual(adj[1], 0.025)
        self.assertAlmostEqual(adj[0], 0.029 * 5 / 3)
        self.assertEqual(bh_significant([0.5, 0.9], 0.01)[0], set())


class DeviceCountersTest(unittest.TestCase):
    """Device bytes per record and write amplification of the rows that sync
    are judged (noisy metrics, never exact); a row that never syncs and a
    side that did not count (-1) are left out."""
    SYNC1 = "BM_Write/api:append_buffer/opts:default/sync:1/rec:64/iterations:256/real_time"
    SCEN = "BM_Sync/scenario:reused_write/rec:1024/folios:small/iterations:128/real_time"
    NEVER = "BM_Write/api:append_buffer/opts:default/sync:never/rec:64/iterations:4096/real_time"
    NOROOT = "BM_Write/api:pwrite/opts:none/sync:1/rec:64/iterations:256/real_time"

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmf-test-judge-device.")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def rows(self, name, rnd, it, rec, per_rec, own=True):
        """9 repetitions with time and device counters jittered by +-2 %."""
        out = []
        for _ in range(9):
            b = it * per_rec * rnd.uniform(0.98, 1.02)
            c = {"dev_write_bytes": 1.5 * b, "own_write_bytes": b if own else -1,
                 "write_amp": 1.5 * b / (it * rec), "own_write_amp": b / (it * rec) if own else -1}
            out += gbench_rows(name, [100.0 * rnd.uniform(0.9, 1.1)], dict(c, iterations=it))
        return out

    def side(self, tag, seed, amp=1.0, never=1.0, scen=1.0):
        import random
        rnd = random.Random(seed)
        rows = (self.rows(self.SYNC1, rnd, 256, 64, 5120 * amp) + self.rows(self.SCEN, rnd, 128, 1024, 4800 * scen)
                + self.rows(self.NEVER, rnd, 4096, 64, 70 * never) + self.rows(self.NOROOT, rnd, 256, 64, 8192, own=False))
        d = os.path.join(self.dir, tag)
        os.makedirs(d)
        files.write_json(os.path.join(d, "bench_write.json"), {"context": {}, "benchmarks": rows})
        return d

    def judge(self, base, head):
        out = os.path.join(self.dir, "out-" + os.path.basename(head))
        rc, so, se = run_cli(["judge", base, head, "--out", out])
        return rc, so, se, files.load_json(os.path.join(out, "compare.json"))

    def test_write_amplification_doubling_is_a_regression(self):
        rc, so, se, doc = self.judge(self.side("base", 1), self.side("head", 2, amp=2.0, never=2.0))
        self.assertEqual(rc, 1, se)
        flagged = {(r["benchmark"], r["metric"]) for r in doc["results"] if r["verdict"] == "REGRESSION"}
        self.assertEqual(flagged, {(self.SYNC1, m) for m in
                                   ("dev_write_bytes", "own_write_bytes", "write_amp", "own_write_amp")})
        r = next(r for r in doc["results"] if r["benchmark"] == self.SYNC1 and r["metric"] == "own_write_bytes")
        self.assertAlmostEqual(r["base_median"], 5120, delta=120)     # per record, not per repetition
        self.assertEqual(r["test"], "U+BH")
        self.assertIn("own_write_amp", so)

    def test_what_is_not_judged(self):
        rc, so, se, doc = self.judge(self.side("base", 1), self.side("head", 2, never=2.0))
        self.assertEqual(rc, 0, se)
        metrics = {(r["benchmark"], r["metric"]) for r in doc["results"]}
        self.assertFalse({m for b, m in metrics if b == self.NEVER} & {"dev_write_bytes", "write_amp"})
        self.assertIn((self.NOROOT, "dev_write_bytes"), metrics)
        self.assertNotIn((self.NOROOT, "own_write_bytes"), metrics)
        self.assertIn((self.SCEN, "own_write_amp"), metrics)

    def test_a_small_change_is_under_the_threshold(self):
        rc, so, se, doc = self.judge(self.side("base", 1), self.side("head", 2, scen=1.05))
        self.assertEqual(rc, 0, se)
        self.assertEqual(doc["regressions"], 0)


if __name__ == "__main__":
    unittest.main()
