"""history ingest / merge / runs / fingerprint on SQLite (the PostgreSQL twin: test_history_pg)."""
import io
import json
import os
import re
import shutil
import sqlite3
import subprocess
import tempfile
import unittest

from mmfresults import files, fingerprint, history, store

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BASELINE = os.path.join(TOP, "results", "baseline")
HOSTILE = "BM_X/name:<img src=x onerror=alert(1)>'); DROP TABLE runs; --"


def make_run(folder, drivers=("bench_sync",), date=None, rename=None):
    """A run folder from results/baseline: context.json + the given drivers.
    date: another context date (a different run); rename: {old: new} benchmark names."""
    os.makedirs(folder, exist_ok=True)
    ctx = files.load_json(os.path.join(BASELINE, "context.json"))
    if date:
        ctx["date"] = date
    files.write_json(os.path.join(folder, "context.json"), ctx)
    for d in drivers:
        doc = files.load_gbench(os.path.join(BASELINE, d + ".json"))
        for row in doc["benchmarks"]:
            for old, new in (rename or {}).items():
                if row.get("run_name") == old:
                    row["run_name"] = row["name"] = new
        # Google Benchmark writes NaN (e.g. the cv of a constant counter): keep the file as is.
        files.write_text(os.path.join(folder, d + ".json"), json.dumps(doc))
    files.write_stage(folder, "bench", "pass", counts={"drivers": len(drivers)})
    return folder


def iteration_rows(folder, driver):
    doc = files.load_gbench(os.path.join(folder, driver + ".json"))
    return [r for r in doc["benchmarks"] if r.get("run_type") == "iteration" and not r.get("error_occurred")]


class HistoryStoreTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmf-test-history.")
        self.db = os.path.join(self.dir, "h.db")
        self.out = io.StringIO()

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_ingest_stores_every_repetition_and_is_idempotent(self):
        run = make_run(os.path.join(self.dir, "run"))
        rid, added = history.ingest(self.db, run, out=self.out)
        self.assertTrue(added)
        rows = iteration_rows(run, "bench_sync")
        with store.Store(self.db) as st:
            n = st.query("SELECT COUNT(*) FROM measurements WHERE metric = ?", ("real_time",))[0][0]
            self.assertEqual(n, len(rows))
            r = rows[7]
            got = st.query("SELECT value, unit FROM measurements WHERE benchmark = ? AND metric = ?"
                           " AND repetition = ?", (r["run_name"], "real_time", r["repetition_index"]))
            self.assertEqual(got, [(r["real_time"], r["time_unit"])])
            self.assertEqual(st.query("SELECT verdict FROM stages WHERE run_id = ?", (rid,)), [("pass",)])
            self.assertEqual(st.query("SELECT value FROM stage_counts WHERE name = ?", ("drivers",)), [(1,)])
            before = st.count("measurements")
        rid2, added2 = history.ingest(self.db, run, out=self.out)
        self.assertEqual((rid2, added2), (rid, False))
        with store.Store(self.db) as st:
            self.assertEqual(st.count("measurements"), before)
            self.assertEqual(st.count("runs"), 1)
        self.assertIn("already stored", self.out.getvalue())

    def test_incomplete_and_corrupt_folders_are_refused_by_name(self):
        run = make_run(os.path.join(self.dir, "run"))
        with open(os.path.join(run, files.MARKER), "w") as f:
            f.write("in progress: bench\ntoken=zz\n")
        with self.assertRaisesRegex(files.ResultError, "incomplete run"):
            history.ingest(self.db, run, out=self.out)
        os.unlink(os.path.join(run, files.MARKER))
        p = os.path.join(run, "bench_sync.json")
        with open(p, "rb") as f:
            raw = f.read()
        with open(p, "wb") as f:
            f.write(raw[: len(raw) // 3])
        with self.assertRaisesRegex(files.ResultError, "bench_sync.json.*truncated"):
            history.ingest(self.db, run, out=self.out)
        self.assertFalse(os.path.exists(self.db) and store.Store(self.db).count("runs"))

    def test_hostile_names_are_stored_verbatim(self):
        first = iteration_rows(BASELINE, "bench_sync")[0]["run_name"]
        run = make_run(os.path.join(self.dir, "run"), rename={first: HOSTILE})
        history.ingest(self.db, run, out=self.out)
        con = sqlite3.connect(self.db)
        names = {r[0] for r in con.execute("SELECT benchmark FROM measurements")}
        self.assertIn(HOSTILE, names)
        self.assertEqual(con.execute("SELECT COUNT(*) FROM runs").fetchone()[0], 1)
        con.close()

    def test_merge_keeps_each_run_once(self):
        a, b, out = (os.path.join(self.dir, n) for n in ("a.db", "b.db", "out.db"))
        r1 = make_run(os.path.join(self.dir, "r1"))
        r2 = make_run(os.path.join(self.dir, "r2"), date="2026-11-27T00:00:00Z")
        history.ingest(a, r1, out=self.out)
        history.ingest(b, r1, out=self.out)
        history.ingest(b, r2, out=self.out)
        self.assertEqual(history.merge(out, [a, b], out=self.out), 2)
        self.assertEqual(history.merge(out, [a, b], out=self.out), 0)
        with store.Store(out) as st, store.Store(b) as sb:
            self.assertEqual(st.count("runs"), 2)
            self.assertEqual(st.count("measurements"), sb.count("measurements"))
        empty = os.path.join(self.dir, "empty.db")
        store.Store(empty).close()
        with self.assertRaisesRegex(files.ResultError, "nothing to merge"):
            history.merge(out, [empty], out=self.out)

    def test_cli_errors_are_one_line(self):
        env = dict(os.environ)
        cmd = [os.path.join(TOP, "scripts", "history")]
        p = subprocess.run(cmd + ["ingest", os.path.join(self.dir, "nope"), "--db", self.db],
                           capture_output=True, text=True, env=env)
        self.assertEqual(p.returncode, 1)
        self.assertEqual(p.stderr.strip().count("\n"), 0, p.stderr)
        self.assertIn("no such run folder", p.stderr)
        p = subprocess.run(cmd + ["ingest"], capture_output=True, text=True, env=env)
        self.assertEqual(p.returncode, 2)
        p = subprocess.run(cmd + ["runs", "--db", self.db], capture_output=True, text=True, env=env)
        self.assertEqual(p.returncode, 1)
        self.assertIn("no such history store", p.stderr)
        with open(os.path.join(self.dir, "junk.db"), "w") as f:
            f.write("not sqlite at all, not even close" * 100)
        p = subprocess.run(cmd + ["runs", "--db", os.path.join(self.dir, "junk.db")],
                           capture_output=True, text=True, env=env)
        self.assertEqual(p.returncode, 1, p.stderr)
        self.assertIn("not a history store", p.stderr)


class FingerprintTest(unittest.TestCase):
    def test_stable_and_free_of_clock_speed(self):
        a, b = fingerprint.this_machine(), fingerprint.this_machine()
        self.assertEqual(fingerprint.fingerprint(a), fingerprint.fingerprint(b))
        for k in ("cpu_model", "cpus", "memory_gib", "kernel", "fs", "mount_options",
                  "device_model", "cgroup_memory_max", "cgroup_cpu_max"):
            self.assertIn(k, a)
        text = repr(a).lower()
        for word in ("mhz", "bogomips", "uptime", "load"):
            self.assertNotIn(word, text)

    def test_context_gives_a_partial_fingerprint_that_tracks_the_machine(self):
        ctx = files.load_json(os.path.join(BASELINE, "context.json"))
        c = fingerprint.from_context(ctx)
        self.assertEqual(c["partial"], "context.json")
        other = dict(ctx, kernel="7.0")
        self.assertNotEqual(fingerprint.fingerprint(c),
                            fingerprint.fingerprint(fingerprint.from_context(other)))
        same = dict(ctx, date="2030-01-01T00:00:00Z", duration_s=999, loadavg_end=["9"])
        self.assertEqual(fingerprint.fingerprint(c),
                         fingerprint.fingerprint(fingerprint.from_context(same)))


class RunHistoryTest(unittest.TestCase):
    """scripts/run --history end to end: tiny runs (the demo stage only, ~5 s each,
    the release build being there) into a temporary store."""

    def run_script(self, *args):
        env = dict(os.environ)
        env.pop("MMF_RUN_TOKEN", None)     # the runs own their folders
        return subprocess.run([os.path.join(TOP, "scripts", "run"), *args], capture_output=True,
                              text=True, env=env, timeout=600)

    def test_runs_land_in_the_store_and_add_up(self):
        d = tempfile.mkdtemp(prefix="mmf-test-run-history.")
        self.addCleanup(shutil.rmtree, d)
        db = os.path.join(d, "h.db")
        ids = []
        for k in (1, 2):
            out = os.path.join(d, f"run{k}")
            p = self.run_script("--only", "demo", "--seed", str(k), "--out", out,
                                "--history-db", db)
            self.assertEqual(p.returncode, 0, p.stdout[-2000:] + p.stderr[-2000:])
            m = re.search(r"^run ([0-9a-f]{16}) stored: .*1 stage records", p.stdout, re.M)
            self.assertTrue(m, p.stdout[-2000:])
            ids.append(m.group(1))
            with store.Store(db) as st:
                self.assertEqual(st.count("runs"), k)          # the second run adds to the first
                self.assertEqual(st.query("SELECT source FROM runs WHERE run_id = ?", (ids[-1],)),
                                 [(out,)])
                self.assertEqual(st.query("SELECT stage, verdict FROM stages WHERE run_id = ?",
                                          (ids[-1],)), [("demo", "pass")])
                self.assertEqual(st.query("SELECT value FROM stage_counts WHERE run_id = ? AND "
                                          "name = ?", (ids[-1], "records")), [(100000,)])
        self.assertNotEqual(ids[0], ids[1])
        # A store that cannot be written: the run completes, is not stored, exit 1.
        p = self.run_script("--only", "demo", "--out", os.path.join(d, "run3"),
                            "--history-db", d)
        self.assertEqual(p.returncode, 1, p.stdout[-2000:])
        self.assertIn("history: the run was not stored", p.stdout)
        self.assertIsNone(files.run_incomplete(os.path.join(d, "run3")))
        p = self.run_script("--history-db")
        self.assertEqual(p.returncode, 2)
        self.assertIn("run: --history-db needs a value", p.stderr)


if __name__ == "__main__":
    unittest.main()


def tiny_run(folder, date, values, kernel="6.1.0", revision="0" * 40, reps=5, factors=None):
    """A small complete run folder: context.json (machine = kernel) and bench_x.json with
    values {benchmark: level}; repetition r of a benchmark has real_time level * (1 + 0.001 r)
    (or level * factors[r]) and cpu_time level."""
    os.makedirs(folder, exist_ok=True)
    ctx = files.load_json(os.path.join(BASELINE, "context.json"))
    ctx.update(date=date, kernel=kernel, git_revision=revision, git_dirty=False)
    files.write_json(os.path.join(folder, "context.json"), ctx)
    rows = []
    for name, level in values.items():
        for r in range(reps):
            rows.append({"name": name, "run_name": name, "run_type": "iteration",
                         "repetitions": reps, "repetition_index": r, "iterations": 10,
                         "real_time": level * (factors[r] if factors else 1 + 0.001 * r),
                         "cpu_time": level,
                         "time_unit": "us", "items_per_second": 1e6 / level})
    files.write_json(os.path.join(folder, "bench_x.json"), {"context": {}, "benchmarks": rows})
    return folder


def tiny_history(top, db, levels, kernel="6.1.0", start=0, names=("BM_A/x:1", "BM_B/x:2"),
                 revision_suffix=""):
    """Ingest one tiny run per level (the first benchmark at that level, the others at 100)."""
    for i, level in enumerate(levels):
        vals = {n: (level if j == 0 else 100.0) for j, n in enumerate(names)}
        day = start + i
        history.ingest(db, tiny_run(os.path.join(top, f"{kernel}-{i}"),
                                    f"2026-01-{1 + day // 24:02d}T{day % 24:02d}:00:00Z", vals,
                                    kernel, revision=f"{i:040x}{revision_suffix}"),
                       out=io.StringIO())
