"""files.py: truncated, corrupt and wrong-shape result files are refused by name."""
import json
import os
import shutil
import tempfile
import unittest

from mmfresults import files, runfolder

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
BASELINE = os.path.join(TOP, "results", "baseline")


def put(path, data):
    with open(path, "wb" if isinstance(data, bytes) else "w") as f:
        f.write(data)


def get(path):
    with open(path, "rb") as f:
        return f.read()


class FilesTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmf-test-files.")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def test_truncated_baseline_json_is_refused_by_name(self):
        src = os.path.join(BASELINE, "bench_read.json")
        raw = get(src)
        p = os.path.join(self.dir, "bench_read.json")
        put(p, raw[: len(raw) // 2])
        with self.assertRaises(files.ResultError) as cm:
            files.load_gbench(p)
        self.assertIn("bench_read.json", str(cm.exception))
        self.assertIn("truncated", str(cm.exception))

    def test_whole_baseline_json_loads(self):
        doc = files.load_gbench(os.path.join(BASELINE, "bench_read.json"))
        self.assertGreater(len(doc["benchmarks"]), 0)

    def test_wrong_shape_and_empty(self):
        p = os.path.join(self.dir, "x.json")
        put(p, "[1, 2]")
        with self.assertRaisesRegex(files.ResultError, "wrong shape"):
            files.load_json(p)
        put(p, "")
        with self.assertRaisesRegex(files.ResultError, "empty"):
            files.load_json(p)
        put(p, '{"benchmarks": 3}')
        with self.assertRaisesRegex(files.ResultError, "benchmarks"):
            files.load_gbench(p)

    def test_write_json_is_atomic_and_refuses_nan(self):
        p = os.path.join(self.dir, "y.json")
        files.write_json(p, {"a": 1})
        with self.assertRaises(ValueError):
            files.write_json(p, {"a": float("nan")})
        self.assertEqual(json.loads(get(p)), {"a": 1})
        self.assertEqual(sorted(os.listdir(self.dir)), ["y.json"])
        umask = os.umask(0o022)
        try:
            files.write_json(p, {"a": 2})
        finally:
            os.umask(umask)
        self.assertEqual(os.stat(p).st_mode & 0o777, 0o644)

    def test_incomplete_folder_refused_unless_owned(self):
        put(os.path.join(self.dir, files.MARKER), "in progress: run\ntoken=abc\n")
        files.write_json(os.path.join(self.dir, "z.json"), {})
        old = os.environ.pop("MMF_RUN_TOKEN", None)
        try:
            with self.assertRaisesRegex(files.ResultError, "incomplete run"):
                runfolder.check_folder(self.dir)
            os.environ["MMF_RUN_TOKEN"] = "abc"
            self.assertEqual(runfolder.check_folder(self.dir), 1)
        finally:
            os.environ.pop("MMF_RUN_TOKEN", None)
            if old is not None:
                os.environ["MMF_RUN_TOKEN"] = old

    def test_stage_records(self):
        files.write_stage(self.dir, "bench", "pass", counts={"benchmarks": 3})
        self.assertEqual(files.read_stage(self.dir, "bench")["counts"], {"benchmarks": 3})
        files.write_json(files.stage_path(self.dir, "soak"), {"verdict": "pass"})
        with self.assertRaisesRegex(files.ResultError, "not a stage record"):
            files.read_stage(self.dir, "soak")
        with self.assertRaises(ValueError):
            files.write_stage(self.dir, "x", "maybe")


if __name__ == "__main__":
    unittest.main()
