"""history on a real PostgreSQL server started in a temporary folder.

The server (initdb + pg_ctl from /usr/lib/postgresql/*/bin) runs as a non-root
user (postgres refuses root: the `postgres` system user when this runs as
root), listens ONLY on a Unix socket in its 0700 folder (listen_addresses='',
checked from the server's own settings: issue 16), gets results/baseline
ingested (twice: idempotent) and queried, and is stopped. Skipped only when
the PostgreSQL binaries are missing (scripts/bootstrap history installs them).
"""
import glob
import io
import os
import pwd
import shutil
import subprocess
import tempfile
import unittest
import urllib.parse

from mmfresults import history, store
from mmfresults.tests.test_history import BASELINE, HOSTILE, iteration_rows, make_run

BIN = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))


def _as_user():
    """(argv prefix, uid, gid) that runs a command as a non-root user."""
    if os.geteuid() != 0:
        return [], os.getuid(), os.getgid()
    pw = pwd.getpwnam("postgres")
    return ["runuser", "-u", "postgres", "--"], pw.pw_uid, pw.pw_gid


@unittest.skipUnless(BIN, "skipped: PostgreSQL binaries missing (/usr/lib/postgresql/*/bin/initdb;"
                          " scripts/bootstrap history installs them)")
class PostgresHistoryTest(unittest.TestCase):
    def setUp(self):
        self.bin = os.path.dirname(BIN[-1])
        self.dir = tempfile.mkdtemp(prefix="mmf-test-pg.")
        self.prefix, uid, gid = _as_user()
        os.chown(self.dir, uid, gid)
        os.chmod(self.dir, 0o700)
        self.data = os.path.join(self.dir, "data")
        self.run_pg([os.path.join(self.bin, "initdb"), "-D", self.data, "-A", "trust",
                     "-U", "mmf", "--no-sync", "-E", "UTF8"])
        self.started = False
        opts = f"-k {self.dir} -c listen_addresses='' -c fsync=off"
        self.run_pg([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-w", "-t", "15",
                     "-l", os.path.join(self.dir, "log"), "-o", opts, "start"])
        self.started = True
        self.url = ("postgresql:///postgres?" +
                    urllib.parse.urlencode({"host": self.dir, "user": "mmf"}))

    def tearDown(self):
        if self.started:
            self.run_pg([os.path.join(self.bin, "pg_ctl"), "-D", self.data, "-m", "immediate",
                         "-w", "stop"])
        shutil.rmtree(self.dir)

    def run_pg(self, argv):
        p = subprocess.run(self.prefix + argv, capture_output=True, text=True, timeout=30)
        if p.returncode != 0:
            self.fail(f"{' '.join(argv)}: exit {p.returncode}: {p.stderr.strip()[-400:]}")

    def test_ingest_query_merge_on_postgresql(self):
        out = io.StringIO()
        with store.Store(self.url) as st:
            self.assertEqual(st.query("SHOW listen_addresses"), [("",)])
            self.assertEqual(st.query("SHOW unix_socket_directories"), [(self.dir,)])
        rid, added = history.ingest(self.url, BASELINE, out=out)
        self.assertTrue(added)
        self.assertEqual(history.ingest(self.url, BASELINE, out=out), (rid, False))
        rows = iteration_rows(BASELINE, "bench_read")
        r = rows[3]
        with store.Store(self.url) as st:
            got = st.query("SELECT value FROM measurements WHERE driver = ? AND benchmark = ?"
                           " AND metric = ? AND repetition = ?",
                           ("bench_read", r["run_name"], "real_time", r["repetition_index"]))
            self.assertEqual(got, [(r["real_time"],)])
            self.assertEqual(st.count("runs"), 1)
            n_pg = st.count("measurements")
        # SQLite and PostgreSQL hold the same rows: merge the server into a file.
        db = os.path.join(self.dir, "copy.db")
        history.merge(db, [self.url], out=out)
        with store.Store(db) as st:
            self.assertEqual(st.count("measurements"), n_pg)
        # An untrusted name goes in as a parameter, not as SQL.
        first = iteration_rows(BASELINE, "bench_sync")[0]["run_name"]
        run = make_run(os.path.join(self.dir, "hostile"), rename={first: HOSTILE})
        history.ingest(self.url, run, out=out)
        with store.Store(self.url) as st:
            self.assertEqual(st.count("runs"), 2)
            self.assertEqual(len(st.query("SELECT 1 FROM measurements WHERE benchmark = ?"
                                          " LIMIT 1", (HOSTILE,))), 1)


if __name__ == "__main__":
    unittest.main()
