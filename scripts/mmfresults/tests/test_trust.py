"""Issue 10 "trustworthy verdicts", the fresh-user cases: every command that
reads a run folder refuses, by name, in one line with exit 1,
- a Google Benchmark row with NaN / Infinity in a figure we use,
- a row whose real_time is not a number (text, null),
- a folder whose stage record lists (or counts) a driver JSON that is gone.
The commands are run as the scripts run them (python3 -m mmfresults ...)."""
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import tempfile
import unittest

from mmfresults import files, fingerprint, gbfilter

SCRIPTS = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TOP = os.path.dirname(SCRIPTS)
BASELINE = os.path.join(TOP, "results", "baseline")
PY = "/usr/bin/python3"


def mmf(*args, env=None, max_file_bytes=None):
    """(exit status, stdout, stderr) of python3 -m mmfresults ARGS.
    max_file_bytes: a full disk for the command (RLIMIT_FSIZE: a write past
    it fails with EFBIG; its stdout and stderr are pipes, not files)."""
    e = dict(os.environ, PYTHONPATH=SCRIPTS, PYTHONDONTWRITEBYTECODE="1")
    e.pop("MMF_RUN_TOKEN", None)
    e.update(env or {})

    def full_disk():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
    r = subprocess.run([PY, "-m", "mmfresults", *args], cwd=SCRIPTS, env=e,
                       capture_output=True, text=True, timeout=600,
                       preexec_fn=None if max_file_bytes is None else full_disk)
    return r.returncode, r.stdout, r.stderr


def copy_baseline(dest):
    os.makedirs(dest)
    for n in os.listdir(BASELINE):
        if n.endswith(".json"):
            shutil.copy(os.path.join(BASELINE, n), dest)


def edit_rows(path, edit):
    """Rewrite a Google Benchmark JSON with edit(rows) applied (NaN written as
    Python's json writes it: the bare word NaN)."""
    with open(path) as f:
        doc = json.load(f)
    edit(doc["benchmarks"])
    with open(path, "w") as f:
        json.dump(doc, f, indent=1)


def first_iteration(rows, prefix=""):
    return next(r for r in rows if r.get("run_type") == "iteration"
                and not r.get("error_occurred") and r["name"].startswith(prefix))


def set_field(path, field, value, prefix=""):
    """Set field of path's first iteration row (named prefix...) to value;
    returns the row's name."""
    holder = {}

    def edit(rows):
        r = first_iteration(rows, prefix)
        r[field] = value
        holder["name"] = r["name"]
    edit_rows(path, edit)
    return holder["name"]


class ReadersTest(unittest.TestCase):
    """Each case against every command that reads a run folder."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mmf-test-trust.")
        self.run = os.path.join(self.tmp, "run")
        copy_baseline(self.run)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def commands(self):
        return {
            "summary": ("summary", self.run),
            "check-run": ("check-run", self.run),
            "history ingest": ("history", "ingest", self.run, "--db",
                               os.path.join(self.tmp, "h.db")),
            "report": ("report", self.run, "--out", os.path.join(self.tmp, "report")),
            "judge-baseline": ("judge-baseline", self.run, os.path.join(self.tmp, "imp"),
                               "--filter", "BM_"),
        }

    def assert_refused(self, *needles, skip=()):
        for what, argv in self.commands().items():
            if what in skip:
                continue
            with self.subTest(command=what):
                rc, out, err = mmf(*argv)
                self.assertEqual(rc, 1, f"{what}: exit {rc}\n{out}\n{err}")
                self.assertNotIn("Traceback", err)
                self.assertEqual(len(err.strip().splitlines()), 1, err)
                for n in needles:
                    self.assertIn(n, err)

    def test_whole_baseline_is_accepted(self):
        # The baseline's cv aggregates hold NaN for counters that are 0 in
        # every repetition (0/0): they are not figures we use.
        for what in ("check-run", "history ingest", "judge-baseline"):
            with self.subTest(command=what):
                rc, out, err = mmf(*self.commands()[what])
                self.assertEqual(rc, 0, err)

    def test_nan_real_time_is_refused_by_file_and_name(self):
        name = set_field(os.path.join(self.run, "bench_sync.json"), "real_time", float("nan"))
        self.assert_refused("bench_sync.json", name, "real_time is NaN")

    def test_infinite_counter_is_refused(self):
        name = set_field(os.path.join(self.run, "bench_write.json"), "syncs", float("inf"),
                         "BM_Write")
        self.assert_refused("bench_write.json", name, "syncs is Infinity")

    def test_nan_in_a_median_aggregate_is_refused(self):
        p = os.path.join(self.run, "bench_read.json")

        def nan(rows):
            r = next(r for r in rows if r.get("aggregate_name") == "median")
            r["items_per_second"] = float("-inf")
        edit_rows(p, nan)
        self.assert_refused("bench_read.json", "items_per_second is -Infinity")

    def test_non_numeric_real_time_is_refused(self):
        for bad, shown in (("12.5", "'12.5'"), (None, "null")):
            with self.subTest(real_time=bad):
                p = os.path.join(self.run, "bench_growth.json")
                shutil.copy(os.path.join(BASELINE, "bench_growth.json"), p)
                name = set_field(p, "real_time", bad)
                self.assert_refused("bench_growth.json", name,
                                    f"real_time is {shown}, not a number")

    def test_deleted_driver_json_listed_by_the_bench_record(self):
        # The record summary --stage writes lists the driver JSON it read.
        rc, out, err = mmf("summary", self.run, "--stage", "bench")
        self.assertEqual(rc, 0, err)
        rec = files.read_stage(self.run, "bench")
        self.assertIn("bench_sync.json", rec["files"])
        self.assertEqual(rec["counts"]["drivers"], 5)
        os.unlink(os.path.join(self.run, "bench_sync.json"))
        self.assert_refused("bench_sync.json: missing", "bench.json")

    def test_deleted_driver_json_counted_by_an_older_bench_record(self):
        # A record from before records listed their files: its counts.
        files.write_stage(self.run, "bench", "pass", "", {"drivers": 5, "benchmarks": 84,
                                                          "failed_drivers": 0})
        os.unlink(os.path.join(self.run, "bench_sync.json"))
        self.assert_refused("counts 5 drivers", "missing: bench_sync.json")

    def test_a_failed_driver_without_json_is_not_missing(self):
        files.write_stage(self.run, "bench", "fail", "bench_sync (exit 1)",
                          {"drivers": 5, "failed_drivers": 1})
        os.unlink(os.path.join(self.run, "bench_sync.json"))
        rc, out, err = mmf("check-run", self.run)
        self.assertEqual(rc, 0, err)



class HistoryStoreTest(unittest.TestCase):
    """scripts/history on a full disk, and stores that are empty or damaged."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mmf-test-trust-db.")
        self.db = os.path.join(self.tmp, "history.db")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def one_line(self, rc, err, *needles):
        self.assertEqual(rc, 1, err)
        self.assertNotIn("Traceback", err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        for n in needles:
            self.assertIn(n, err)

    def test_full_disk_leaves_no_store(self):
        rc, out, err = mmf("history", "ingest", BASELINE, "--db", self.db, max_file_bytes=0)
        self.one_line(rc, err, self.db)
        self.assertFalse(os.path.exists(self.db), "a failed first ingest left a store file")
        self.assertEqual(os.listdir(self.tmp), [], "temporary files left behind")
        rc, out, err = mmf("history", "ingest", BASELINE, "--db", self.db)
        self.assertEqual(rc, 0, err)

    def test_full_disk_keeps_the_stored_runs(self):
        rc, out, err = mmf("history", "ingest", BASELINE, "--db", self.db)
        self.assertEqual(rc, 0, err)
        run = os.path.join(self.tmp, "run")
        copy_baseline(run)
        set_field(os.path.join(run, "bench_read.json"), "real_time", 1.5)
        size = os.path.getsize(self.db)
        rc, out, err = mmf("history", "ingest", run, "--db", self.db, max_file_bytes=size)
        self.one_line(rc, err, self.db, "cannot write")
        rc, out, err = mmf("history", "runs", "--db", self.db)
        self.assertEqual(rc, 0, err)
        self.assertIn("1 runs on 1 machines", out)

    def test_empty_or_damaged_store_is_refused_by_every_command(self):
        other = os.path.join(self.tmp, "other.db")
        rc, out, err = mmf("history", "ingest", BASELINE, "--db", other)
        self.assertEqual(rc, 0, err)
        commands = {
            "ingest": ("history", "ingest", BASELINE, "--db", self.db),
            "runs": ("history", "runs", "--db", self.db),
            "detect": ("history", "detect", "--db", self.db),
            "dashboard": ("history", "dashboard", "--db", self.db, "--out",
                          os.path.join(self.tmp, "dash")),
            "merge from": ("history", "merge", self.db, "--db", os.path.join(self.tmp, "m.db")),
            "merge into": ("history", "merge", other, "--db", self.db),
        }
        for content, needle in ((b"", "0 bytes"), (b"\0garbage" * 512, "not a history store")):
            for what, argv in commands.items():
                with self.subTest(store=needle, command=what):
                    with open(self.db, "wb") as f:
                        f.write(content)
                    rc, out, err = mmf(*argv)
                    self.one_line(rc, err, self.db, needle)
                    with open(self.db, "rb") as f:
                        self.assertEqual(f.read(), content, "the store was changed")
                    self.assertFalse(os.path.exists(os.path.join(self.tmp, "m.db")),
                                     "a merge from a bad store made its --db")



class BaselineMachineTest(unittest.TestCase):
    """scripts/compare --baseline: "same machine" is the machine fingerprint,
    not the host name; another or an unknown machine makes the verdict
    advisory (exit 0, "REGRESSION (advisory)")."""
    DRIVER = "bench_sync.json"

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mmf-test-trust-fp.")
        self.base = os.path.join(self.tmp, "baseline")
        self.head = os.path.join(self.tmp, "head")
        for d, factor in ((self.base, 1.0), (self.head, 2.0)):
            os.makedirs(d)
            doc = files.load_gbench(os.path.join(BASELINE, self.DRIVER))
            doc["benchmarks"] = [r for r in doc["benchmarks"] if r.get("run_type") == "iteration"]
            for r in doc["benchmarks"]:
                r["real_time"] *= factor
            files.write_json(os.path.join(d, self.DRIVER), doc)
        self.here = fingerprint.this_machine("/var/tmp")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def machine_json(self, comp):
        files.write_json(os.path.join(self.base, "machine.json"),
                         {"fingerprint": fingerprint.fingerprint(comp), "components": comp})

    def judge(self):
        return mmf("judge", self.base, self.head, "--out", os.path.join(self.tmp, "out"),
                   "--min-reps", "5", "--baseline", self.base,
                   env={"MMF_BENCH_DIR": "/var/tmp"})

    def test_same_fingerprint_is_binding(self):
        self.machine_json(self.here)
        rc, out, err = self.judge()
        self.assertEqual(rc, 1, out + err)
        self.assertNotIn("(advisory)", out)
        doc = files.load_json(os.path.join(self.tmp, "out", "compare.json"))
        self.assertFalse(doc["advisory"])
        self.assertTrue(any(n.startswith("same machine: " + fingerprint.fingerprint(self.here))
                            for n in doc["notes"]), doc["notes"])

    def test_same_host_name_other_machine_is_advisory(self):
        other = dict(self.here, cpus=(self.here["cpus"] or 1) * 64)
        self.machine_json(other)
        files.write_json(os.path.join(self.base, "context.json"), {"host": socket.gethostname()})
        rc, out, err = self.judge()
        self.assertEqual(rc, 0, out + err)
        self.assertIn("REGRESSION (advisory)", out)
        self.assertIn("another machine", out)
        self.assertIn(f"cpus {other['cpus']} vs {self.here['cpus']} here", out)
        doc = files.load_json(os.path.join(self.tmp, "out", "compare.json"))
        self.assertTrue(doc["advisory"])
        with open(os.path.join(self.tmp, "out", "compare.md")) as f:
            self.assertIn("REGRESSION (advisory)", f.read())

    def test_partial_fingerprint_from_context_is_said(self):
        files.write_json(os.path.join(self.base, "context.json"), {
            "host": "elsewhere", "cpu_model": self.here["cpu_model"], "cpus": self.here["cpus"],
            "memory_bytes": self.here["memory_gib"] * 2**30, "kernel": self.here["kernel"],
            "bench_fs": self.here["fs"], "bench_device": self.here["device"]})
        rc, out, err = self.judge()
        self.assertEqual(rc, 1, out + err)     # another host name, the same machine
        doc = files.load_json(os.path.join(self.tmp, "out", "compare.json"))
        self.assertFalse(doc["advisory"])
        self.assertTrue(any("partial fingerprint" in n for n in doc["notes"]), doc["notes"])

    def test_no_fingerprint_is_said_and_advisory(self):
        rc, out, err = self.judge()
        self.assertEqual(rc, 0, out + err)
        self.assertIn("no machine fingerprint", out)
        self.assertIn("REGRESSION (advisory)", out)



# Filters libbenchmark refuses: Python's re takes the first three, grep -E
# the first and the last two; and one only libbenchmark takes. Each is
# judged by the engine the drivers use.
GB_REFUSES = ("\\d", "(?i)BM_Sync", "BM(?=_)", "{1}", "+a")
PY_ACCEPTS = GB_REFUSES[:3]
GB_ACCEPTS = ("a**",)


class FilterEngineTest(unittest.TestCase):
    """--filter of scripts/bench and scripts/compare: checked and matched by
    libbenchmark itself (gbfilter.py, bench/gbfilter.cc)."""
    NAMES = ["BM_Sync/call:fsync/dirty:64/iterations:1/real_time",
             "BM_Sync/call:fdatasync/dirty:1024/iterations:1/real_time",
             "BM_Read/api:bytes/cache:warm/rec:4096/iterations:1/real_time"]

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mmf-test-trust-filter.")

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def test_refused_and_accepted_as_libbenchmark_does(self):
        for spec in GB_REFUSES:
            with self.subTest(spec=spec):
                if spec in PY_ACCEPTS:
                    re.compile(spec)       # Python's re takes it...
                with self.assertRaisesRegex(ValueError, "not a filter Google Benchmark accepts"):
                    gbfilter.Filter(spec)  # ...the drivers do not
        for spec in GB_ACCEPTS:
            with self.subTest(spec=spec):
                with self.assertRaises(re.error):
                    re.compile(spec)
                self.assertEqual(gbfilter.Filter(spec).select(self.NAMES), set(self.NAMES))

    def test_selection_is_libbenchmarks(self):
        sync = set(self.NAMES[:2])
        for spec, want in (("all", set(self.NAMES)), ("", set(self.NAMES)),
                           ("-^BM_Read/", sync), ("dirty:[[:digit:]]+/", sync),
                           ("^BM_Sync/call:(fsync|fdatasync)/", sync),
                           ("call:fsync/", {self.NAMES[0]})):
            with self.subTest(spec=spec):
                self.assertEqual(gbfilter.Filter(spec).select(self.NAMES), want)

    def test_judge_baseline_imports_what_the_drivers_would_run(self):
        run = os.path.join(self.tmp, "base")
        copy_baseline(run)
        rows = files.load_gbench(os.path.join(BASELINE, "bench_sync.json"))["benchmarks"]
        n_sync = len({r["name"] for r in rows if r.get("run_type") == "iteration"})
        rc, out, err = mmf("judge-baseline", run, "--filter=-^BM_([^S]|St)")  # BM_Sync only
        self.assertEqual(rc, 0, err)
        self.assertIn(f"baseline {run}: {n_sync} benchmarks", out)
        rc, out, err = mmf("judge-baseline", run, "--filter", "all")
        self.assertEqual(rc, 0, err)
        self.assertNotIn(f"baseline {run}: {n_sync} benchmarks", out)
        rc, out, err = mmf("judge-baseline", run, "--filter", "\\d")
        self.assertEqual(rc, 2, out + err)
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertIn("Invalid escape", err)

    def test_scripts_refuse_before_any_run(self):
        bins = os.path.join(self.tmp, "bin")
        os.makedirs(bins)
        for d in ("bench_read", "bench_write", "bench_growth", "bench_sync", "bench_ltm"):
            p = os.path.join(bins, d)
            with open(p, "w") as f:
                f.write("#!/bin/sh\nexit 0\n")
            os.chmod(p, 0o755)
        env = dict(os.environ, MMF_BENCH_CACHE="off")
        # compare from a copy of scripts/ outside any clone: a filter it
        # wrongly took could build nothing (no sources, no revision)
        clone = os.path.join(self.tmp, "clone")
        shutil.copytree(SCRIPTS, os.path.join(clone, "scripts"),
                        ignore=shutil.ignore_patterns("__pycache__"))
        for n, spec in enumerate(GB_REFUSES):
            for argv in ([os.path.join(SCRIPTS, "bench"), "--bin", bins],
                         [os.path.join(clone, "scripts", "compare"), "--base", "HEAD",
                          "--head", "HEAD"]):
                with self.subTest(spec=spec, script=os.path.basename(argv[0])):
                    out = os.path.join(self.tmp, f"o{n}-{os.path.basename(argv[0])}")
                    r = subprocess.run(argv + ["--filter", spec, "--out", out],
                                       capture_output=True, text=True, env=env, timeout=120,
                                       stdin=subprocess.DEVNULL)
                    self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                    self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                    self.assertIn("not a filter Google Benchmark accepts", r.stderr)
        # history backfill: refused before any build (its --out is not empty:
        # a filter wrongly taken stops there, on another message)
        full = os.path.join(self.tmp, "full")
        os.makedirs(full)
        with open(os.path.join(full, "x"), "w") as f:
            f.write("x")
        for spec in GB_REFUSES:
            with self.subTest(spec=spec, script="history backfill"):
                r = subprocess.run([os.path.join(SCRIPTS, "history"), "backfill", "--revs", "10",
                                    "--filter", spec, "--out", full], capture_output=True,
                                   text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                self.assertIn("not a filter Google Benchmark accepts", r.stderr)
        # accepted by libbenchmark: scripts/bench goes on to ask the drivers
        # (these list nothing: nothing to run)
        r = subprocess.run([os.path.join(SCRIPTS, "bench"), "--bin", bins, "--filter", "a**",
                            "--out", os.path.join(self.tmp, "o")], capture_output=True,
                           text=True, env=env, timeout=120, stdin=subprocess.DEVNULL)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("matches no benchmark", r.stderr)


if __name__ == "__main__":
    unittest.main()
