"""data.py, the summary, check-drivers and fio-check on copies of results/baseline:
truncated and wrongly shaped JSON refused by name, all-failed drivers
reported as failed, every failure listed, counts that add up."""
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from mmfresults import __main__ as cli
from mmfresults import data, files, fio

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BASELINE = os.path.join(TOP, "results", "baseline")


def put(path, text):
    with open(path, "wb" if isinstance(text, bytes) else "w") as f:
        f.write(text)


def get(path, mode="r"):
    with open(path, mode) as f:
        return f.read()


def run_cli(*argv):
    """(exit status, stdout, stderr) of python3 -m mmfresults ARGV, in-process."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            rc = cli.main(list(argv))
        except SystemExit as e:
            rc = e.code
    return rc, out.getvalue(), err.getvalue()


def fail_rows(path, n=None, message="pread: Input/output error"):
    """Turn the rows of the first n benchmarks (all when None) of a driver JSON into error rows."""
    doc = json.loads(get(path))
    names = []
    for r in doc["benchmarks"]:
        if r.get("run_type") == "iteration" and r["run_name"] not in names:
            names.append(r["run_name"])
    chosen = set(names if n is None else names[:n])
    for r in doc["benchmarks"]:
        if r.get("run_name") in chosen:
            r["error_occurred"], r["error_message"] = True, message
    put(path, json.dumps(doc))
    return sorted(chosen)


class BenchDataTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mmf-test-bench.")
        self.dir = os.path.join(self.tmp, "run")
        shutil.copytree(BASELINE, self.dir)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def path(self, leaf):
        return os.path.join(self.dir, leaf)

    # --- §1: corrupt and truncated input ---------------------------------
    def test_truncated_bench_read_refused_by_name(self):
        raw = get(self.path("bench_read.json"), "rb")
        put(self.path("bench_read.json"), raw[: len(raw) // 2])
        with self.assertRaises(files.ResultError) as cm:
            data.load(self.dir)
        self.assertIn("bench_read.json", str(cm.exception))
        self.assertIn("truncated", str(cm.exception))
        rc, out, err = run_cli("summary", self.dir)
        self.assertEqual(rc, 1)
        self.assertEqual(out, "")
        self.assertEqual(len(err.splitlines()), 1, err)
        self.assertIn("bench_read.json", err)
        self.assertNotIn("missing", err)

    def test_wrong_shape_is_one_line(self):
        put(self.path("bench_read.json"), "[1, 2, 3]")
        rc, _, err = run_cli("summary", self.dir)
        self.assertEqual((rc, len(err.splitlines())), (1, 1), err)
        self.assertIn("bench_read.json", err)
        doc = json.loads(get(self.path("bench_sync.json")))
        doc["benchmarks"][0]["real_time"] = "fast"
        doc["benchmarks"][0].pop("error_occurred", None)
        put(self.path("bench_sync.json"), json.dumps(doc))
        shutil.copy(os.path.join(BASELINE, "bench_read.json"), self.path("bench_read.json"))
        rc, _, err = run_cli("summary", self.dir)
        self.assertEqual((rc, len(err.splitlines())), (1, 1), err)
        self.assertIn("bench_sync.json", err)

    def test_incomplete_folder_refused(self):
        put(self.path(files.MARKER), "in progress: bench\ntoken=zz\n")
        with self.assertRaisesRegex(files.ResultError, "incomplete run"):
            data.load(self.dir)

    def test_no_benchmark_json_is_an_error(self):
        empty = os.path.join(self.tmp, "empty")
        os.mkdir(empty)
        rc, _, err = run_cli("summary", empty)
        self.assertEqual(rc, 1)
        self.assertIn("no benchmark JSON", err)

    # --- §1: failures are reported, all of them ---------------------------
    def test_driver_whose_rows_all_failed_is_failed(self):
        fail_rows(self.path("bench_sync.json"), message="mmf_open: Permission denied")
        rc, out, _ = run_cli("summary", self.dir, "--stage", "bench")
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"bench_sync\s+FAILED: all 38 benchmarks failed")
        rec = files.read_stage(self.dir, "bench")
        self.assertEqual(rec["verdict"], "fail")
        self.assertEqual(rec["counts"]["failed_drivers"], 1)
        self.assertEqual(rec["counts"]["failed"], 38)

    def test_84_failures_all_listed(self):
        names = fail_rows(self.path("bench_read.json")) + fail_rows(self.path("bench_write.json"), 4)
        self.assertEqual(len(names), 84)
        rc, out, _ = run_cli("summary", self.dir)
        self.assertEqual(rc, 1)
        for n in names:
            self.assertIn(n, out)
        self.assertIn("84 failed", out)

    def test_all_skipped_is_skipped_not_failed(self):
        fail_rows(self.path("bench_ltm.json"), message="skipped: needs root (a memory cgroup)")
        rc, out, _ = run_cli("summary", self.dir, "--drivers", "bench_ltm", "--stage", "bench")
        self.assertEqual(rc, 77)
        self.assertRegex(out, r"bench_ltm\s+skipped \(3 benchmarks\): skipped: needs root")
        self.assertEqual(files.read_stage(self.dir, "bench")["verdict"], "skipped")

    def test_baseline_counts_and_stage_record(self):
        rc, out, _ = run_cli("summary", self.dir, "--stage", "bench", "--write", self.path("s.txt"))
        self.assertEqual(rc, 0)
        self.assertIn("223 benchmarks, 1115 repetitions from 5 drivers", out)
        self.assertEqual(get(self.path("s.txt")), out)
        rec = files.read_stage(self.dir, "bench")
        self.assertEqual(rec["verdict"], "pass")
        self.assertEqual({k: rec["counts"][k] for k in ("drivers", "benchmarks", "repetitions", "failed")},
                         {"drivers": 5, "benchmarks": 223, "repetitions": 1115, "failed": 0})

    def test_failed_driver_and_nothing_ran(self):
        rc, out, _ = run_cli("summary", self.dir, "--drivers", "bench_sync",
                             "--failed-driver", "bench_read=exit 134 (log bench_read.log)")
        self.assertEqual(rc, 1)
        self.assertIn("bench_read    FAILED: exit 134", out)
        rc, out, _ = run_cli("summary", self.dir, "--drivers", "")
        self.assertEqual(rc, 1)
        self.assertIn("nothing ran", out)

    def test_summary_on_a_full_disk_is_one_line(self):
        env = dict(os.environ, PYTHONPATH=os.path.join(TOP, "scripts"))
        with open("/dev/full", "w") as full:
            p = subprocess.run([sys.executable, "-m", "mmfresults", "summary", self.dir],
                               stdout=full, stderr=subprocess.PIPE, text=True, env=env)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIn("No space left", p.stderr)

    # --- check-drivers (the smoke check of scripts/test) -------------------
    def test_check_drivers(self):
        rc, out, _ = run_cli("check-drivers", self.dir)
        self.assertEqual(rc, 0)
        self.assertRegex(out, r"bench_read\s+400 repetitions")
        fail_rows(self.path("bench_ltm.json"), message="skipped: needs root")
        self.assertEqual(run_cli("check-drivers", self.dir)[0], 0)
        fail_rows(self.path("bench_sync.json"), message="mmf_open: Permission denied")
        rc, out, _ = run_cli("check-drivers", self.dir)
        self.assertEqual(rc, 1)
        self.assertRegex(out, r"bench_sync\s+0 repetitions: FAILED")
        os.unlink(self.path("bench_growth.json"))
        rc, _, err = run_cli("check-drivers", self.dir)
        self.assertEqual(rc, 1)
        self.assertIn("bench_growth.json", err)
        self.assertEqual(run_cli("check-drivers", self.dir, "--drivers", "")[0], 2)

    # --- the data model's public API (report, compare) ---------------------
    def test_public_api(self):
        res = data.load(self.dir)
        self.assertEqual(res.drivers, data.driver_names())
        self.assertIn("BM_Read", res.families())
        b = res.one("BM_Read", api="pread", cache="cold", order="rand", rec=4096)
        self.assertIs(b, res.one("BM_Read", api="pread", cache="cold", order="rand", rec="4096"))
        self.assertEqual(b.n, 5)
        self.assertEqual(len(b.values("items_per_second")), 5)
        self.assertGreater(b.median("real_us"), 0)
        self.assertIsNotNone(b.cv())
        self.assertEqual(b["rec"], "4096")
        self.assertEqual(len(res.select("BM_Sync", dirty={1, "16"})), 14)   # 6 calls + the folios:keep sync_range
        self.assertEqual(res.context.get("profile"), "quick")

    def add_sync_rows(self, rows):
        """Append per-repetition rows {name: counters} to bench_sync.json, in
        place of the baseline's own folios rows (scenarios and keep calls)."""
        doc = json.loads(get(self.path("bench_sync.json")))
        doc["benchmarks"] = [r for r in doc["benchmarks"] if "/folios:" not in r["name"]]
        for name, counters in rows.items():
            for i in range(3):
                doc["benchmarks"].append(dict(
                    name=name, run_name=name, run_type="iteration", repetitions=3,
                    repetition_index=i, threads=1, iterations=128, real_time=1.0,
                    cpu_time=1.0, time_unit="us", **counters))
        put(self.path("bench_sync.json"), json.dumps(doc))

    def test_small_writes_section(self):
        base = "BM_Sync/scenario:reused_write/rec:1024/folios:"
        self.add_sync_rows({
            base + "small/iterations:128/real_time": dict(
                own_write_bytes_per_sync=5632.0, goal_ratio=1.375, items_per_second=900.0,
                sync_p50_ns=3e5, folio_max_kib=4.0),
            base + "keep/iterations:128/real_time": dict(
                own_write_bytes_per_sync=1050000.0, goal_ratio=256.0, items_per_second=450.0,
                sync_p50_ns=6e5, folio_max_kib=1024.0),
            "BM_Sync/call:mmf_sync_range/dirty:1/folios:keep/iterations:200/real_time": dict(
                p50_ns=4e5)})
        res = data.load(self.dir)
        # rows with a folios key do not count as the plain call rows
        self.assertEqual(len(res.select("BM_Sync", dirty={1, "16"}, folios=None)), 12)
        self.assertEqual(len(res.select("BM_Sync", folios="keep")), 2)
        rc, out, _ = run_cli("summary", self.dir)
        self.assertEqual(rc, 0, out)
        line = next(l for l in out.splitlines() if l.strip().startswith("reused_write"))
        self.assertEqual(line.split()[2:5], ["5.5", "1025.4", "1.38"])
        self.assertIn("sync_range p50 keep/small by dirty pages", out)

    # --- fio-check ---------------------------------------------------------
    def test_fio_json_of_the_wrong_shape_refused(self):
        p = self.path("null-1.json")
        put(p, '{"jobs": []}')
        with self.assertRaisesRegex(files.ResultError, "null-1.json: fio JSON has no"):
            fio.fio_read(p)

    def test_fio_judge(self):
        self.assertEqual(fio.judge("c", 1000, 900, 1100, 1100, 0.1, 3)[0], "agree")
        self.assertEqual(fio.judge("c", 1000, 500, 2000, 1600, 0.1, 3)[0], "explained")
        self.assertEqual(fio.judge("cold-x", 1000, 950, 1050, 3000, 0.1, 3)[0], "disagree")

    def test_fio_time_outside_the_ios(self):
        """1024 I/Os at 10000 IOPS take 102.4 ms; at 80 us each 81.92 ms of it is I/O."""
        p = self.path("cold-1.json")
        put(p, json.dumps({"jobs": [{"read": {"iops": 10000, "total_ios": 1024, "lat_ns": {"mean": 80000}}}]}))
        self.assertAlmostEqual(fio.fio_read(p)["outside_ms"], 20.48)
        put(p, json.dumps({"jobs": [{"read": {"iops": 10000, "total_ios": 1024}}]}))
        self.assertIsNone(fio.fio_read(p)["outside_ms"])

    def test_fio_device_work_per_io(self):
        """fio's bios per I/O: the blkio cgroup's Read lines when there, else the disk's stat."""
        stat = "{r} 0 {s} 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n"
        own = "254:0 Read {r}\n254:0 Write 5\nTotal 9\n254:0 Read {b}\n254:0 Write 0\n"
        put(self.path("dev-c-1.before"), stat.format(r=100, s=800) + own.format(r=10, b=40960))
        put(self.path("dev-c-1.after"), stat.format(r=2148, s=16800) + own.format(r=1034, b=4235264))
        reads, kib = fio.fio_device(self.dir, "c-1", "254:0", 1024)
        self.assertEqual((reads, kib), (1.0, 4.0))      # the cgroup, not the disk's 2048 reads
        put(self.path("dev-d-1.before"), stat.format(r=100, s=800))
        put(self.path("dev-d-1.after"), stat.format(r=2148, s=16800))
        self.assertEqual(fio.fio_device(self.dir, "d-1", "254:0", 1024), (2.0, 7.8125))
        put(self.path("dev-e-1.before"), "garbage\n")
        put(self.path("dev-e-1.after"), stat.format(r=1, s=1))
        with self.assertRaisesRegex(files.ResultError, "dev-e-1.before: not a disk stat line"):
            fio.fio_device(self.dir, "e-1", "254:0", 1024)
        with self.assertRaisesRegex(files.ResultError, "dev-f-1.before: missing"):
            fio.fio_device(self.dir, "f-1", "254:0", 1024)

    def test_fio_check_cpu_refused_before_any_work(self):
        script = os.path.join(TOP, "scripts", "fio-check")
        for bad in ("bogus", "99999", "-1"):
            p = subprocess.run([script, "--cpu", bad, "--out", self.path("out")], capture_output=True,
                               text=True, stdin=subprocess.DEVNULL, timeout=60)
            self.assertEqual(p.returncode, 2, p.stderr)
            self.assertEqual(len(p.stderr.strip().splitlines()), 1, p.stderr)
            self.assertIn("--cpu", p.stderr)
            self.assertFalse(os.path.exists(self.path("out")))

    def test_fio_setup_names_the_disk(self):
        rc, out, err = run_cli("fio-setup", self.dir)
        if rc == 1 and "no block device" in err:
            self.skipTest("the test folder is on no block device (tmpfs)")
        stat, majmin, cpu = out.split()
        self.assertTrue(os.path.exists(stat) and stat.endswith("/stat"), stat)
        self.assertRegex(majmin, r"^\d+:\d+$")
        self.assertRegex(cpu, r"^(\d+|-)$")


if __name__ == "__main__":
    unittest.main()
