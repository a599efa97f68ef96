"""scripts/bench and scripts/fio-check as a user calls them: bad options are
one line + exit 2 before any build, a selection that runs nothing is exit 2,
a failed or interrupted run looks so, the bench_ltm cache is private.

Nothing is built: the runs use fake drivers (--bin DIR), small shell scripts
that list the benchmark names of results/baseline and copy its JSON."""
import os
import shutil
import signal
import stat
import subprocess
import tempfile
import time
import unittest

from mmfresults import data, files

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BENCH = os.path.join(TOP, "scripts", "bench")
FIO_CHECK = os.path.join(TOP, "scripts", "fio-check")
BASELINE = os.path.join(TOP, "results", "baseline")

# A fake driver: --benchmark_list_tests prints the names of FAKE/<driver>.names
# matching the filter; a run does what FAKE/mode says: copy (FAKE/<driver>.json
# to --benchmark_out), sleep (records its pid, then sleeps), crash (the JSON's
# start, exit 3), cut (the JSON's start, exit 0: a full disk).
FAKE = r"""#!/bin/bash
d=$(basename "$0"); here=$(dirname "$0"); list=0; f=.; o=""
for a; do
  case $a in
    --benchmark_list_tests=true) list=1 ;;
    --benchmark_filter=*) f=${a#*=} ;;
    --benchmark_out=*) o=${a#*=} ;;
  esac
done
if [ $list = 1 ]; then grep -E -e "${f#-}" "$here/$d.names" || true; exit 0; fi
case $(cat "$here/mode") in
  copy) cp "$here/$d.json" "$o" ;;
  sleep) echo $$ >"$here/pid"; exec sleep 60 ;;
  crash) head -c 300 "$here/$d.json" >"$o"; exit 3 ;;
  cut) head -c 300 "$here/$d.json" >"$o" ;;
esac
"""


def read(path):
    with open(path) as f:
        return f.read()


def one_line_usage_error(test, p):
    test.assertEqual(p.returncode, 2, p.stderr)
    test.assertEqual(p.stdout, "", "printed progress: something ran or was built")
    test.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
    test.assertNotIn("Traceback", p.stderr)


class BenchScriptTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mmf-test-bench-script.")
        self.bin = os.path.join(self.tmp, "bin")
        self.scratch = os.path.join(self.tmp, "scratch")
        os.mkdir(self.bin)
        os.mkdir(self.scratch)
        for d in data.driver_names():
            exe = os.path.join(self.bin, d)
            with open(exe, "w") as f:
                f.write(FAKE)
            os.chmod(exe, 0o755)
            shutil.copy(os.path.join(BASELINE, d + ".json"), os.path.join(self.bin, d + ".json"))
            names = sorted({b.run_name for b in data.load(BASELINE, [d]).benches})
            with open(os.path.join(self.bin, d + ".names"), "w") as f:
                f.write("\n".join(names) + "\n")
        self.mode("copy")
        self.env = dict(os.environ, MMF_BENCH_DIR=self.scratch,
                        MMF_BENCH_CACHE=os.path.join(self.tmp, "cache"))
        self.env.pop("MMF_RUN_TOKEN", None)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def mode(self, m):
        with open(os.path.join(self.bin, "mode"), "w") as f:
            f.write(m + "\n")

    def bench(self, *args, env=None, script=BENCH):
        return subprocess.run([script, *args], capture_output=True, text=True,
                              env=env or self.env, timeout=120, stdin=subprocess.DEVNULL)

    # --- §2 / §6: usage errors, before any build --------------------------
    def test_bad_options_are_one_line_exit_2_and_build_nothing(self):
        for args in (["--profile"], ["--out"], ["--filter"], ["--drivers"], ["--bin"],
                     ["--profile", "slow"], ["--filter", "("], ["--filter", "BM_(Read"],
                     ["--drivers", ""], ["--drivers", " , "], ["--drivers", "bench_read bench_nope"],
                     ["--bin", os.path.join(self.tmp, "nope")], ["--bogus"]):
            with self.subTest(args=args):
                one_line_usage_error(self, self.bench(*args))
        bad_env = dict(self.env, MMF_BENCH_DIR=os.path.join(self.tmp, "nope"))
        one_line_usage_error(self, self.bench(env=bad_env))
        bad_env = dict(self.env, MMF_LTM_FILE_MIB="3G")
        one_line_usage_error(self, self.bench(env=bad_env))

    def test_out_folder_of_another_run_is_refused(self):
        out = os.path.join(self.tmp, "busy")
        os.mkdir(out)
        with open(os.path.join(out, "INCOMPLETE"), "w") as f:
            f.write("in progress: bench started by pid 1\ntoken=someoneelse\n")
        one_line_usage_error(self, self.bench("--bin", self.bin, "--drivers", "bench_sync", "--out", out))
        p = self.bench("--bin", self.bin, "--drivers", "bench_sync", "--out", out,
                       env=dict(self.env, MMF_RUN_TOKEN="someoneelse"))   # the enclosing run's folder
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertTrue(os.path.exists(os.path.join(out, "INCOMPLETE")))  # the enclosing run ends it

    def test_help(self):
        for script in (BENCH, FIO_CHECK):
            p = self.bench("--help", script=script)
            self.assertEqual(p.returncode, 0)
            self.assertIn("usage:", p.stdout)

    def test_fio_check_bad_options(self):
        for args in (["--reps"], ["--reps", "abc"], ["--reps", "2"], ["--out"], ["--bogus"]):
            with self.subTest(args=args):
                one_line_usage_error(self, self.bench(*args, script=FIO_CHECK))

    def test_filter_that_matches_nothing_is_exit_2(self):
        out = os.path.join(self.tmp, "out")
        p = self.bench("--bin", self.bin, "--filter", "NOMATCH", "--out", out)
        self.assertEqual(p.returncode, 2, p.stderr)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIn("matches no benchmark", p.stderr)
        self.assertEqual(os.listdir(out), [])

    # --- a run, counted -----------------------------------------------------
    def test_run_counts_and_stage_record(self):
        out = os.path.join(self.tmp, "new", "out")     # --out creates the folder
        p = self.bench("--bin", self.bin, "--drivers", "bench_sync,bench_read", "--filter",
                       "BM_Sync/call:mmf_sync/|BM_Read/api:pread/cache:cold", "--out", out)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        rec = files.read_stage(out, "bench")
        self.assertEqual(rec["verdict"], "pass")
        # The fake copies whole files: the counts are the baseline's for both drivers.
        self.assertEqual(rec["counts"]["drivers"], 2)
        self.assertEqual(rec["counts"]["repetitions"], 5 * rec["counts"]["benchmarks"])
        self.assertFalse(os.path.exists(os.path.join(out, "INCOMPLETE")))
        self.assertEqual(os.listdir(self.scratch), [])

    def test_crashed_driver_fails_the_run(self):
        self.mode("crash")
        out = os.path.join(self.tmp, "out")
        p = self.bench("--bin", self.bin, "--drivers", "bench_sync", "--out", out)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("bench_sync: FAILED (exit 3", p.stdout)
        rec = files.read_stage(out, "bench")
        self.assertEqual((rec["verdict"], rec["counts"]["failed_drivers"]), ("fail", 1))

    def test_cut_json_of_a_driver_that_exited_0_fails_the_run(self):
        self.mode("cut")
        out = os.path.join(self.tmp, "out")
        p = self.bench("--bin", self.bin, "--drivers", "bench_sync,bench_read", "--out", out)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertRegex(p.stdout, r"bench_sync: FAILED: .*bench_sync.json: .*truncated")
        self.assertNotIn("bench_sync: done", p.stdout)
        rec = files.read_stage(out, "bench")
        self.assertEqual((rec["verdict"], rec["counts"]["failed_drivers"]), ("fail", 2))

    def test_interrupted_run_looks_incomplete(self):
        for sig, code in ((signal.SIGTERM, 143), (signal.SIGINT, 130)):
            with self.subTest(sig=sig):
                self.mode("sleep")
                out = os.path.join(self.tmp, f"out-{code}")
                pidfile = os.path.join(self.bin, "pid")
                if os.path.exists(pidfile):
                    os.unlink(pidfile)
                p = subprocess.Popen([BENCH, "--bin", self.bin, "--drivers", "bench_sync", "--out", out],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env=self.env, start_new_session=True,
                                     preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
                for _ in range(200):
                    if os.path.exists(pidfile) and os.path.getsize(pidfile):
                        break
                    time.sleep(0.05)
                driver = int(read(pidfile))
                p.send_signal(sig)
                stdout, stderr = p.communicate(timeout=30)
                self.assertEqual(p.returncode, code, stdout + stderr)
                self.assertIn("interrupted", stderr)
                self.assertIn("interrupted", read(os.path.join(out, "INCOMPLETE")))
                self.assertEqual(files.read_stage(out, "bench")["verdict"], "interrupted")
                with self.assertRaises(ProcessLookupError):
                    os.kill(driver, 0)
                self.assertEqual(os.listdir(self.scratch), [])

    # --- issue 16: the bench_ltm cache -------------------------------------
    def test_ltm_cache_is_private(self):
        cache = os.path.join(self.tmp, "cache")
        args = ["--bin", self.bin, "--drivers", "bench_ltm", "--filter", "NOMATCH"]
        p = self.bench(*args)             # made with mode 0700, then nothing matches
        self.assertEqual(p.returncode, 2, p.stderr)
        st = os.lstat(cache)
        self.assertEqual((stat.S_ISDIR(st.st_mode), stat.S_IMODE(st.st_mode)), (True, 0o700))
        os.chmod(cache, 0o777)
        p = self.bench(*args)
        self.assertEqual(p.returncode, 2)
        self.assertIn("writable by others", p.stderr)
        os.rmdir(cache)
        os.symlink(self.scratch, cache)    # planted first: a symlink to elsewhere
        p = self.bench(*args)
        self.assertEqual((p.returncode, p.stdout), (2, ""))
        self.assertIn("is a symlink", p.stderr)
        self.assertEqual(len(p.stderr.splitlines()), 1)
        if os.geteuid() == 0:             # planted by another user
            os.unlink(cache)
            os.mkdir(cache, 0o700)
            os.chown(cache, 65534, 65534)
            p = self.bench(*args)
            self.assertEqual(p.returncode, 2)
            self.assertIn("not by this user", p.stderr)

if __name__ == "__main__":
    unittest.main()
