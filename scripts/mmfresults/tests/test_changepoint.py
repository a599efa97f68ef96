

class BackfillTest(unittest.TestCase):
    """backfill's usage checks and its verdict (the builds and runs themselves take a
    minute or more: README "Performance history" gives a measured run)."""

    def test_usage_and_verdict(self):
        from mmfresults import backfill
        for args in (["--revs", "3"], ["--revs", "10", "--inject-at", "9"],
                     ["--revs", "10", "--inject-ns", "0"], ["--revs", "x"]):
            p = run(["backfill"] + args)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertEqual(p.stderr.strip().count("\n"), 0, p.stderr)
        d = tempfile.mkdtemp(prefix="mmf-test-backfill.")
        try:
            db = os.path.join(d, "h.db")
            tiny_history(d, db, [100.0] * 6 + [130.0] * 6, names=("BM_A/x:1",))
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                self.assertEqual(backfill.verdict(db, "^BM_A/", f"{6:040x}"), 0)
                self.assertEqual(backfill.verdict(db, "^BM_A/", f"{5:040x}"), 1)
                self.assertEqual(backfill.verdict(db, "^NOMATCH", f"{6:040x}"), 2)
            self.assertIn("named", out.getvalue())
        finally:
            shutil.rmtree(d)
