"""scripts/report (mmfresults.cli_report): a corrupt, truncated or incomplete
results folder is refused by name (exit 1), bad usage is one line and exit 2
before any work, a full disk leaves no truncated chart, and a report writes
its stage record report.json with what it counted."""
import contextlib
import errno
import io
import os
import shutil
import subprocess
import sys
import tempfile
import unittest
from unittest import mock

from mmfresults import __main__ as entry
from mmfresults import files

SCRIPTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOP = os.path.dirname(SCRIPTS)
BASELINE = os.path.join(TOP, "results", "baseline")
WAL = os.path.join(TOP, "results", "specs", "wal.json")


def report(*args, env=None):
    """python3 -m mmfresults report ARGS: (exit status, stdout, stderr)."""
    e = dict(os.environ, PYTHONPATH=SCRIPTS, PYTHONDONTWRITEBYTECODE="1")
    e.pop("MMF_RUN_TOKEN", None)
    e.update(env or {})
    p = subprocess.run([sys.executable, "-m", "mmfresults", "report"] + list(args), env=e, cwd=TOP,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=300)
    return p.returncode, p.stdout, p.stderr


def in_process(*args):
    """The entry point in this process (for mocks): (exit status, stderr)."""
    err = io.StringIO()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        rc = entry.main(["report"] + list(args))
    return rc, err.getvalue()


class ReportTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmf-test-report.")
        self.res = os.path.join(self.dir, "run")
        os.mkdir(self.res)

    def tearDown(self):
        shutil.rmtree(self.dir)

    def copy(self, *names):
        for n in names or [f for f in os.listdir(BASELINE) if f.endswith(".json")]:
            shutil.copy(os.path.join(BASELINE, n), self.res)

    def one_line(self, err):
        lines = [l for l in err.splitlines() if not l.startswith("[")]
        self.assertEqual(len(lines), 1, err)
        self.assertNotIn("Traceback", err)
        return lines[0]

    # --- unusable results: exit 1, by name -----------------------------------
    def test_truncated_json_is_refused_by_name(self):
        # before: exit 0, and the report said bench_read.json was "missing"
        self.copy()
        p = os.path.join(self.res, "bench_read.json")
        with open(p, "rb") as f:
            raw = f.read()
        with open(p, "wb") as f:
            f.write(raw[: len(raw) // 2])
        rc, out, err = report(self.res, "--no-default-specs")
        line = self.one_line(err)
        self.assertEqual(rc, 1, err)
        self.assertIn("bench_read.json", line)
        self.assertIn("truncated", line)
        self.assertNotIn("missing", line)
        self.assertFalse(os.path.exists(os.path.join(self.res, "report.md")))
        self.assertEqual(files.read_stage(self.res, "report")["verdict"], "fail")

    def test_wrong_shape_and_corrupt_json_are_refused_by_name(self):
        for name, text in (("bench_sync.json", "[]"), ("bench_sync.json", '{"benchmarks": 5}'),
                           ("context.json", "{not json"), ("bench_write.json", "")):
            with self.subTest(name=name, text=text):
                shutil.rmtree(self.res)
                os.mkdir(self.res)
                self.copy("bench_sync.json", "context.json")
                with open(os.path.join(self.res, name), "w") as f:
                    f.write(text)
                rc, _, err = report(self.res, "--no-default-specs")
                self.assertEqual(rc, 1, err)
                self.assertIn(name, self.one_line(err))

    def test_corrupt_validation_file_is_refused_by_name(self):
        self.copy("bench_sync.json", "bench_write.json", "bench_growth.json")
        os.mkdir(os.path.join(self.res, "validate"))
        for text in ('{"rows": [', '{"rows": 5}', '{"rows": [{"figure": "x"}], "phase_a": {}}', "[]"):
            with self.subTest(text=text):
                with open(os.path.join(self.res, "validate", "wal-per-record-sync.json"), "w") as f:
                    f.write(text)
                rc, _, err = report(self.res, "--no-default-specs", "--workload", WAL)
                self.assertEqual(rc, 1, err)
                self.assertIn("wal-per-record-sync.json", self.one_line(err))

    def test_incomplete_run_is_refused_unless_it_is_ours(self):
        self.copy("bench_sync.json", "context.json")
        with open(os.path.join(self.res, files.MARKER), "w") as f:
            f.write("in progress: scripts/bench started now by pid 1\ntoken=t0k3n\n")
        rc, _, err = report(self.res, "--no-default-specs")
        self.assertEqual(rc, 1, err)
        self.assertIn("incomplete run", self.one_line(err))
        self.assertFalse(os.path.exists(os.path.join(self.res, "report.json")), "no record in someone else's run")
        rc, out, err = report(self.res, "--no-default-specs", env={"MMF_RUN_TOKEN": "t0k3n"})
        self.assertEqual(rc, 0, err)

    def test_a_report_records_what_it_counted(self):
        self.copy("bench_sync.json", "context.json")
        out = os.path.join(self.dir, "new", "out")
        rc, stdout, err = report(self.res, "--out", out, "--no-default-specs")
        self.assertEqual(rc, 0, err)
        rec = files.read_stage(out, "report")
        self.assertEqual(rec["verdict"], "pass")
        self.assertEqual(rec["counts"]["specs"], 0)
        self.assertGreaterEqual(rec["counts"]["charts"], 2)       # sync latency, noise
        self.assertTrue(os.path.exists(os.path.join(out, "sync_latency.svg")))
        self.assertIn("%d charts" % rec["counts"]["charts"], stdout)

    # --- bad usage: exit 2, one line, nothing done -----------------------------
    def test_bad_usage_is_one_line_and_exit_2(self):
        self.copy("bench_sync.json")
        for args in (["--validate", WAL, "--budget", "0"], ["--validate", WAL, "--budget", "-1"],
                     ["--validate", WAL, "--budget", "nan"], ["--validate", WAL, "--budget", "inf"],
                     ["--validate", WAL, "--budget"], ["--validate"], [self.res, "--workload"],
                     [self.res, "--out"], [self.res, "--budget", "5"], [self.res, "--bogus"], [],
                     [os.path.join(self.dir, "nonexistent")],
                     [self.res, "--workload", "record_bytes=1024,write_rate_mb_s=1,recods_per_sync=1,roll_size_mib=64"],
                     [self.res, "--workload", os.path.join(self.dir, "no-such-spec.json")],
                     ["--validate", "record_bytes=1024,write_rate_mb_s=1,sync_interval_ms=-5,roll_size_mib=64"]):
            with self.subTest(args=args):
                rc, out, err = report(*args)
                self.assertEqual(rc, 2, err)
                self.one_line(err)
                self.assertEqual(os.listdir(self.res), ["bench_sync.json"])

    def test_the_bash_wrapper_checks_options_before_it_builds(self):
        # scripts/report --validate builds the release preset's mmf_loadgen: a bad
        # option must stop it first (exit 2, one line, no build output)
        env = dict(os.environ)
        env.pop("MMF_RUN_TOKEN", None)
        for args, rc in ((["--validate", WAL, "--budget", "0"], 2), (["--validate", WAL, "--budget"], 2),
                         (["--validate", "recods_per_sync=1"], 2), ([], 2), (["--help"], 0)):
            with self.subTest(args=args):
                p = subprocess.run([os.path.join(SCRIPTS, "report")] + args, env=env, cwd=self.dir,
                                   stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)
                self.assertEqual(p.returncode, rc, p.stderr)
                self.assertNotIn("build release", p.stdout + p.stderr)
                if rc:
                    self.one_line(p.stderr)
                else:
                    self.assertIn("--validate", p.stdout)

    # --- a full disk: one line, no truncated chart --------------------------------
    def test_full_disk_leaves_no_truncated_chart(self):
        # before: a traceback and a truncated SVG. Every savefig to a path writes
        # half a file and fails (what a direct write does on a full disk); every
        # fsync fails (what an atomic write sees).
        from matplotlib.figure import Figure
        real = Figure.savefig

        def half_then_enospc(fig, fname, *a, **kw):
            if isinstance(fname, (str, os.PathLike)) and not os.fspath(fname).endswith(".png"):
                with open(fname, "w") as f:
                    f.write("<svg")
                raise OSError(errno.ENOSPC, "No space left on device")
            return real(fig, fname, *a, **kw)

        def no_space(fd):
            raise OSError(errno.ENOSPC, "No space left on device")

        self.copy("bench_sync.json", "context.json")
        with mock.patch.object(Figure, "savefig", half_then_enospc), mock.patch.object(files.os, "fsync", no_space):
            try:
                rc, err = in_process(self.res, "--no-default-specs")
            except Exception as e:      # the old behaviour: a traceback
                self.fail("not one line: %r" % e)
        self.assertEqual(rc, 1, err)
        self.assertIn("No space left on device", self.one_line(err))
        self.assertEqual(sorted(os.listdir(self.res)), ["bench_sync.json", "context.json"])

    def test_validate_refuses_a_planted_scratch_parent(self):
        from mmfresults import validate
        theirs = os.path.join(self.dir, "theirs")
        os.mkdir(theirs)
        os.symlink(theirs, os.path.join(self.dir, "link"))
        with mock.patch.dict(os.environ, {"MMF_BENCH_DIR": os.path.join(self.dir, "link")}):
            with self.assertRaisesRegex(files.ResultError, "MMF_BENCH_DIR.*symlink"):
                validate.validate(None, None, print, 1.0, "/nonexistent/loadgen")
        self.assertEqual(os.listdir(theirs), [])



class DeviceSectionTest(unittest.TestCase):
    """report.md's Device work: amplification per scenario with the fix on
    (folios:small) and off (folios:keep), and the counters of every row that
    syncs."""

    def test_scenarios_fix_on_and_off(self):
        from mmfresults import data, report as R
        from mmfresults.tests.test_model import write_bench
        d = tempfile.mkdtemp(prefix="mmf-test-report-dev.")
        self.addCleanup(shutil.rmtree, d)
        sc = "BM_Sync/scenario:reused_write/rec:1024/folios:%s/iterations:128/real_time"
        c = lambda per_sync, folio: {"iterations": 128, "own_write_bytes_per_sync": per_sync,  # noqa: E731
                                     "dev_write_bytes_per_sync": 2 * per_sync, "own_write_amp": per_sync / 1024,
                                     "write_amp": 2 * per_sync / 1024, "own_write_bytes": 128 * per_sync,
                                     "dev_write_bytes": 256 * per_sync, "goal_ratio": per_sync / 4096,
                                     "folio_max_kib": folio, "dirty_amp": 4}
        write_bench(d, "bench_sync", [(sc % "small", c(4710, 4)), (sc % "keep", c(1049600, 1024)),
                                      # not root: own_* are -1, the device-wide figures stand in
                                      ("BM_Sync/scenario:fresh/rec:1024/folios:small/iterations:128/real_time",
                                       {"iterations": 128, "own_write_bytes_per_sync": -1,
                                        "dev_write_bytes_per_sync": 6144, "own_write_amp": -1, "write_amp": 6,
                                        "own_write_bytes": -1, "dev_write_bytes": 128 * 6144})])
        write_bench(d, "bench_write", [
            ("BM_Write/api:append_buffer/opts:default/sync:never/rec:64/iterations:64/real_time",
             {"iterations": 64, "dev_write_bytes": 1e6, "own_write_bytes": 0}),
            ("BM_Write/api:append_buffer/opts:default/sync:1/rec:64/iterations:256/real_time",
             {"iterations": 256, "dev_write_bytes": 256 * 8192, "own_write_bytes": -1, "write_amp": 128,
              "own_write_amp": -1})])
        text = "\n".join(R.device_section(data.load(d, drivers=["bench_write", "bench_sync"])))
        self.assertIn("| reused_write | 1024 | 4.6 | 1025.0 | 4.6x | 1025.0x | 1.15 | 256.25 | 4 / 1024 |", text)
        self.assertIn("| fresh | 1024 | 6.0 | n/a | 6.0x | n/a | n/a | n/a | n/a / n/a |", text)
        self.assertIn("Device counters of every row that syncs (4)", text)
        self.assertIn("| `BM_Write/api:append_buffer/opts:default/sync:1/rec:64` | 8.0 | n/a | 128.00 | n/a | n/a |",
                      text)
        self.assertNotIn("sync:never", text)


if __name__ == "__main__":
    unittest.main()
