"""The bash scripts' guards (scripts/lib.sh and its users), on a copy of
scripts/ with fake build tools: options checked before anything is
installed or built, the INCOMPLETE marker and a run on a full filesystem,
stage records (after a signal, the demo's counts, skips and their reasons),
a build folder configured for another checkout, the CTest label list of
scripts/test. The signal and cache tests (test_script_signals) share the
fixture defined here.

Nothing real is built: PATH starts with fake cmake and ctest that log their
calls (FAKE/calls) and do what FAKE/<tool>.mode says (ok, sleep, fail); the
copy's scripts/bootstrap only leaves FAKE/bootstrap-ran. The tests that
mount a size-limited tmpfs need root and are skipped with the reason
otherwise. Each test is a few seconds."""
import fcntl
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from mmfresults import files

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# A fake build tool: logs "NAME ARGS" to FAKE/calls; FAKE/NAME.mode says what
# it does: ok (cmake --preset P makes build/P/CMakeCache.txt of this
# checkout; ctest writes a JUnit file with one passed test), skip (ctest: and
# one skipped test with its reason),
# sleep (records its pid in FAKE/NAME.pid, then sleeps), fail (exit 1).
FAKE_TOOL = r"""#!/bin/bash
name=$(basename "$0"); fake=$(dirname "$0")
echo "$name $*" >>"$fake/calls"
mode=$(cat "$fake/$name.mode" 2>/dev/null || echo ok)
case $mode in
  sleep) echo $$ >"$fake/$name.pid"; exec sleep 60 ;;
  fail) exit 1 ;;
esac
if [ "$name" = cmake ] && [ "$1" = --preset ]; then
  mkdir -p "build/$2"
  echo "CMAKE_HOME_DIRECTORY:INTERNAL=$PWD" >"build/$2/CMakeCache.txt"
fi
if [ "$name" = ctest ]; then
  prev=""
  for a; do
    if [ "$prev" = --output-junit ]; then
      { echo '<testsuite><testcase name="unit.fake" status="run"/>'
        [ "$mode" != skip ] || echo '<testcase name="fault.full_disk" status="notrun"><skipped/><system-out>SKIP full disk (tmpfs): needs root</system-out></testcase>'
        echo '</testsuite>'; } >"$a"
    fi
    prev=$a
  done
fi
exit 0
"""


def write(path, text, mode=None):
    with open(path, "w") as f:
        f.write(text)
    if mode is not None:
        os.chmod(path, mode)


def read(path):
    with open(path) as f:
        return f.read()


def session_pids(sid):
    """The live processes of session sid (a script started in its own session)."""
    pids = []
    for p in os.listdir("/proc"):
        if not p.isdigit():
            continue
        try:
            with open(f"/proc/{p}/stat") as f:
                st = f.read()
        except OSError:
            continue
        fields = st[st.rindex(")") + 2:].split()
        if int(fields[3]) == sid and fields[0] != "Z":
            pids.append(int(p))
    return pids


class Tree:
    """A copy of scripts/ (and the files the scripts read) under tmp/tree,
    with fake tools in tmp/fake, first on PATH."""

    def __init__(self, tmp):
        self.tmp = tmp
        self.top = os.path.join(tmp, "tree")
        self.fake = os.path.join(tmp, "fake")
        os.makedirs(os.path.join(self.top, "faults", "crash"))
        os.makedirs(os.path.join(self.top, "bench", "common"))
        os.makedirs(self.fake)
        shutil.copy(os.path.join(TOP, "bench", "common", "mmf_cli.h"),
                    os.path.join(self.top, "bench", "common"))
        shutil.copytree(os.path.join(TOP, "scripts"), os.path.join(self.top, "scripts"),
                        ignore=shutil.ignore_patterns("__pycache__", "tests"))
        shutil.copy(os.path.join(TOP, "bench", "drivers.txt"), os.path.join(self.top, "bench"))
        shutil.copy(os.path.join(TOP, "faults", "crash", "guest-init.sh"),
                    os.path.join(self.top, "faults", "crash"))
        write(os.path.join(self.top, "scripts", "bootstrap"),
              f"#!/bin/bash\ntouch {self.fake}/bootstrap-ran\n", 0o755)
        for tool in ("cmake", "ctest"):
            write(os.path.join(self.fake, tool), FAKE_TOOL, 0o755)
        self.env = dict(os.environ, PATH=self.fake + ":" + os.environ["PATH"], MMF_JOBS="1")
        for v in ("MMF_RUN_TOKEN", "MMF_T0", "TMPDIR", "MMF_BENCH_DIR"):
            self.env.pop(v, None)

    def script(self, name):
        return os.path.join(self.top, "scripts", name)

    def mode(self, tool, m):
        write(os.path.join(self.fake, tool + ".mode"), m + "\n")

    def calls(self):
        p = os.path.join(self.fake, "calls")
        return read(p).splitlines() if os.path.exists(p) else []

    def configured(self, preset):
        """build/PRESET as if CMake had configured it for this copy."""
        d = os.path.join(self.top, "build", preset)
        os.makedirs(d, exist_ok=True)
        write(os.path.join(d, "CMakeCache.txt"), f"CMAKE_HOME_DIRECTORY:INTERNAL={self.top}\n")
        return d

    def run(self, *args, timeout=60, **kw):
        return subprocess.run(list(args), capture_output=True, text=True, env=self.env,
                              timeout=timeout, stdin=subprocess.DEVNULL, cwd=self.tmp, **kw)

    def start(self, *args):
        """Start args in a new session; stdout/stderr into files. (proc, out, err paths)."""
        out, err = os.path.join(self.tmp, "stdout"), os.path.join(self.tmp, "stderr")
        with open(out, "w") as o, open(err, "w") as e:
            p = subprocess.Popen(list(args), stdout=o, stderr=e, stdin=subprocess.DEVNULL,
                                 env=self.env, cwd=self.tmp, start_new_session=True)
        return p, out, err

    def lib(self, code, *args, timeout=30):
        """bash -c 'source lib.sh; CODE' _ ARGS..."""
        return self.run("bash", "-c", f'. "{self.script("lib.sh")}"; {code}', "_", *args,
                        timeout=timeout)


def wait_for(pred, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out ({timeout} s) waiting for {what}")


class Mount:
    """A tmpfs of `size` at path (root only); filled to `leave` bytes free."""

    def __init__(self, path, size="64k"):
        os.makedirs(path, exist_ok=True)
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size},mode=1777", "tmpfs", path],
                       check=True)
        self.path = path

    def fill(self, leave=0):
        filler = os.path.join(self.path, ".filler")
        st = os.statvfs(self.path)
        n = max(st.f_bavail * st.f_frsize - leave, 0)
        with open(filler, "wb") as f:
            try:
                f.write(b"\0" * n)
                if leave == 0:
                    f.write(b"\0" * 65536)
            except OSError:
                pass

    def close(self):
        subprocess.run(["umount", "-l", self.path], check=False)


def needs_root(test):
    if os.geteuid() != 0:
        test.skipTest("skipped: needs root (mounts a size-limited tmpfs)")


class GuardsBase(unittest.TestCase):
    """The copy of scripts/, mounts, and the checks the guard tests share."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="mmf-test-guards.")
        self.t = Tree(self.tmp)
        self.mounts = []

    def tearDown(self):
        for m in self.mounts:
            m.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def mount(self, name, size="64k"):
        m = Mount(os.path.join(self.tmp, name), size)
        self.mounts.append(m)
        return m

    def assert_one_line(self, p, code, word):
        self.assertEqual(p.returncode, code, p.stdout + p.stderr)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertIn(word, p.stderr)
        self.assertNotIn("Traceback", p.stderr)

    def interrupt(self, args, ready, lock=None):
        """Start args, wait until ready() is true, SIGTERM the script: it must
        exit 143 within 5 s, say "interrupted" and leave no process behind."""
        holder = None
        if lock:
            os.makedirs(os.path.dirname(lock), exist_ok=True)
            holder = open(lock, "w")
            fcntl.flock(holder, fcntl.LOCK_EX)
        try:
            p, out, err = self.t.start(*args)
            try:
                wait_for(lambda: ready(out) or p.poll() is not None, 20, "the script to block")
                self.assertIsNone(p.poll(), read(out) + read(err))
                t0 = time.monotonic()
                os.kill(p.pid, signal.SIGTERM)
                rc = p.wait(timeout=10)
                took = time.monotonic() - t0
            finally:
                if p.poll() is None:
                    os.killpg(p.pid, signal.SIGKILL)
                    p.wait()
        finally:
            if holder:
                holder.close()
        self.assertEqual(rc, 143, read(out) + read(err))
        self.assertLess(took, 5, "the signal waited for the command to end")
        self.assertIn("interrupted", read(err))
        time.sleep(0.2)
        self.assertEqual(session_pids(p.pid), [], "processes left behind")
        return read(out), read(err)

    def demo(self, body):
        rel = self.t.configured("release")
        os.makedirs(os.path.join(rel, "core"), exist_ok=True)
        write(os.path.join(rel, "core", "mmf_demo"), "#!/bin/bash\n" + body, 0o755)


class ScriptGuardsTest(GuardsBase):
    def test_labels_checked_before_bootstrap(self):
        for args in (["-L", "bogus"], ["-L", "crash", "-L", "bogus"], ["-L", "bogus", "-L", "unit"]):
            with self.subTest(args=args):
                p = self.t.run(self.t.script("test"), *args)
                self.assert_one_line(p, 2, "-L bogus")
                self.assertEqual(p.stdout, "")
        self.t.env["MMF_JOBS"] = "two"
        p = self.t.run(self.t.script("test"), "-L", "unit")
        self.assert_one_line(p, 2, "MMF_JOBS")
        self.assertFalse(os.path.exists(os.path.join(self.t.fake, "bootstrap-ran")))
        self.assertEqual(self.t.calls(), [])

    def test_out_that_is_a_file_is_refused_before_any_work(self):
        afile = os.path.join(self.tmp, "afile")
        write(afile, "x\n")
        scripts = {"run": ["--only", "demo"], "bench": [], "compare": [],
                   "crash-kill": ["--dir", self.tmp], "crash-vm": [], "crash-mutants": [],
                   "fio-check": [], "fuzz": []}
        for name, extra in scripts.items():
            with self.subTest(script=name):
                p = self.t.run(self.t.script(name), *extra, "--out", afile)
                self.assert_one_line(p, 2, "--out " + afile)
                self.assertEqual(p.stdout, "")
        self.assertFalse(os.path.exists(os.path.join(self.t.fake, "bootstrap-ran")))
        self.assertEqual(self.t.calls(), [])

    def test_settings_of_scripts_run_stages_checked_before_bootstrap(self):
        nope = os.path.join(self.tmp, "nope")
        for env, stages, word in ((("MMF_BENCH_DIR", nope),), "bench", "MMF_BENCH_DIR"), \
                                 ((("MMF_LTM_FILE_MIB", "3G"),), "bench", "MMF_LTM_FILE_MIB"), \
                                 ((("TMPDIR", nope),), "crash-kill", "TMPDIR"):
            with self.subTest(env=env):
                p = subprocess.run([self.t.script("run"), "--only", stages], capture_output=True,
                                   text=True, env=dict(self.t.env, **dict(env)), cwd=self.tmp,
                                   stdin=subprocess.DEVNULL, timeout=60)
                self.assert_one_line(p, 2, word)
        self.assertFalse(os.path.exists(os.path.join(self.t.fake, "bootstrap-ran")))
        self.assertEqual(self.t.calls(), [])

    def test_labels_of_scripts_test_are_the_ctest_labels(self):
        p = self.t.run(self.t.script("test"), "--help")
        line = next(l for l in p.stdout.splitlines() if "(labels:" in l)
        known = set(line.split("(labels:")[1].split(")")[0].split())
        build = os.environ.get("MMF_BUILD_DIR")
        if not build:
            self.skipTest("skipped: MMF_BUILD_DIR not set (run through ctest)")
        q = subprocess.run(["ctest", "--print-labels"], cwd=build, capture_output=True, text=True)
        used = {l.strip() for l in q.stdout.splitlines() if l.startswith(" ") and l.strip()}
        self.assertTrue(used, q.stdout)
        self.assertLessEqual(used, known, "a CTest label scripts/test -L refuses")

    def test_build_folder_of_another_checkout_is_configured_again(self):
        d = self.t.configured("dev")
        p = self.t.lib("build_preset dev")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertNotIn("cmake --preset dev", self.t.calls())   # its own: only built
        write(os.path.join(d, "CMakeCache.txt"), "CMAKE_HOME_DIRECTORY:INTERNAL=/elsewhere/mmapfile\n")
        os.makedirs(os.path.join(d, "CMakeFiles", "stale"))
        p = self.t.lib("build_preset dev")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        lines = [l for l in p.stdout.splitlines() if "/elsewhere/mmapfile" in l and "from scratch" in l]
        self.assertEqual(len(lines), 1, p.stdout)
        self.assertIn("cmake --preset dev", self.t.calls())
        self.assertFalse(os.path.exists(os.path.join(d, "CMakeFiles", "stale")))
        self.assertIn(self.t.top, read(os.path.join(d, "CMakeCache.txt")))

    def test_marker_on_a_full_filesystem(self):
        needs_root(self)
        m = self.mount("full")
        m.fill()
        p = self.t.lib('mmf_traps; run_dir_begin "$1"; echo began', m.path)
        self.assert_one_line(p, 1, f"no space left on {m.path}")
        self.assertEqual(sorted(os.listdir(m.path)), [".filler"], "a marker or temporary file was left")
        self.t.configured("release")
        run = os.path.join(m.path, "run")
        p = self.t.run(self.t.script("run"), "--only", "demo", "--out", run)
        self.assert_one_line(p, 1, f"no space left on {run}")
        self.assertEqual(self.t.calls(), [], "built although the run could not start")

    def test_full_filesystem_during_a_run_stops_it_with_one_line(self):
        needs_root(self)
        m = self.mount("full2")
        rel = self.t.configured("release")
        os.makedirs(os.path.join(rel, "core"))
        # A demo that fills the run folder's filesystem, then passes.
        write(os.path.join(rel, "core", "mmf_demo"),
              f"#!/bin/bash\nhead -c 10M /dev/zero >{m.path}/.filler 2>/dev/null\n"
              "echo 'demo counts: records=7 walked=7'\n", 0o755)
        run = os.path.join(m.path, "run")
        p = self.t.run(self.t.script("run"), "--only", "demo", "--out", run)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn(f"no space left on {run}", p.stderr.splitlines()[-1])
        self.assertLessEqual(len(p.stderr.splitlines()), 2, p.stderr)  # tee's one complaint at most
        self.assertNotIn("Traceback", p.stderr)
        self.assertTrue(os.path.exists(os.path.join(run, "INCOMPLETE")))

    def test_bench_on_a_filesystem_that_fills_stops_with_one_line(self):
        needs_root(self)
        m = self.mount("full3", "256k")
        drivers = os.path.join(self.tmp, "drivers")
        os.mkdir(drivers)
        # A driver whose JSON is cut by the full disk, and that exits 0.
        write(os.path.join(drivers, "bench_sync"), "#!/bin/bash\n"
              "for a; do case $a in --benchmark_list_tests=true) echo BM_Sync/call:mmf_sync/dirty:16; exit 0 ;;\n"
              "  --benchmark_out=*) o=${a#*=} ;; esac; done\n"
              f"head -c 300 {TOP}/results/baseline/bench_sync.json >\"$o\"\n"
              f"head -c 10M /dev/zero >{m.path}/.filler 2>/dev/null\nexit 0\n", 0o755)
        run = os.path.join(m.path, "run")
        self.t.env["MMF_BENCH_DIR"] = self.tmp
        p = self.t.run(self.t.script("bench"), "--bin", drivers, "--drivers", "bench_sync", "--out", run)
        self.assert_one_line(p, 1, f"no space left on {run}")
        self.assertTrue(os.path.exists(os.path.join(run, "INCOMPLETE")))

    def test_empty_or_unreadable_marker_is_incomplete(self):
        d = os.path.join(self.tmp, "runf")
        os.mkdir(d)
        write(os.path.join(d, "INCOMPLETE"), "")
        with self.assertRaisesRegex(files.ResultError, "incomplete"):
            files.check_complete(d)
        os.unlink(os.path.join(d, "INCOMPLETE"))
        os.mkdir(os.path.join(d, "INCOMPLETE"))     # open() fails: unreadable
        with self.assertRaisesRegex(files.ResultError, "incomplete"):
            files.check_complete(d)
        p = self.t.lib('run_dir_begin "$1"', d)      # and the bash side refuses it
        self.assert_one_line(p, 2, "another run's INCOMPLETE marker")

    def test_stage_settle_after_a_signal_is_interrupted(self):
        d = os.path.join(self.tmp, "st")
        os.mkdir(d)
        self.t.env["PYTHONPATH"] = os.path.join(TOP, "scripts")
        for rc, name in ((143, "SIGTERM"), (130, "SIGINT")):
            files.write_stage(d, "soak", "pass", "seed 1", {"ops": 5})
            p = self.t.run("/usr/bin/python3", "-m", "mmfresults", "stage-settle", d, "soak",
                           "--exit", str(rc), "--seconds", "1")
            self.assertEqual(p.returncode, 0, p.stderr)
            rec = files.read_stage(d, "soak")
            self.assertEqual(rec["verdict"], "interrupted", rec)
            self.assertIn(name, rec["reason"])
            self.assertEqual(rec["counts"], {"ops": 5})

    def test_demo_stage_counts_what_the_demo_ran(self):
        self.demo("echo 'demo counts: records=7 walked=7 grows=2 remaps=2 syncs=1'\n")
        run = os.path.join(self.tmp, "run")
        p = self.t.run(self.t.script("run"), "--only", "demo", "--out", run)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        rec = files.read_stage(run, "demo")
        self.assertEqual(rec["counts"].get("records"), 7, rec)
        self.assertEqual(rec["counts"].get("walked"), 7, rec)
        self.assertFalse(os.path.exists(os.path.join(run, "INCOMPLETE")))

    def test_skips_are_listed_with_their_reason_at_the_end(self):
        self.t.configured("dev")
        self.t.mode("ctest", "skip")
        p = self.t.run(self.t.script("test"), "-L", "fault")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        tail = p.stdout.splitlines()[-2:]
        self.assertRegex(tail[0], r"skipped: ctest \(dev\): fault.full_disk: SKIP full disk \(tmpfs\): needs root")
        self.assertIn("all tests passed", tail[1])

    def test_bench_pass_with_a_skip_says_what_and_why(self):
        run = os.path.join(self.tmp, "b")
        os.mkdir(run)
        base = os.path.join(TOP, "results", "baseline")
        for f in os.listdir(base):
            if os.path.isfile(os.path.join(base, f)):   # not validate/
                shutil.copy(os.path.join(base, f), run)
        ltm = os.path.join(run, "bench_ltm.json")
        doc = json.loads(read(ltm))
        for r in doc["benchmarks"]:
            r["error_occurred"], r["error_message"] = True, "skipped: needs root to make a memory cgroup"
        write(ltm, json.dumps(doc))
        mmf = lambda *a: self.t.run("/usr/bin/python3", "-m", "mmfresults", *a)
        self.t.env["PYTHONPATH"] = os.path.join(TOP, "scripts")
        p = mmf("summary", run, "--stage", "bench", "--drivers", "bench_sync bench_ltm")
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        rec = files.read_stage(run, "bench")
        self.assertEqual(rec["verdict"], "pass")
        self.assertRegex(rec["reason"], r"^\d+ skipped: BM_LTM.*needs root to make a memory cgroup")
        p = mmf("run-summary", run, "bench")
        self.assertIn("needs root to make a memory cgroup", p.stdout)


if __name__ == "__main__":
    unittest.main()
