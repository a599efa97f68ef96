"""Every script that makes a scratch folder refuses a parent someone else
controls (issue 16), before any build or run.

One row per script and the variable (or option) naming its scratch parent.
Each row is run against three plants: a symlink to a folder of the
planter's, a folder others can write that is not sticky, and (as root) a
folder made by `nobody` in a sticky folder the way another user plants a
name in /var/tmp. Each must end in exit 2 with one line naming the reason,
and nothing may be written into the planted folder. The check is
scripts/lib.sh check_dir (mmfresults crashvm check-dir); the C side is
bench/common/private_dir.c (unit.private_dir, unit.ltm_cache).
"""
import os
import shutil
import subprocess
import tempfile
import unittest

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))

# script argv (OUT: the test's output folder) | the variable naming the parent
# (None: PARENT goes where the argv says) | extra environment
ROWS = [
    (["scripts/bench", "--out", "OUT"], "MMF_BENCH_DIR", {}),
    (["scripts/fio-check", "--out", "OUT"], "MMF_BENCH_DIR", {}),
    (["scripts/crash-kill", "--cycles", "1", "--out", "OUT"], "TMPDIR", {}),
    (["scripts/crash-kill", "--cycles", "1", "--dir", "PARENT", "--out", "OUT"], None, {}),
    (["scripts/crash-mutants", "--out", "OUT"], "TMPDIR", {}),
    (["scripts/run", "--only", "soak", "--out", "OUT"], "TMPDIR", {}),
    ([".ci/shard-campaign", "0", "1", "1", "OUT"], "TMPDIR", {"MMF_SHARD_STAGES": "soak"}),
    # the Python tests' own folders (tests/__init__.py)
    (["/usr/bin/python3", "-m", "unittest", "mmfresults.tests.test_files"], "TMPDIR",
     {"PYTHONPATH": os.path.join(TOP, "scripts")}),
]


def plants(top):
    """(name, parent, the folder nothing may be written into, reason) of each
    plant, made in top (a folder nobody can reach: under /tmp, mode 0711)."""
    theirs = os.path.join(top, "theirs")
    os.mkdir(theirs)
    link = os.path.join(top, "link")
    os.symlink(theirs, link)
    open_dir = os.path.join(top, "open")
    os.mkdir(open_dir)
    os.chmod(open_dir, 0o777)
    out = [("symlink", link, theirs, "symlink"),
           ("open", open_dir, open_dir, "not sticky")]
    if os.geteuid() == 0 and shutil.which("runuser"):
        shared = os.path.join(top, "shared")
        os.mkdir(shared)
        os.chmod(shared, 0o1777)
        planted = os.path.join(shared, "nobodys")
        subprocess.run(["runuser", "-u", "nobody", "--", "mkdir", "-m", "0777", planted],
                       check=True)
        uid = os.stat(planted).st_uid
        out.append(("nobody", planted, planted, "owned by uid %d" % uid))
        # root's own folder, but inside nobody's: they can rename it away
        home = os.path.join(shared, "home")
        subprocess.run(["runuser", "-u", "nobody", "--", "mkdir", "-m", "0755", home], check=True)
        mine = os.path.join(home, "mine")
        os.mkdir(mine, 0o700)
        out.append(("in-nobodys", mine, mine, "lies in %s, owned by uid %d" % (home, uid)))
    return out


def plant_folder(test):
    """A fresh folder under /tmp that nobody can reach (removed after test)."""
    d = tempfile.mkdtemp(prefix="mmf-test-scratch.", dir="/tmp")
    test.addCleanup(shutil.rmtree, d)
    os.chmod(d, 0o711)
    return d


class PlantedScratchParentTest(unittest.TestCase):
    def setUp(self):
        # under /tmp (not $TMPDIR: the rows set it) and reachable by nobody
        self.dir = plant_folder(self)

    def test_every_script_refuses_a_planted_parent(self):
        checked = 0
        for name, parent, victim, reason in plants(self.dir):
            for argv, var, extra in ROWS:
                with self.subTest(plant=name, script=argv[0], var=var):
                    out = os.path.join(self.dir, "out-%d" % checked)
                    args = [{"OUT": out, "PARENT": parent}.get(a, a) for a in argv]
                    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **extra)
                    env.pop("TMPDIR", None)
                    if var:
                        env[var] = parent
                    r = subprocess.run([os.path.join(TOP, args[0])] + args[1:], env=env, cwd=TOP,
                                       stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                       stderr=subprocess.PIPE, text=True, timeout=60)
                    self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                    self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                    self.assertIn(reason, r.stderr)
                    self.assertIn(parent, r.stderr)
                    self.assertEqual(os.listdir(victim), [])
                    checked += 1
        self.assertGreaterEqual(checked, 2 * len(ROWS))


FUZZ = os.path.join(TOP, "build", "fuzz", "faults", "fuzz", "fuzz_handle")


@unittest.skipUnless(os.access(FUZZ, os.X_OK), "skipped: no build/fuzz (scripts/fuzz builds it)")
class FuzzTargetTest(unittest.TestCase):
    """fuzz_handle run by hand: a planted $TMPDIR is refused before any input."""

    def test_planted_tmpdir_is_refused(self):
        top = plant_folder(self)
        for name, parent, victim, reason in plants(top):
            with self.subTest(plant=name):
                r = subprocess.run([FUZZ, "-runs=2"], env=dict(os.environ, TMPDIR=parent),
                                   cwd=top, stdin=subprocess.DEVNULL, capture_output=True,
                                   text=True, timeout=60)
                self.assertEqual(r.returncode, 2, r.stderr[-500:])
                self.assertIn("fuzz_handle: TMPDIR %s: " % parent, r.stderr)
                self.assertIn(reason, r.stderr)
                self.assertEqual(os.listdir(victim), [])
        self.assertFalse([f for f in os.listdir(top) if f.startswith("crash-")])


class CheckDirTest(unittest.TestCase):
    """lib.sh check_dir accepts what a scratch parent may be."""

    def test_accepts_own_and_sticky_folders(self):
        d = tempfile.mkdtemp(prefix="mmf-test-scratch.")
        self.addCleanup(shutil.rmtree, d)
        for parent in (d, "/tmp", "/var/tmp", d + "/"):
            r = subprocess.run(["bash", "-c", '. "$1/scripts/lib.sh"; check_dir "$2" x', "sh",
                                TOP, parent], capture_output=True, text=True, timeout=30)
            self.assertEqual((r.returncode, r.stderr), (0, ""), parent)


if __name__ == "__main__":
    unittest.main()
