"""history dashboard in headless Chromium (Debian's chromium).

A store of two machines x 3 benchmark families (one benchmark named
<img src=x onerror="document.title='PWNED'">, one with a +15 % step) is drawn;
Chromium loads the page from file:// (no network) and the test checks: no
console message at all (the page logs nothing; a blocked script or image
logs a Content-Security-Policy error), the expected number of charts and
change-point marks, the page's own script ran (the second machine's section
is hidden), the data-borne script did not (title unchanged, no <img> element,
the name shown as text). The page and a screenshot are kept in
build/history-dashboard/. Skipped only when chromium is missing.
"""
import contextlib
import html
import io
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest
import unittest.mock

import numpy as np

from mmfresults import changepoint, dashboard, history, store
from mmfresults.tests.test_history import TOP, tiny_run

CHROMIUM = shutil.which("chromium")
PWN = "<img src=x onerror=\"document.title='PWNED'\">/x:1"
NAMES = ("BM_Read/api:bytes/rec:4096", "BM_Read/api:pread/rec:4096",
         "BM_Write/api:append/rec:64", "BM_Write/api:slice/rec:64", PWN)
KEEP = os.path.join(TOP, "build", "history-dashboard")
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--enable-logging=stderr", "--v=0"]


def build_store(top, db):
    """Machine K1: 16 runs, machine K2: 12; BM_Write/api:append 15 % slower from K1's run 8."""
    rng = np.random.default_rng(1)
    for kernel, n in (("K1", 16), ("K2", 12)):
        for i in range(n):
            vals = {}
            for j, name in enumerate(NAMES):
                step = 1.15 if kernel == "K1" and name.startswith("BM_Write/api:append") and i >= 8 \
                    else 1.0
                vals[name] = 100 * (j + 1) * step * (1 + rng.normal(0, 0.01))
            history.ingest(db, tiny_run(os.path.join(top, f"{kernel}-{i}"),
                                        f"2026-02-{1 + i:02d}T00:00:00Z", vals, kernel,
                                        revision=f"{i:040x}"), out=io.StringIO())


def chromium(args, udd, timeout=40):
    """Run chromium headless; (stdout, stderr). Kills its whole process group on timeout."""
    p = subprocess.Popen([CHROMIUM] + FLAGS + [f"--user-data-dir={udd}"] + args,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        out, err = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        p.communicate()
        raise AssertionError(f"chromium did not finish in {timeout} s")
    return out, err


@unittest.skipUnless(CHROMIUM, "skipped: chromium missing (scripts/bootstrap history installs it)")
class DashboardTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmf-test-dash.")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_page_in_headless_chromium(self):
        db = os.path.join(self.dir, "h.db")
        build_store(self.dir, db)
        with store.Store(db) as st:
            text, charts, ncps = dashboard.page(st)
        self.assertEqual((charts, ncps), (6, 1))       # 2 machines x 3 families; the one step
        self.assertIn(changepoint.METHOD_NAMES[changepoint.DEFAULT_METHOD], text)
        self.assertIn(f"a point is {html.escape(changepoint.point_name())};", text)
        for method in changepoint.METHODS:             # the same step, by values or by ranks
            with store.Store(db) as st:
                other = dashboard.page(st, method=method, statistic="median", metric="real_time")
            self.assertEqual(other[1:], (6, 1), method)
            self.assertIn(changepoint.METHOD_NAMES[method], other[0])
            self.assertIn("a point is the median of real_time", other[0])
        os.makedirs(KEEP, exist_ok=True)
        page = os.path.join(KEEP, "index.html")
        with open(page, "w") as f:
            f.write(text)
        url = "file://" + page
        dom, err = chromium(["--dump-dom", url], tempfile.mkdtemp(dir=self.dir))
        console = [l for l in err.splitlines() if ":CONSOLE" in l]
        self.assertEqual(console, [], "console messages:\n" + "\n".join(console))
        self.assertEqual(len(re.findall(r'<svg class="chart"', dom)), 6)
        self.assertEqual(len(re.findall(r'<line class="change-point"', dom)), 1)
        self.assertEqual(re.search(r"<title>(.*?)</title>", dom).group(1),
                         "mmapfile performance history")
        self.assertNotIn("PWNED</title>", dom)
        self.assertIsNone(re.search(r"<img\b", dom, re.I))
        self.assertIn("&lt;img src=x onerror=\"document.title='PWNED'\"&gt;", dom)
        sections = re.findall(r'<section class="machine"[^>]*>', dom)
        self.assertEqual(len(sections), 2)
        self.assertEqual(["hidden" in s for s in sections], [False, True])  # its script ran
        self.assertEqual(len(re.findall(r'<a class="run" href="file:///', dom)), 28)
        shot = os.path.join(KEEP, "screenshot.png")
        if os.path.exists(shot):
            os.unlink(shot)
        chromium([f"--screenshot={shot}", "--window-size=1100,1400", "--hide-scrollbars", url],
                 tempfile.mkdtemp(dir=self.dir))
        with open(shot, "rb") as f:
            png = f.read()
        self.assertEqual(png[:8], b"\x89PNG\r\n\x1a\n")
        self.assertGreater(len(png), 20000)


class DashboardCliTest(unittest.TestCase):
    def test_empty_store_and_usage(self):
        d = tempfile.mkdtemp(prefix="mmf-test-dash.")
        try:
            hist = os.path.join(TOP, "scripts", "history")
            db = os.path.join(d, "h.db")
            store.Store(db).close()
            p = subprocess.run([hist, "dashboard", "--db", db, "--out", os.path.join(d, "o")],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 1)
            self.assertIn("no series", p.stderr)
            p = subprocess.run([hist, "dashboard", "--db", db], capture_output=True, text=True)
            self.assertEqual(p.returncode, 2)
        finally:
            shutil.rmtree(d)

    def test_page_mode_is_set_before_the_rename(self):
        """Someone who can write in --out swaps index.html for a symlink to a
        file of root's right after the rename: the page's mode must not be
        set by name after it (a chmod would follow the link)."""
        d = tempfile.mkdtemp(prefix="mmf-test-dash.")
        self.addCleanup(shutil.rmtree, d)
        db = os.path.join(d, "h.db")
        build_store(d, db)
        out = os.path.join(d, "o")
        victim = os.path.join(d, "victim")
        with open(victim, "w") as f:
            f.write("secret\n")
        os.chmod(victim, 0o600)
        real_replace = os.replace

        def replace_then_plant(src, dst):
            real_replace(src, dst)
            if dst.endswith("index.html"):
                os.unlink(dst)
                os.symlink(victim, dst)
        with unittest.mock.patch.object(os, "replace", replace_then_plant), \
                contextlib.redirect_stdout(io.StringIO()):
            dashboard.main(["--db", db, "--out", out])
        self.assertEqual(os.stat(victim).st_mode & 0o777, 0o600)
        os.unlink(os.path.join(out, "index.html"))
        old = os.umask(0o002)       # group-writable by default: the page is not
        try:
            with contextlib.redirect_stdout(io.StringIO()):
                dashboard.main(["--db", db, "--out", out])
        finally:
            os.umask(old)
        self.assertEqual(os.stat(os.path.join(out, "index.html")).st_mode & 0o777, 0o644)


if __name__ == "__main__":
    unittest.main()
