"""model.py: specs the model cannot honour are refused naming the key (file
and inline specs, one validator), and the growth replay gives the sizes the C
library itself grows through (mmf_growth_sizes, built by CMake; CTest passes
its path in MMF_GROWTH_SIZES)."""
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from mmfresults import files
from mmfresults import model as M

MiB = M.MiB
GOOD = {"record_bytes": 1024, "write_rate_mb_s": 40, "sync_interval_ms": 2, "roll_size_mib": 256}


def with_(base=GOOD, **kw):
    """base with dotted keys replaced (growth__policy -> growth.policy)."""
    d = json.loads(json.dumps(base))
    for k, v in kw.items():
        parts = k.split("__")
        where = d
        for p in parts[:-1]:
            where = where.setdefault(p, {})
        where[parts[-1]] = v
    return d


class SpecValidationTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmf-test-model.")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def refused(self, spec_text, key, suffix=".json"):
        """The spec, written as a file, is refused with one line naming key."""
        p = os.path.join(self.dir, "spec" + suffix)
        with open(p, "w") as f:
            f.write(spec_text)
        with self.assertRaises(M.SpecError) as cm:
            M.load_spec(p)
        msg = str(cm.exception)
        self.assertIn(key, msg)
        self.assertNotIn("\n", msg)
        self.assertTrue(msg.startswith(p), msg)
        return msg

    def refused_inline(self, text, key):
        with self.assertRaises(M.SpecError) as cm:
            M.load_spec(text)
        self.assertIn(key, str(cm.exception))
        self.assertNotIn("\n", str(cm.exception))
        return str(cm.exception)

    def test_the_good_spec_and_the_examples_load(self):
        s = M.Spec(GOOD)
        self.assertEqual((s.rec, s.sync_interval_s, s.roll, s.policy, s.flags),
                         (1024, 0.002, 256 * MiB, "double", ["reserve"]))
        for f in ("wal.json", "sstable.json", "readheavy.json"):
            M.load_spec(os.path.join(os.path.dirname(__file__), "..", "..", "..", "results", "specs", f))

    def test_typo_key_is_refused_with_the_right_word(self):
        # before: ignored, and a per-record-sync WAL was predicted at 359x headroom
        msg = self.refused(json.dumps(with_(recods_per_sync=1)), "recods_per_sync")
        self.assertIn("did you mean records_per_sync", msg)
        self.refused(json.dumps(with_(growth__polcy="chunk")), "growth.polcy")
        self.refused(json.dumps(with_(reads__per_record=1, reads__apii="pread")), "reads.apii")
        self.refused_inline("record_bytes=1024,write_rate_mb_s=1,recods_per_sync=1,roll_size_mib=64",
                            "recods_per_sync")

    def test_non_positive_values_are_refused(self):
        spec = dict(GOOD)
        del spec["sync_interval_ms"]
        for key, bad in (("sync_interval_ms", -5), ("sync_interval_ms", 0), ("records_per_sync", 0),
                         ("records_per_sync", -1), ("write_rate_mb_s", 0), ("roll_size_mib", -1),
                         ("record_bytes", 4), ("files_kept", 0), ("initial_size_mib", -1),
                         ("growth__chunk_mib", 0), ("growth__max_step_mib", -64),
                         ("reads__per_record", -3), ("reads__set_mib", 0)):
            with self.subTest(key=key, value=bad):
                self.refused(json.dumps(with_(spec, **{key: bad})), key.replace("__", "."))
        self.refused_inline("record_bytes=1024,write_rate_mb_s=40,sync_interval_ms=-5,roll_size_mib=256",
                            "sync_interval_ms")
        self.refused_inline("record_bytes=1024,write_rate_mb_s=4,roll_size_mib=64,reads.per_record=-3",
                            "reads.per_record")

    def test_non_finite_values_are_refused(self):
        for text in ("NaN", "Infinity", "-Infinity"):
            with self.subTest(value=text):
                self.refused('{"record_bytes": 1024, "write_rate_mb_s": %s, "roll_size_mib": 64}' % text,
                             "write_rate_mb_s")
                self.refused_inline("record_bytes=1024,write_rate_mb_s=4,roll_size_mib=%s" % text, "roll_size_mib")
        self.refused('record_bytes = 1024\nwrite_rate_mb_s = nan\nroll_size_mib = 64\n', "write_rate_mb_s",
                     suffix=".toml")

    def test_wrong_types_are_refused(self):
        for key, bad in (("growth", "double"), ("growth", ["double"]), ("reads", 20),
                         ("record_bytes", "1024"), ("record_bytes", 1024.5), ("record_bytes", True),
                         ("truncate_on_roll", "yes"), ("api", "mmap"), ("growth__policy", "doubling"),
                         ("growth__flags", "reserve"), ("growth__flags", ["sync-before-grow"]),
                         ("growth__flags", ["reserve", "reserve"]), ("name", "../escape"), ("name", 7)):
            with self.subTest(key=key, value=bad):
                self.refused(json.dumps(with_(**{key: bad})), key.replace("__", "."))

    def test_a_spec_that_is_not_an_object_is_refused(self):
        for text in ("[]", '[{"record_bytes": 1024}]', "7", '"wal"', "null"):
            with self.subTest(spec=text):
                self.refused(text, "a spec must be an object")
        self.refused('{"record_bytes": 1024,', "not a valid JSON spec")

    def test_missing_and_conflicting_keys_are_refused(self):
        for key in ("record_bytes", "write_rate_mb_s", "roll_size_mib"):
            d = dict(GOOD)
            del d[key]
            with self.subTest(missing=key):
                self.refused(json.dumps(d), key)
        self.refused(json.dumps(with_(records_per_sync=1)), "records_per_sync, sync_interval_ms")
        self.refused(json.dumps(with_(roll_size_mib=0.0001)), "roll_size_mib")
        self.refused(json.dumps(with_(growth__seed_options=True, growth__policy="chunk")), "growth.seed_options")
        self.refused(json.dumps(with_(reads={"api": "pread"})), "reads.per_record")

    def test_inline_specs_use_the_same_validator(self):
        s = M.load_spec("record_bytes=1024,write_rate_mb_s=40,records_per_sync=1,roll_size_mib=256,"
                        "growth.policy=chunk,growth.chunk_mib=32,growth.flags=reserve+populate")
        self.assertEqual((s.policy, s.chunk, s.flags, s.records_per_sync), ("chunk", 32 * MiB,
                                                                             ["reserve", "populate"], 1))
        self.refused_inline("record_bytes=1024,write_rate_mb_s=4,roll_size_mib=64,growth.flags=sync-before-grow",
                            "growth.flags")
        self.refused_inline("record_bytes=1024,write_rate_mb_s=4,roll_size_mib", "is not key=value")
        self.refused_inline("record_bytes=1024,write_rate_mb_s=4,roll_size_mib=64,growth=double,growth.policy=x",
                            "growth")


    def test_disk_keys_are_checked(self):
        s = M.Spec(with_(disk={"size_gb": 960, "rated_tbw": 1752}))
        self.assertAlmostEqual(s.disk_rated_dwpd, 1752e12 / (960e9 * 365 * 5))
        self.refused(json.dumps(with_(disk={"size_gb": 960, "rated_dwpd": 1, "rated_tbw": 1752})),
                     "disk.rated_dwpd, disk.rated_tbw")
        self.refused(json.dumps(with_(disk={"rated_dwpd": 1})), "disk.size_gb")
        self.refused(json.dumps(with_(disk={"size_gb": 960, "rated_dwpd": 1, "warranty_years": 3})),
                     "disk.warranty_years")
        self.refused(json.dumps(with_(disk={"size_gb": 0})), "disk.size_gb")
        self.refused(json.dumps(with_(disk={"size_gb": 960, "rated_dwpd": -1})), "disk.rated_dwpd")
        self.refused(json.dumps(with_(disk={"sise_gb": 960})), "disk.sise_gb")
        self.refused(json.dumps(with_(disk=960)), "disk")
        self.refused_inline("record_bytes=1024,write_rate_mb_s=1,roll_size_mib=64,disk.rated_dwpd=1",
                            "disk.size_gb")


def write_bench(folder, driver, rows, reps=3):
    """folder/<driver>.json of Google Benchmark rows: rows is [(name, {field:
    value})], each repeated reps times (real_time in µs)."""
    os.makedirs(folder, exist_ok=True)
    out = []
    for name, fields in rows:
        for i in range(reps):
            r = {"name": name, "run_name": name, "run_type": "iteration", "repetition_index": i,
                 "time_unit": "us", "real_time": 1.0, "cpu_time": 1.0, "iterations": 1}
            r.update(fields)
            out.append(r)
    files.write_json(os.path.join(folder, driver + ".json"), {"context": {}, "benchmarks": out})


def device_results(folder):
    """A results folder whose library rows write 5 KiB per sync of a 64 B
    record, 8 KiB per sync of 4 KiB (own bios), sync latency 100 µs."""
    lib = "BM_Write/api:allocate_slice/opts:default"
    sync = {"sync_p50_ns": 1e5, "sync_p99_ns": 2e5, "sync_p999_ns": 3e5, "sync_mean_ns": 1e5}
    write_bench(folder, "bench_write", [
        (lib + "/sync:never/rec:1024/iterations:1000/real_time",
         {"iterations": 1000, "records": 1000, "real_time": 1000.0, "grow_ns": 1000, "grows": 1, "bytes_grown": MiB}),
        (lib + "/sync:1/rec:64/iterations:256/real_time",
         dict(sync, iterations=256, records=256, own_write_bytes=256 * 5120, dev_write_bytes=256 * 12288,
              grow_ns=0, grows=1, bytes_grown=MiB)),
        (lib + "/sync:1/rec:4096/iterations:256/real_time",
         dict(sync, iterations=256, records=256, own_write_bytes=256 * 8192, dev_write_bytes=256 * 16384)),
        (lib + "/sync:64/rec:64/iterations:4096/real_time",
         dict(sync, iterations=4096, records=4096, own_write_bytes=64 * 8192, dev_write_bytes=64 * 16384)),
        # device bytes of a row that never syncs are background writeback: not a coefficient
        (lib + "/sync:never/rec:64/iterations:1000/real_time",
         {"iterations": 1000, "records": 1000, "real_time": 100.0, "own_write_bytes": 1e9, "dev_write_bytes": 1e9}),
    ])
    from mmfresults import data
    return M.Coefficients(data.load(folder, drivers=["bench_write"]))


class DeviceModelTest(unittest.TestCase):
    """Device work: bytes per record from the rows, bandwidth, per day, DWPD."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmf-test-device.")
        self.co = device_results(os.path.join(self.dir, "run"))

    def tearDown(self):
        shutil.rmtree(self.dir)

    def predict(self, **kw):
        d = {"record_bytes": 64, "write_rate_mb_s": 0.1, "records_per_sync": 1, "roll_size_mib": 16}
        d.update(kw)
        return M.predict(M.Spec({k: v for k, v in d.items() if v is not None}), self.co)

    def test_data_pages(self):
        self.assertEqual(M.data_pages(1024), 1)           # records inside one page
        self.assertEqual(M.data_pages(4096), 1)
        self.assertEqual(M.data_pages(8192), 2)
        self.assertAlmostEqual(M.data_pages(6000), 6000 / 4096 + 1 - 16 / 4096)   # gcd 16: spans 2 or 3
        self.assertAlmostEqual(M.data_pages(6144), 2)     # offsets 0, 6144 ...: 2 pages each

    def test_a_measured_point_is_the_measurement(self):
        p = self.predict()
        self.assertEqual(p["dev_counter"], "own")
        self.assertAlmostEqual(p["dev_bytes_per_record"], 5120)
        self.assertAlmostEqual(p["dev_write_amp"], 80)
        # 64 records per sync: one 8 KiB sync (the sync:64 row) spread over 64 records
        self.assertAlmostEqual(self.predict(records_per_sync=64)["dev_bytes_per_record"], 128)

    def test_between_points_the_excess_is_interpolated_in_log_size(self):
        # 1 KiB: 4096 of data page + excess 2/3 of the way from 1024 (64 B) to 4096 (4 KiB)
        self.assertAlmostEqual(self.predict(record_bytes=1024)["dev_bytes_per_record"], 4096 + 3072)
        # syncing only at roll: 16 MiB of pages + the largest size's excess, over 16 Ki records
        p = self.predict(record_bytes=1024, records_per_sync=None)
        self.assertAlmostEqual(p["dev_bytes_per_record"], (16 * MiB + 4096) / (16 * 1024))

    def test_bandwidth_per_day_and_the_drive(self):
        p = self.predict(disk={"size_gb": 1000, "rated_dwpd": 1})
        self.assertGreater(p["headroom"], 1)
        self.assertAlmostEqual(p["dev_rate_bps"], 0.1e6 * 5120 / 64)
        self.assertAlmostEqual(p["dev_bytes_per_day"], 8e6 * 86400)
        self.assertAlmostEqual(p["dwpd"], 8e6 * 86400 / 1e12)
        self.assertAlmostEqual(p["dwpd_headroom"], 1e12 / (8e6 * 86400))
        p = self.predict(disk={"size_gb": 1000, "rated_tbw": 600})
        self.assertAlmostEqual(p["dwpd_headroom"], 600e12 / (1e12 * 365 * 5) / p["dwpd"])
        self.assertAlmostEqual(p["tbw_years"], 600e12 / (8e6 * 86400 * 365))
        self.assertNotIn("dwpd", self.predict())

    def test_a_rate_above_the_sustainable_one_is_capped(self):
        p = self.predict(write_rate_mb_s=100)
        self.assertLess(p["headroom"], 1)
        self.assertAlmostEqual(p["dev_rate_bps"], p["rate_bps"] * 5120 / 64)

    def test_files_past_deep_take_the_deep_scenario(self):
        from mmfresults import data
        folder = os.path.join(self.dir, "deep")
        device_results(folder)
        row = "BM_Sync/scenario:%s/rec:1024/folios:small/iterations:128/real_time"
        write_bench(folder, "bench_sync", [
            (row % "fresh", {"iterations": 128, "records": 128, "own_write_bytes": 128 * 5120,
                             "dev_write_bytes": 128 * 8192}),
            (row % "deep", {"iterations": 128, "records": 128, "own_write_bytes": 128 * 6144,
                            "dev_write_bytes": 128 * 8192})])
        co = M.Coefficients(data.load(folder, drivers=["bench_write", "bench_sync"]))
        spec = lambda mib: M.Spec({"record_bytes": 1024, "write_rate_mb_s": 0.1,  # noqa: E731
                                   "records_per_sync": 1, "roll_size_mib": mib})
        self.assertAlmostEqual(M.predict(spec(16), co)["dev_bytes_per_record"], 5120)
        self.assertAlmostEqual(M.predict(spec(48), co)["dev_bytes_per_record"], 6144)
        self.assertIn("scenario:deep", co.sources["device"])

    def test_no_device_counters_no_device_figures(self):
        from mmfresults import data
        folder = os.path.join(self.dir, "old")
        write_bench(folder, "bench_write", [
            ("BM_Write/api:allocate_slice/opts:default/sync:1/rec:64/iterations:256/real_time",
             {"iterations": 256, "records": 256, "sync_p50_ns": 1e5, "sync_p99_ns": 2e5, "sync_p999_ns": 3e5,
              "sync_mean_ns": 1e5, "grow_ns": 10, "grows": 1, "bytes_grown": MiB}),
            ("BM_Write/api:allocate_slice/opts:default/sync:never/rec:64/iterations:256/real_time",
             {"iterations": 256, "records": 256, "real_time": 100.0, "grow_ns": 10, "grows": 1,
              "bytes_grown": MiB})])
        co = M.Coefficients(data.load(folder, drivers=["bench_write"]))
        p = M.predict(M.Spec({"record_bytes": 64, "write_rate_mb_s": 0.1, "records_per_sync": 1,
                              "roll_size_mib": 16}), co)
        self.assertIn("rate_bps", p)
        self.assertNotIn("dev_bytes_per_record", p)


class DeviceValidationTest(unittest.TestCase):
    """validate.device_rows: the loadgen's counters against the prediction."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmf-test-devval.")
        self.co = device_results(os.path.join(self.dir, "run"))

    def tearDown(self):
        shutil.rmtree(self.dir)

    @staticmethod
    def run_(records, own_per_rec, seconds, dev=None, idle=-1, complete=(), partial=0):
        return {"records": records, "elapsed_s": seconds, "append_bps": records * 64 / seconds,
                "files": [{"data": d, "complete": True} for d in complete] + [{"data": partial, "complete": False}],
                "device": {"own_write_bytes": records * own_per_rec, "idle_write_bps": idle,
                           "dev_write_bytes": dev if dev is not None else records * own_per_rec * 2}}

    def rows(self, spec, A, B):
        from mmfresults import validate as V
        out = []
        V.device_rows(spec, self.co, M.predict(spec, self.co), A, B,
                      lambda name, p, m, kind, why="": out.append((name, p, m)))
        return out

    def test_agreement_and_disagreement(self):
        spec = M.Spec({"record_bytes": 64, "write_rate_mb_s": 0.1, "records_per_sync": 1, "roll_size_mib": 16})
        A = self.run_(10000, 5000, 2.0)
        B = self.run_(1562, 5200, 1.0, idle=1000)
        (n1, p1, m1), (n2, p2, m2), (n3, p3, m3) = self.rows(spec, A, B)
        self.assertIn("per record (own bios)", n1)
        self.assertEqual((p1, m1), (5120, 5000))
        self.assertAlmostEqual(p2, 5120 / 64 * B["append_bps"])     # at the paced phase's rate
        self.assertAlmostEqual(m2, 1562 * 5200 / 1.0)
        self.assertIsNone(p3)                                        # device-wide: shown, not judged
        self.assertAlmostEqual(m3, (1562 * 5200 * 2 - 1000) / 1.0)

    def test_the_note_names_large_folios_from_the_dirtied_bytes(self):
        from mmfresults import explain as E
        spec = M.Spec({"record_bytes": 1024, "write_rate_mb_s": 10, "sync_interval_ms": 10, "roll_size_mib": 256})
        B = self.run_(300000, 6000, 30.0)
        B["append_bps"], B["syncs"] = 10e6, 1500
        B["device"].update(own_writes=6000, proc_dirtied_bytes=300000 * 6000)
        row = {"figure": "device write bandwidth (own bios)", "predicted": 11e6, "measured": 58e6, "kind": "rate"}
        note = E._device_note(spec, row, B, B)
        self.assertIn("4.0 writes per sync", note)
        self.assertIn("5.9 KiB of page cache dirtied per record where 4 KiB folios make 1.0 KiB (5.6x", note)
        B["device"]["proc_dirtied_bytes"] = 300000 * 1100
        self.assertNotIn("large folios", E._device_note(spec, row, B, B))

    def test_the_note_names_the_flushers_share(self):
        from mmfresults import explain as E
        spec = M.Spec({"record_bytes": 65536, "write_rate_mb_s": 200, "roll_size_mib": 200})
        A = self.run_(1000, 48 * 1024, 5.0)
        A["append_bps"], A["syncs"] = 200e6, 5
        A["device"].update(own_writes=100, proc_dirtied_bytes=1000 * 65536)
        row = {"figure": "device bytes written per record (own bios)", "predicted": 65536, "measured": 48 * 1024,
               "kind": "bytes"}
        self.assertIn("own bios were 75 % of the page cache it dirtied: the kernel's flusher",
                      E._device_note(spec, row, A, A))
        A["device"]["own_write_bytes"] = 1000 * 65536
        self.assertNotIn("flusher", E._device_note(spec, row, A, A))

    def test_a_spec_syncing_at_roll_counts_the_rolled_files(self):
        spec = M.Spec({"record_bytes": 64, "write_rate_mb_s": 0.1, "roll_size_mib": 1})
        A = self.run_(3 * 16384, 0, 2.0, complete=(MiB, MiB), partial=MiB // 2)
        A["device"]["own_write_bytes"] = 2 * (MiB + 4096)
        (n1, p1, m1) = self.rows(spec, A, None)[0]
        self.assertAlmostEqual(m1, (MiB + 4096) / 16384)     # the partial file was never synced
        self.assertAlmostEqual(p1, (MiB + 4096) / 16384)


class GrowthReplayTest(unittest.TestCase):
    """model.simulate against the sizes the library grows through."""

    CASES = [
        # policy, api, init, rec, data, chunk, max_step
        ("double", "allocate_slice", MiB, 4096, 9 * MiB, 64 * MiB, 1 << 30),
        ("double", "append_buffer", 64 << 10, 1000, 3 * MiB, 64 * MiB, 1 << 30),
        ("double", "append_buffer", 64 << 10, 4096, 4 * MiB, 64 * MiB, 256 << 10),   # the step cap
        ("double", "allocate_slice", 0, 1024, MiB, 64 * MiB, 1 << 30),             # opened empty
        ("double", "append_buffer", 4096, 65536, 2 * MiB, 64 * MiB, 1 << 30),       # need > size
        ("exact", "append_buffer", 64 << 10, 4096, MiB, 64 * MiB, 1 << 30),
        ("exact", "allocate_slice", 10000, 1000, 300000, 64 * MiB, 1 << 30),
        ("chunk", "append_buffer", MiB, 4096, 5 * MiB, MiB, 1 << 30),
        ("chunk", "allocate_slice", 100000, 3000, 2 * MiB, 300000, 1 << 30),       # chunk not a page multiple
        ("chunk", "append_buffer", 100000, 3000, MiB, 51000, 1 << 30),             # ends on a chunk boundary
        ("seed", "append_buffer", 64 << 10, 4096, MiB, 64 * MiB, 1 << 30),         # seed: EXACT for buffers
        ("seed", "allocate_slice", 64 << 10, 4096, 4 * MiB, 64 * MiB, 1 << 30),    # seed: DOUBLE for slices
    ]

    def setUp(self):
        self.exe = os.environ.get("MMF_GROWTH_SIZES")
        if not self.exe:
            self.skipTest("MMF_GROWTH_SIZES unset: run through ctest (it builds and names mmf_growth_sizes)")
        self.dir = tempfile.mkdtemp(prefix="mmf-test-growth.")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def library_sizes(self, policy, api, init, rec, data, chunk, max_step):
        p = subprocess.run([self.exe, self.dir, policy, api] + [str(x) for x in (init, rec, data, chunk, max_step)],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stderr)
        return [int(x) for x in p.stdout.split()]

    def test_simulated_sizes_are_the_library_sizes(self):
        for case in self.CASES:
            policy, api, init, rec, data, chunk, max_step = case
            with self.subTest(case=case):
                c = self.library_sizes(*case)
                sim = M.simulate(policy, init, data, rec, api, chunk, max_step)
                sizes = [init]
                for g in (sim["grow_bytes"][1:] if init else sim["grow_bytes"]):
                    sizes.append(sizes[-1] + g)
                self.assertGreater(len(c), 1, "the case grows the file at least once")
                self.assertEqual(sizes, c)
                self.assertEqual(sim["size"], c[-1])


if __name__ == "__main__":
    unittest.main()
