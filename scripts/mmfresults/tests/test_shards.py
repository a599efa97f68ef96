"""Sharded campaigns (shards.py, --shard I/N, history merge-shards) and the CI
examples in .ci/shards/, run here: 4 shards, 2 at a time on this machine's 2
cores, one killed mid-run and rerun into its folder, the merged result
checked - for the GitHub Actions matrix and for the Kubernetes Indexed Job."""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

import yaml

from mmfresults import files, shards
from mmfresults.tests.test_judge import run_cli

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SEED = 20261130
# Small: 3000 soak operations and 2 kills per shard, one benchmark row each.
SMALL = {"MMF_SHARD_SOAK_OPS": "12000", "MMF_SHARD_KILLS": "8",
         "MMF_SHARD_FILTER": "^BM_Write/api:(append_buffer|pwrite)/opts:(default|none)/"
                             "sync:never/rec:(64|4096)/"}
SOAK_DETERMINISTIC = ("ops", "failures_injected", "op_failures", "reopen_checks",
                      "poison_checks", "violations")


class ShardUnitTest(unittest.TestCase):
    def test_parse(self):
        self.assertEqual(shards.parse_shard("0/1"), (0, 1))
        self.assertEqual(shards.parse_shard("3/4"), (3, 4))
        for bad in ("4/4", "1/0", "x", "-1/4", "1/4/5", "", "0/1001"):
            with self.assertRaises(ValueError, msg=bad):
                shards.parse_shard(bad)

    def test_seed_is_splitmix64_of_seed_plus_index(self):
        # Reference values of splitmix64 (state 0 -> first output), and what
        # fault_soak printed for shard 1 of campaign seed 42.
        self.assertEqual(shards.splitmix64(0), 0xE220A8397B1DCDAF)
        self.assertEqual(shards.shard_seed(42, 1), 13432527470776545160)
        self.assertEqual(shards.shard_seed(2**64 - 1, 1), shards.splitmix64(0))

    def test_ops_split_sums_to_the_campaign(self):
        self.assertEqual([shards.shard_ops(10, i, 4) for i in range(4)], [3, 3, 2, 2])
        self.assertEqual(sum(shards.shard_ops(12001, i, 7) for i in range(7)), 12001)

    def test_pick_rows(self):
        import contextlib
        import io
        import sys
        out = io.StringIO()
        old = sys.stdin
        sys.stdin = io.StringIO("a\nb\nc\nd\ne\n")
        try:
            with contextlib.redirect_stdout(out):
                rc = shards.main(["pick", "0/3", "--offset", "2"])
        finally:
            sys.stdin = old
        self.assertEqual(rc, 0)
        self.assertEqual(out.getvalue().split(), ["b", "e"])   # numbers 3 and 6


class CrashVmShardTest(unittest.TestCase):
    """scripts/crash-vm --shard through its own campaign loop, listed (--list-cycles)
    instead of booted: the shards partition the unsharded campaign's cuts."""

    CAMPAIGN = ["--seed", "99", "--cycles", "5", "--device-errors", "3", "--teeth",
                "--fs", "ext4,xfs", "--first", "11"]

    def listing(self, *extra):
        p = subprocess.run([os.path.join(TOP, "scripts/crash-vm"), *self.CAMPAIGN, *extra,
                            "--list-cycles"], capture_output=True, text=True)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.headers.append(p.stdout.splitlines()[0])
        return [l for l in p.stdout.splitlines() if not l.startswith("[")]

    def test_shards_partition_the_campaign(self):
        self.headers = []
        whole = self.listing()
        self.assertEqual(len(whole), 2 * (5 + 3 + 3))   # per fs: 5 cycles, 3 cuts, 3 controls
        self.assertIn("ext4 cycle 11 seed 99 (1/5)", whole)
        self.assertIn("xfs device-error cut 18 seed 99 (device error 3/3)", whole)
        parts = [self.listing("--shard", f"{i}/3") for i in range(3)]
        cuts = [[l for l in part if " control " not in l] for part in parts]
        self.assertEqual(sorted(sum(cuts, [])), sorted(l for l in whole if " control " not in l))
        self.assertEqual(len(sum(cuts, [])), len(set(sum(cuts, []))))       # no cut twice
        self.assertEqual([len(c) for c in cuts], [6, 6, 4])                  # c mod 3, both fs
        self.assertIn("ext4 cycle 14 seed 99 (4/5)", cuts[0])                # c = 3
        self.assertIn("xfs device-error cut 17 seed 99 (device error 2/3)", cuts[0])
        self.assertIn("ext4 device-error cut 16 seed 99 (device error 1/3)", cuts[2])  # c = 5
        self.assertIn("shard 0/3: 2 cycles and 1 device-error cuts per filesystem", self.headers[1])
        self.assertIn("shard 2/3: 1 cycles and 1 device-error cuts per filesystem", self.headers[3])
        controls = [[l for l in part if " control " in l] for part in parts]
        self.assertEqual(controls[0], [l for l in whole if " control " in l])
        self.assertEqual(controls[1] + controls[2], [])

    def test_a_shard_without_a_cut_is_a_usage_error(self):
        for args, text in ((["--shard", "2/4", "--cycles", "2"], "runs no cut"),
                           (["--shard", "4/4"], "--shard must be I/N"),
                           (["--shard", "x"], "--shard must be I/N")):
            p = subprocess.run([os.path.join(TOP, "scripts/crash-vm"), *args, "--list-cycles"],
                               capture_output=True, text=True)
            self.assertEqual(p.returncode, 2, (args, p.stderr))
            self.assertIn(text, p.stderr)
            self.assertEqual(p.stdout, "")


class MergeTest(unittest.TestCase):
    """merge-shards on made-up shard folders of one stage."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmf-test-shards.")

    def tearDown(self):
        shutil.rmtree(self.dir)

    def shard(self, i, n=3, seed="7", counts=None, verdict="pass", cycles="30"):
        d = os.path.join(self.dir, f"s{i}-{n}-{seed}-{cycles}")
        os.makedirs(d, exist_ok=True)
        files.write_stage(d, "crash-kill", verdict, "x", counts or
                          {"cycles": 10, "acks_checked": 100 + i, "kills_in_grow": i},
                          seconds=2.0)
        files.write_json(shards.record_path(d, "crash-kill"),
                         {"schema": shards.SHARD_SCHEMA, "stage": "crash-kill", "index": i,
                          "count": n, "campaign_seed": seed, "seed": None,
                          "params": {"cycles": cycles}, "counts": {}})
        return d

    def merge(self, *folders):
        out = os.path.join(self.dir, "merged")
        shutil.rmtree(out, ignore_errors=True)
        rc, so, se = run_cli(["history", "merge-shards", *folders, "--out", out])
        return rc, so, se, out

    def test_counts_are_summed_and_verdict_is_the_worst(self):
        rc, so, se, out = self.merge(*(self.shard(i) for i in range(3)))
        self.assertEqual(rc, 0, se)
        rec = files.read_stage(out, "crash-kill")
        self.assertEqual(rec["counts"], {"cycles": 30, "acks_checked": 303, "kills_in_grow": 3})
        self.assertEqual(rec["seconds"], 6.0)
        self.assertIsNone(files.run_incomplete(out))
        folders = [self.shard(i) for i in range(3)]
        files.write_stage(folders[1], "crash-kill", "fail", "a violation", {"cycles": 4})
        rc, so, se, out = self.merge(*folders)
        self.assertEqual(rc, 1)
        self.assertEqual(files.read_stage(out, "crash-kill")["verdict"], "fail")

    def test_the_filesystems_of_crash_vm_shards_are_not_summed(self):
        folders = [self.shard(i, counts={"filesystems": 2, "cycles": 4 - i}) for i in range(3)]
        rc, so, se, out = self.merge(*folders)
        self.assertEqual(rc, 0, se)
        self.assertEqual(files.read_stage(out, "crash-kill")["counts"],
                         {"filesystems": 2, "cycles": 9})
        files.write_stage(folders[2], "crash-kill", "pass", "x", {"filesystems": 1, "cycles": 2})
        rc, so, se, out = self.merge(*folders)
        self.assertEqual(rc, 1)
        self.assertIn("counts filesystems=1, another shard 2", se)

    def test_crash_vm_device_errors_are_judged_on_the_whole_campaign(self):
        def vm_shard(i, seen):
            d = os.path.join(self.dir, f"vm{i}-{seen}")
            os.makedirs(d, exist_ok=True)
            files.write_stage(d, "crash-vm", "pass", "", {"cycles": 1, "filesystems": 1},
                              per_fs={"ext4": {"cycles": 1, "states": 1, "acks_checked": 9,
                                               "violations": 0, "device_error_cuts": 1,
                                               "device_errors_seen": seen}})
            files.write_json(shards.record_path(d, "crash-vm"),
                             {"schema": shards.SHARD_SCHEMA, "stage": "crash-vm", "index": i,
                              "count": 2, "campaign_seed": "5", "seed": None,
                              "params": {"cycles": "0", "device-errors": "2"}, "counts": {}})
            return d
        rc, so, se, out = self.merge(vm_shard(0, 0), vm_shard(1, 1))
        self.assertEqual(rc, 0, se)
        rec = files.read_stage(out, "crash-vm")
        self.assertEqual(rec["per_fs"]["ext4"], {"cycles": 2, "states": 2, "acks_checked": 18,
                                                 "violations": 0, "device_error_cuts": 2,
                                                 "device_errors_seen": 1})
        rc, so, se, out = self.merge(vm_shard(0, 0), vm_shard(1, 0))
        self.assertEqual(rc, 1)
        rec = files.read_stage(out, "crash-vm")
        self.assertEqual(rec["verdict"], "fail")
        self.assertIn("tested nothing on ext4", rec["reason"])

    def test_a_missing_twice_or_foreign_shard_is_refused(self):
        a, b, c = (self.shard(i) for i in range(3))
        for folders, word in (((a, b), "shard(s) 2 of 3 missing"),
                              ((a, b, b, c), "twice"),
                              ((a, b, self.shard(2, seed="8")), "another campaign"),
                              ((a, b, self.shard(2, cycles="31")), "another campaign"),
                              ((a, b, self.shard(2, n=4)), "another campaign")):
            rc, so, se, out = self.merge(*folders)
            self.assertEqual(rc, 1, (folders, so))
            self.assertIn(word, se)
            self.assertEqual(len(se.strip().splitlines()), 1, se)

    def test_an_incomplete_shard_is_refused(self):
        folders = [self.shard(i) for i in range(3)]
        files.write_text(os.path.join(folders[2], files.MARKER), "interrupted: SIGTERM\n")
        rc, so, se, out = self.merge(*folders)
        self.assertEqual(rc, 1)
        self.assertIn("incomplete run", se)

    def test_a_benchmark_in_two_shards_is_refused(self):
        row = {"name": "BM_X", "run_name": "BM_X", "run_type": "iteration", "iterations": 1,
               "real_time": 1.0, "cpu_time": 1.0, "time_unit": "ns"}
        folders = []
        for i in range(2):
            d = os.path.join(self.dir, f"b{i}")
            os.makedirs(d)
            files.write_json(os.path.join(d, "bench_write.json"),
                             {"context": {}, "benchmarks": [row]})
            files.write_stage(d, "bench", "pass", "", {"benchmarks": 1, "repetitions": 1})
            files.write_json(shards.record_path(d, "bench"),
                             {"schema": shards.SHARD_SCHEMA, "stage": "bench", "index": i,
                              "count": 2, "campaign_seed": None, "seed": None,
                              "params": {}, "counts": {}})
            folders.append(d)
        rc, so, se, out = self.merge(*folders)
        self.assertEqual(rc, 1)
        self.assertIn("BM_X ran in shards 0 and 1", se)


def campaign_env(extra=None):
    env = dict(os.environ, **SMALL, SEED=str(SEED), MMF_JOBS="2")
    env.pop("MMF_RUN_TOKEN", None)
    env.update(extra or {})
    # The CI definitions add crash-vm, which boots qemu (minutes a cut): the
    # local exercise runs the other stages (CrashVmShardTest lists its shards).
    stages = env.get("MMF_SHARD_STAGES", "bench soak crash-kill").split()
    env["MMF_SHARD_STAGES"] = " ".join(s for s in stages if s != "crash-vm")
    return env


class CIExamplesTest(unittest.TestCase):
    """The CI definitions' own commands, 4 shards 2 at a time, one killed."""

    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="mmf-test-ci-shards.")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir)

    def run_campaign(self, commands, cwd, kill_index=1):
        """Run the 4 shard commands (bash -c, with their env), 2 at a time; the
        shard kill_index is sent SIGTERM once its crash-kill stage started,
        checked incomplete, and rerun. Returns the folders' exit statuses."""
        status = {}
        todo = list(range(4))
        killed = False
        while todo:
            batch, todo = todo[:2], todo[2:]
            procs = {i: subprocess.Popen(["bash", "-c", commands[i][0]], cwd=cwd,
                                         env=commands[i][1], stdout=subprocess.DEVNULL,
                                         stderr=subprocess.PIPE, text=True,
                                         start_new_session=True) for i in batch}
            if kill_index in procs and not killed:
                started = os.path.join(commands[kill_index][2], "crash-kill.json")
                deadline = time.time() + 600
                while not os.path.exists(started) and procs[kill_index].poll() is None \
                        and time.time() < deadline:
                    time.sleep(0.05)
                procs[kill_index].send_signal(signal.SIGTERM)
            for i, p in procs.items():
                _, err = p.communicate(timeout=900)
                status[i] = p.returncode
                if i == kill_index and not killed:
                    killed = True
                    self.assertEqual(p.returncode, 143, err)
                    self.assertIsNotNone(files.run_incomplete(commands[i][2]))
                    todo.append(i)      # rerun, into the same folder
                else:
                    self.assertEqual(p.returncode, 0, err[-2000:])
        return status

    def check_merged(self, merged, folders):
        for stage in ("bench", "soak", "crash-kill"):
            self.assertEqual(files.read_stage(merged, stage)["verdict"], "pass", stage)
        soak = files.read_stage(merged, "soak")
        self.assertEqual(soak["counts"]["ops"], 12000)
        self.assertEqual(len(soak["digest"].split()), 4)
        kill = files.read_stage(merged, "crash-kill")
        self.assertEqual(kill["counts"]["cycles"], 8)
        self.assertGreater(kill["counts"]["acks_checked"], 0)
        self.assertEqual(sum(kill["counts"][k] for k in
                             ("kills_timer", "kills_in_grow", "kills_in_sync", "not_killed")), 8)
        # The bench rows: exactly those one run of the selection lists.
        listing = subprocess.run([os.path.join(TOP, "build/release/bench/bench_write"),
                                  "--mmf_profile=quick", "--benchmark_list_tests=true",
                                  "--benchmark_filter=" + SMALL["MMF_SHARD_FILTER"]],
                                 capture_output=True, text=True, check=True).stdout.split()
        rows = files.load_gbench(os.path.join(merged, "bench_write.json"))["benchmarks"]
        self.assertEqual(sorted({r["run_name"] for r in rows}), sorted(listing))
        self.assertEqual(files.read_stage(merged, "bench")["counts"]["benchmarks"], 4)
        # A shard's soak is its own seeded run: the rerun shard matches a
        # plain fault_soak with seed splitmix64(SEED + 1) and its ops.
        direct = subprocess.run([os.path.join(TOP, "build/release/faults/fiu/fault_soak"),
                                 "--seed", str(shards.shard_seed(SEED, 1)), "--ops", "3000"],
                                capture_output=True, text=True)
        digest = re.search(r"digest=([0-9a-f]{16})", direct.stdout).group(1)
        self.assertEqual(files.read_stage(folders[1], "soak")["digest"], digest)
        return soak

    def test_github_matrix_and_k8s_indexed_job(self):
        with open(os.path.join(TOP, ".ci/shards/github-actions.yml")) as f:
            gh = yaml.safe_load(f)
        self.assertIn("crash-vm", gh["env"]["MMF_SHARD_STAGES"].split())
        job = gh["jobs"]["shard"]
        self.assertEqual(job["strategy"]["matrix"]["shard"], [0, 1, 2, 3])
        self.assertEqual(job["strategy"]["max-parallel"], 2)
        step = next(s for s in job["steps"] if s.get("name") == "shard")["run"]
        merge = next(s for s in gh["jobs"]["merge"]["steps"] if s.get("name") == "merge")["run"]
        # The workflow's paths are relative to the checkout: shards/ goes to
        # a temporary folder here.
        ghdir = os.path.join(self.dir, "gh") + "/"
        cmds = {i: (step.replace("${{ matrix.shard }}", str(i)).replace("shards/", ghdir),
                    campaign_env(), os.path.join(ghdir, f"shard-{i}")) for i in range(4)}
        self.run_campaign(cmds, TOP)
        res = subprocess.run(["bash", "-c", merge.replace("shards/", ghdir)], cwd=TOP,
                             env=campaign_env(), capture_output=True, text=True)
        self.assertEqual(res.returncode, 0, res.stderr)
        gh_soak = self.check_merged(os.path.join(ghdir, "merged"), [cmds[i][2] for i in range(4)])
        self.assertTrue(os.path.exists(os.path.join(ghdir, "history.db")))

        with open(os.path.join(TOP, ".ci/shards/k8s-indexed-job.yaml")) as f:
            docs = list(yaml.safe_load_all(f))
        spec = docs[0]["spec"]
        self.assertEqual((spec["completionMode"], spec["completions"], spec["parallelism"]),
                         ("Indexed", 4, 2))
        box = spec["template"]["spec"]["containers"][0]
        results = os.path.join(self.dir, "k8s-results")
        os.makedirs(results)
        env = {e["name"]: e["value"] for e in box["env"]}
        self.assertIn("crash-vm", env["MMF_SHARD_STAGES"].split())
        command = box["command"][2].replace("/results", results)
        cmds = {i: (command, campaign_env(dict(env, JOB_COMPLETION_INDEX=str(i))),
                    os.path.join(results, f"shard-{i}")) for i in range(4)}
        self.run_campaign(cmds, TOP, kill_index=2)
        merge = docs[1]["spec"]["template"]["spec"]["containers"][0]["command"][2]
        res = subprocess.run(["bash", "-c", merge.replace("/results", results)], cwd=TOP,
                             env=campaign_env(), capture_output=True, text=True)
        self.assertEqual(res.returncode, 0, res.stderr)
        k8s_soak = self.check_merged(os.path.join(results, "merged"),
                                     [cmds[i][2] for i in range(4)])
        # One campaign, two schedulers, a different shard killed: the soak's
        # deterministic parts are identical.
        for k in SOAK_DETERMINISTIC:
            self.assertEqual(gh_soak["counts"][k], k8s_soak["counts"][k], k)
        self.assertEqual(gh_soak["digest"], k8s_soak["digest"])
        self.check_soak_refuses_bad_shards()

    def check_soak_refuses_bad_shards(self):
        soak = os.path.join(TOP, "build/release/faults/fiu/fault_soak")
        for bad in ("4/4", "1/0", "x", "1/", "/4", "-1/4", "0/1001", "99999999999999999999/4"):
            res = subprocess.run([soak, "--shard", bad, "--seed", "1"], capture_output=True, text=True)
            self.assertEqual(res.returncode, 2, bad)
            self.assertEqual(len(res.stderr.strip().splitlines()), 1, res.stderr)
            self.assertIn("--shard", res.stderr)
        res = subprocess.run([soak, "--shard", "3/4", "--ops", "3", "--seed", "1"],
                             capture_output=True, text=True)
        self.assertEqual(res.returncode, 2, "a shard with no operation runs nothing")


if __name__ == "__main__":
    unittest.main()
