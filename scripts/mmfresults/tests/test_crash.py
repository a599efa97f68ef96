"""crashvm.py and the crash scripts: the decisions a crash verdict rests on.

- the dm-log-writes reader and the replay to a flush point, on a log built here;
- the expectation (which acks a crash state must keep) on ACK/CREATE/DELETE
  lines: a writer that acknowledges before its flush is a violation, one that
  acknowledges after it is clean;
- the campaign record (crash.json, crash-vm.json): nothing checked, a
  violation, a control that did not fail, an interrupted campaign;
- the filesystem table, the guest's lack of a network, scratch folders
  someone else planted, SIGTERM stopping qemu;
- the scripts' usage errors (exit 2 before any build).
"""
import glob
import os
import random
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time
import types
import unittest
import unittest.mock

from mmfresults import crashvm, files
from mmfresults.tests import test_scratch

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
SS = 512
NOBODY = 65534


class FixedRandom(random.Random):
    """random() always returns value: 0.9 keeps every write after a flush
    point (build_state drops a write when random() < 0.5), 0.1 drops all."""

    def __init__(self, value):
        super().__init__(1)
        self.value = value

    def random(self):
        return self.value


def write_log(path, entries, nr_entries=None):
    """A dm-log-writes log: entries are (flags, sector, data bytes)."""
    with open(path, "wb") as f:
        sb = struct.pack("<QQQI", crashvm.LOG_MAGIC, 1,
                         len(entries) if nr_entries is None else nr_entries, SS)
        f.write(sb.ljust(SS, b"\0"))
        for flags, sector, data in entries:
            nsec = len(data) // SS
            f.write(struct.pack("<QQQQ", sector, nsec, flags, len(data)).ljust(SS, b"\0"))
            f.write(data)
    return os.path.getsize(path)


def record(seq):
    """The toy record of seq: one sector holding its number."""
    return struct.pack("<Q", seq).ljust(SS, b"\xab")


class Session:
    """A toy writer session: each record seq goes to sector seq, then a
    FLUSH; the host reads ACK seq either after the flush is logged (a correct
    writer) or between the write and the flush (one that acks too early).
    Log sizes are those the host would have seen when each line arrived."""

    def __init__(self, folder, n, ack_before_flush):
        self.log = os.path.join(folder, "disk.log")
        self.base = os.path.join(folder, "base.img")
        with open(self.base, "wb") as f:
            f.truncate(64 * SS)
        entries, self.lines = [], []
        size = lambda: len(entries)  # noqa: E731 (entries so far)
        self.lines.append(("CREATE 1", 0))
        for seq in range(1, n + 1):
            entries.append((0, seq, record(seq)))
            if ack_before_flush:
                self.lines.append((f"ACK {seq}", size()))
            entries.append((crashvm.FLUSH, 0, b""))
            if not ack_before_flush:
                self.lines.append((f"ACK {seq}", size()))
        write_log(self.log, entries)
        # entry count -> log bytes: the superblock sector, then each entry
        # (a header sector + its data).
        offs, off = [], SS
        for flags, _s, data in entries:
            offs.append(off)
            off += SS + len(data)
        offs.append(off)
        self.acks = []
        for text, count in self.lines:
            crashvm.parse_ack(text, self.acks, offs[count])


def slurp(path, mode="rb"):
    with open(path, mode) as f:
        return f.read()


def toy_verify(path, acked):
    """Stand-in for the guest's verifier on the toy disk: every acked seq
    must be in its sector."""
    disk = slurp(path)
    missing = [s for s in range(1, acked + 1) if disk[s * SS:(s + 1) * SS] != record(s)]
    status = "violation" if missing else "ok"
    return f"CRASH-VERIFY status={status} acked={acked} acks_checked={acked - len(missing)}"


class TempDirTest(unittest.TestCase):
    """self.dir: a fresh folder per test."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="mmf-test-crash.")
        self.addCleanup(shutil.rmtree, self.dir)


class LogTest(TempDirTest):

    def test_log_reader_ignores_a_stale_count_and_stops_at_a_torn_entry(self):
        p = os.path.join(self.dir, "l")
        ents = [(0, 1, record(1)), (crashvm.FLUSH, 0, b""), (0, 2, record(2))]
        write_log(p, ents, nr_entries=1)  # stale superblock count (a SIGKILL)
        _data, ss, got = crashvm.read_log(p, 64 * SS)
        self.assertEqual(ss, SS)
        self.assertEqual([(e[0], e[1], e[2]) for e in got],
                         [(0, 1, 1), (crashvm.FLUSH, 0, 0), (0, 2, 1)])
        # a torn tail: a header whose data was cut off
        with open(p, "ab") as f:
            f.write(struct.pack("<QQQQ", 3, 1, 0, SS).ljust(SS, b"\0") + b"x" * 100)
        self.assertEqual(len(crashvm.read_log(p, 64 * SS)[2]), 3)
        # a header with garbage in its padding is torn too
        write_log(p, ents)
        with open(p, "ab") as f:
            f.write(struct.pack("<QQQQ", 3, 1, 0, SS) + b"\x01" + bytes(SS - 33) + record(3))
        self.assertEqual(len(crashvm.read_log(p, 64 * SS)[2]), 3)
        # a write beyond the disk is torn
        write_log(p, ents + [(0, 64, record(64))])
        self.assertEqual(len(crashvm.read_log(p, 64 * SS)[2]), 3)

    def test_replay_to_a_flush_point(self):
        s = Session(self.dir, 3, ack_before_flush=False)
        data, ss, ents = crashvm.read_log(s.log, 64 * SS)
        flushes = [i for i, e in enumerate(ents) if e[0] & crashvm.FLUSH]
        self.assertEqual(flushes, [1, 3, 5])
        self.assertEqual(crashvm.random_subset(FixedRandom(0.9), range(2, 4), 0.5), ())
        self.assertEqual(crashvm.random_subset(FixedRandom(0.1), range(2, 4), 0.5), (2, 3))
        pack = crashvm.Pack(os.path.join(self.dir, "states.pack"), 64 * SS)
        with open(s.base, "rb") as f:
            i = pack.add(f.fileno())
        # up to the first flush, then the write before the second one
        crashvm.apply_entries(pack.fd, i * pack.stride, data, ss, ents, range(flushes[0] + 1))
        out = os.path.join(self.dir, "state.img")
        pack.extract(i, out)
        disk = slurp(out)
        self.assertEqual(len(disk), 64 * SS)
        self.assertEqual(disk[SS:2 * SS], record(1))
        self.assertEqual(disk[2 * SS:3 * SS], bytes(SS))
        crashvm.apply_entries(pack.fd, i * pack.stride, data, ss, ents, (2,))
        pack.extract(i, out)
        disk = slurp(out)
        self.assertEqual(disk[2 * SS:3 * SS], record(2))
        self.assertEqual(disk[3 * SS:4 * SS], bytes(SS))
        # a second state after it, a copy of the base: the first is untouched
        with open(s.base, "rb") as f:
            self.assertEqual(pack.add(f.fileno()), 1)
        pack.extract(1, out)
        self.assertEqual(slurp(out), bytes(64 * SS))
        pack.extract(0, out)
        self.assertEqual(slurp(out)[2 * SS:3 * SS], record(2))
        pack.close()
        self.assertFalse(os.path.exists(pack.path))

    def test_expectation_of_create_delete_lines(self):
        acks = []
        for text, size in [("CREATE 1", 10), ("ACK 5", 20), ("CREATE 2", 30), ("DELETING 1", 40),
                           ("DELETE 1", 50), ("ACK 9", 60), ("DELETING 2", 70), ("noise", 80)]:
            crashvm.parse_ack(text, acks, size)
        self.assertEqual(len(acks), 7)
        self.assertEqual(crashvm.expect(acks, 25)[:4], (5, 1, 0, 1))  # first DELETING after: margin
        self.assertEqual(crashvm.expect(acks, 55)[:4], (5, 2, 1, 2))
        self.assertEqual(crashvm.expect(acks, float("inf"))[:4], (9, 2, 1, 2))
        self.assertEqual(crashvm.expect(acks, 5)[:4], (0, 0, 0, 1))

    def test_expectation_of_every_ack_kind(self):
        """Range syncs, closes and syncs after growth acknowledge records up to
        their seq; DIR k markers; the last synced shrink (file, size)."""
        acks = []
        for text, size in [("DIR 1", 5), ("CREATE 1", 10), ("ACK grow 1 197 1", 15),
                           ("ACK range 1 1619 992 17", 20), ("ACK close 1 20", 30),
                           ("DIR 2", 35), ("CREATE 2", 40), ("ACK 33", 45),
                           ("ACK truncate 2 3389", 50), ("ACK truncate 2", 52),
                           ("ACK range 1 2 3", 53), ("ACK bogus 1 2", 54)]:
            crashvm.parse_ack(text, acks, size)
        self.assertEqual(len(acks), 9)  # the torn and unknown lines are ignored
        self.assertEqual(crashvm.expect(acks, 12), (0, 1, 0, 0, 1, (0, 0)))
        self.assertEqual(crashvm.expect(acks, 20), (17, 1, 0, 0, 1, (0, 0)))
        self.assertEqual(crashvm.expect(acks, 30), (20, 1, 0, 0, 1, (0, 0)))
        e = crashvm.expect(acks, float("inf"))
        self.assertEqual(e, (33, 2, 0, 0, 2, (2, 3389)))
        self.assertEqual(crashvm.verifier_args(e), "--acked 33 --created 2 --deleted 0 "
                         "--deleting 0 --marks 2 --shrunk 2.3389")
        # which kinds fell due between two bounds (DELETING left out)
        self.assertEqual(crashvm.ack_kinds_due(e, crashvm.expect(acks, 45)), [5])
        self.assertEqual(crashvm.ack_kinds_due(crashvm.expect(acks, 20),
                                               crashvm.expect(acks, 12)), [0])

    def test_flush_points_taken_in_turn_from_each_kind(self):
        pools = [list(range(100)), [200, 201], [300]]
        pick = crashvm.pick_in_turn(pools, 5, random.Random(1))
        self.assertEqual(len(pick), 5)
        self.assertIn(300, pick)
        self.assertIn(200, pick)
        self.assertIn(201, pick)
        self.assertEqual(sorted(crashvm.pick_in_turn([[1, 2], [2, 3]], 10, random.Random(2))),
                         [1, 2, 3])  # distinct, all there is

    def campaign(self, ack_before_flush, states=128, subsets=8):
        """Every crash state of the toy session, judged; returns the violations."""
        s = Session(self.dir, 6, ack_before_flush)
        img = os.path.join(self.dir, "kill.img")
        data, ss, ents = crashvm.read_log(s.log, 64 * SS)
        shutil.copy(s.base, img)
        with open(img, "r+b") as f:
            crashvm.apply_entries(f.fileno(), 0, data, ss, ents, range(len(ents)))
        a = types.SimpleNamespace(replay=True, base=s.base, states=states, subsets=subsets)
        pack = crashvm.Pack(os.path.join(tempfile.mkdtemp(dir=self.dir), "states.pack"), 64 * SS)
        self.addCleanup(pack.close)
        states, info = crashvm.make_states(a, random.Random(3), img, s.log, s.acks, pack)
        self.assertEqual(info["flushes"], 6)
        self.assertEqual([i for _n, i, _e in states], list(range(len(states))))
        judged = []
        for name, i, e in states:
            out = os.path.join(self.dir, "s.img")
            pack.extract(i, out)
            judged.append(crashvm.judge_state("toy", name, e, toy_verify(out, e[0]), 0, []))
        self.assertTrue(all(j["fs"] == "toy" for j in judged))
        self.assertEqual(judged[0]["state"], "kill")
        self.assertTrue(judged[0]["ok"], "the kill state keeps every logged write")
        return [j["state"] for j in judged if not j["ok"]], judged

    def test_every_flush_point_and_subsets_of_the_last_epoch(self):
        # the toy log ends with a FLUSH: one last state; then every flush
        # point with an ack to check (the 5 before the last)
        _bad, judged = self.campaign(ack_before_flush=False)
        names = [j["state"] for j in judged]
        self.assertEqual(names, ["kill", "flush1", "flush3", "flush5", "flush7", "flush9",
                                 "last0"])
        # a budget: the kill state, one last state, 2 flush points
        _bad, judged = self.campaign(ack_before_flush=False, states=4)
        self.assertEqual(len(judged), 4)
        self.assertEqual(sum(j["state"].startswith("flush") for j in judged), 2)

    def test_distinct_subsets_of_the_writes_after_the_last_flush(self):
        ents = [(0, 1, 1, 0, 0), (crashvm.FLUSH, 0, 0, 0, 0)] + [(0, k, 1, 0, 0)
                                                              for k in range(2, 6)]
        a = types.SimpleNamespace(states=100, subsets=50)
        plans, info = crashvm.plan_states(a, random.Random(1), ents, [], SS)
        self.assertEqual(info["writes_after_last_flush"], 4)
        keeps = [keep for _n, upto, keep, _e in plans]
        self.assertEqual(len(plans), 16)  # every subset of 4 writes, once
        self.assertEqual(len(set(keeps)), 16)
        self.assertEqual(keeps[0], ())
        self.assertTrue(all(upto == 2 for _n, upto, _k, _e in plans))
        a.subsets = 5
        self.assertEqual(len(crashvm.plan_states(a, random.Random(1), ents, [], SS)[0]), 5)

    def test_ack_before_the_flush_is_a_violation(self):
        bad, judged = self.campaign(ack_before_flush=True)
        self.assertTrue(bad, judged)
        self.assertTrue(all(b.startswith(("flush", "last")) for b in bad))

    def test_ack_after_the_flush_is_clean(self):
        bad, judged = self.campaign(ack_before_flush=False)
        self.assertEqual(bad, [])
        self.assertGreater(sum(j["acks_checked"] for j in judged), 0)

    def test_judge_state_needs_verifier_and_fsck(self):
        ok = "CRASH-VERIFY status=ok acks_checked=7"
        self.assertTrue(crashvm.judge_state("ext4", "kill", (7, 1, 0, 0), ok, 0, [])["ok"])
        self.assertFalse(crashvm.judge_state("ext4", "kill", (7, 1, 0, 0), ok, 4, ["x"])["ok"])
        self.assertFalse(crashvm.judge_state("ext4", "kill", (7, 1, 0, 0),
                                             "CRASH-VERIFY status=violation acks_checked=3",
                                             0, [])["ok"])
        self.assertFalse(crashvm.judge_state("ext4", "kill", (7, 1, 0, 0),
                                             "CRASH-VERIFY status=mount-failed", 0, [])["ok"])


def cycle_doc(n, writer="mmf_crash_writer", ok=True, acks=10, fs="ext4"):
    st = {"state": "kill", "fs": fs, "expect": [acks, 1, 0, 0], "ok": ok,
          "verify": "CRASH-VERIFY status=%s" % ("ok" if ok else "violation"),
          "acks_checked": acks, "fsck_rc": 0, "fsck": []}
    return {"cycle": n, "writer": writer, "fs": fs, "acked": [acks, 1, 0, 0],
            "states": [st], "violations": int(not ok), "acks_checked": acks}


class CampaignRecordTest(TempDirTest):
    def put(self, doc):
        d = os.path.join(self.dir, doc["fs"], "%s-%d" % (doc["writer"], doc["cycle"]))
        os.makedirs(d, exist_ok=True)
        files.write_json(os.path.join(d, "cycle.json"), doc)

    def summary(self, controls=None, filesystems=("ext4",), **kw):
        return crashvm.summarize(self.dir, 1, "tcg", list(filesystems), True, controls or {}, 3,
                                 **kw)

    def test_nothing_checked_fails(self):
        doc, counts, verdict, _ = self.summary()
        self.assertEqual((verdict, counts["states"]), ("fail", 0))
        self.put(cycle_doc(1, acks=0))
        self.assertEqual(self.summary()[2], "fail")

    def test_pass_counts_and_per_state_filesystem(self):
        self.put(cycle_doc(1))
        self.put(cycle_doc(2))
        doc, counts, verdict, _ = self.summary(cycles_asked=2)
        self.assertEqual(verdict, "pass")
        self.assertEqual((counts["cycles"], counts["states"], counts["acks_checked"]), (2, 2, 20))
        self.assertTrue(doc["complete"])
        self.assertEqual([s["fs"] for s in doc["states"]], ["ext4", "ext4"])
        self.assertEqual(doc["filesystems"]["ext4"]["states"], 2)
        self.assertEqual(self.summary(cycles_asked=3)[2], "fail")

    def test_violation_and_toothless_control_fail(self):
        self.put(cycle_doc(1))
        self.put(cycle_doc(1, writer="mmf_crash_writer_nosync", ok=False))
        nosync = ("ext4", "mmf_crash_writer_nosync")
        doc, counts, verdict, _ = self.summary({nosync: "failed-at-cut-1"})
        self.assertEqual((verdict, counts["controls_failed"]), ("pass", 1))
        self.assertEqual(doc["filesystems"]["ext4"]["controls"]["mmf_crash_writer_nosync"]
                         ["cuts"][0]["violations"], 1)
        self.assertEqual(self.summary({nosync: "passed-5-cuts"})[2], "fail")
        self.put(cycle_doc(2, ok=False))
        doc, counts, verdict, _ = self.summary()
        self.assertEqual((verdict, counts["violations"]), ("fail", 1))

    def test_each_filesystem_must_check_something(self):
        self.put(cycle_doc(1))
        self.put(cycle_doc(1, fs="xfs", acks=7))
        doc, counts, verdict, _ = self.summary(filesystems=("ext4", "xfs"), cycles_asked=1)
        self.assertEqual((verdict, counts["states"], counts["filesystems"]), ("pass", 2, 2))
        self.assertEqual(doc["filesystems"]["xfs"]["acks_checked"], 7)
        self.assertEqual(doc["filesystems"]["xfs"]["fsck"], "xfs_repair -n")
        self.assertEqual([s["fs"] for s in doc["states"]], ["ext4", "xfs"])
        doc, counts, verdict, reason = self.summary(filesystems=("ext4", "xfs", "btrfs"))
        self.assertEqual(verdict, "fail")
        self.assertIn("btrfs", reason)
        self.assertEqual(doc["filesystems"]["btrfs"]["states"], 0)
        # a cycle of another filesystem does not count for this one
        self.assertEqual(self.summary(filesystems=("btrfs",))[1]["states"], 0)

    def test_device_errors_per_filesystem(self):
        dev = {"failed_write": 300, "sync_error": -5, "poison": [-5, -5], "other_error": None,
               "retried": False, "lines": ["ERR sync -5"], "ok": True}
        self.put(dict(cycle_doc(1), device=dev))
        doc, counts, verdict, _ = self.summary()
        self.assertEqual(verdict, "pass")
        f = doc["filesystems"]["ext4"]
        self.assertEqual((f["device_errors_seen"], f["device_errors"][0]["sync_error"]), (1, -5))
        self.put(dict(cycle_doc(2), device=dict(dev, poison=[0, -5], ok=False)))
        doc, counts, verdict, _ = self.summary()
        self.assertEqual((verdict, counts["violations"]), ("fail", 1))
        # no error ever reached the writer: the device-error campaign tested nothing
        for n in (1, 2):
            self.put(dict(cycle_doc(n), device=dict(dev, sync_error=None, poison=None)))
        doc, counts, verdict, reason = self.summary()
        self.assertEqual(verdict, "fail")
        self.assertIn("no error reaching the writer", reason)

    def test_a_retry_the_kernel_refused_is_not_a_toothless_control(self):
        self.put(cycle_doc(1))
        retry = ("ext4", "mmf_crash_writer_retry")
        dev = {"failed_write": 400, "sync_error": -30, "poison": [-5, -5], "other_error": None,
               "retried": True, "lines": ["RETRY sync -5", "ERR sync -30"], "ok": True}
        self.put(dict(cycle_doc(1, writer=retry[1]), device=dev))
        # a cut where the error never reached the writer neither lies nor refuses
        self.put(dict(cycle_doc(3, writer=retry[1]),
                      device=dict(dev, retried=False, sync_error=None, lines=[])))
        doc, counts, verdict, _ = self.summary({retry: "passed-5-cuts"})
        self.assertEqual((verdict, counts["controls_refused_by_kernel"]), ("pass", 1))
        self.assertEqual(doc["filesystems"]["ext4"]["controls"][retry[1]]["result"],
                         crashvm.REFUSED)
        # a retry that succeeded (no error after it) and was not caught: toothless
        self.put(dict(cycle_doc(2, writer=retry[1]), device=dict(dev, sync_error=None)))
        doc, counts, verdict, _ = self.summary({retry: "passed-5-cuts"})
        self.assertEqual((verdict, counts["controls_passed"]), ("fail", 1))

    def test_interrupted_campaign_is_incomplete(self):
        self.put(cycle_doc(1))
        doc, _c, verdict, reason = self.summary(incomplete="1 of 6 cycles")
        self.assertEqual(verdict, "interrupted")
        self.assertFalse(doc["complete"])
        self.assertIn("incomplete", reason)

    def test_finish_writes_both_records_atomically(self):
        self.put(cycle_doc(1))
        out = os.path.join(self.dir, "out")
        os.mkdir(out)
        rc = crashvm.main(["finish", "--work", self.dir, "--out", out, "--seed", "5",
                           "--accel", "tcg", "--incomplete", "cut short"])
        self.assertEqual(rc, 130)
        self.assertEqual(files.read_stage(out, "crash-vm")["verdict"], "interrupted")
        self.assertFalse(files.load_json(os.path.join(out, "crash.json"))["complete"])
        self.assertEqual(sorted(os.listdir(out)), ["crash-vm.json", "crash.json"])


class FullDiskTest(TempDirTest):
    def test_table_has_every_filesystem_and_tmpfs_both_options(self):
        def one(name, options, program, scratch):
            return {"fs": name, "options": options, "outcome": "enospc", "call": "append",
                    "rc": "-28", "appended": "1", "synced": "1"}
        out = os.path.join(self.dir, "fulldisk")
        with unittest.mock.patch.object(crashvm, "full_disk_one", one):
            rows = crashvm.full_disk(["ext4", "xfs"], "prog", self.dir, out)
        self.assertEqual([(r["fs"], r["options"]) for r in rows],
                         [(f, o) for f in ("ext4", "xfs", "tmpfs") for o in ("default", "seed")])
        md = slurp(out + ".md", "r")
        self.assertIn("| xfs | defaults | seed | enospc | append | -28 |", md)
        self.assertEqual(len(files.load_json(out + ".json")["rows"]), 6)

    def test_images_and_mounts_live_in_a_fresh_private_folder(self):
        seen = []

        def one(name, options, program, scratch):
            st = os.lstat(scratch)
            seen.append((os.path.dirname(scratch), stat.S_IMODE(st.st_mode), st.st_uid))
            return {"fs": name, "options": options, "outcome": "enospc", "call": "append",
                    "rc": "-28", "appended": "1", "synced": "1"}
        with unittest.mock.patch.object(crashvm, "full_disk_one", one):
            crashvm.full_disk(["ext4"], "prog", self.dir, os.path.join(self.dir, "fd"))
        self.assertEqual(set(seen), {(self.dir, 0o700, os.getuid())})
        self.assertEqual(sorted(os.listdir(self.dir)), ["fd.json", "fd.md"])   # removed after
        # a planted scratch (a symlink to a folder of the planter's) is refused, left empty
        theirs = os.path.join(self.dir, "theirs")
        os.mkdir(theirs)
        os.symlink(theirs, os.path.join(self.dir, "link"))
        with unittest.mock.patch.object(crashvm, "full_disk_one", one):
            with self.assertRaisesRegex(files.ResultError, "symlink"):
                crashvm.full_disk(["ext4"], "prog", os.path.join(self.dir, "link"),
                                  os.path.join(self.dir, "fd2"))
        self.assertEqual(os.listdir(theirs), [])


class GuestTest(unittest.TestCase):
    def test_filesystem_table_rows(self):
        self.assertIn(crashvm.DEFAULT_FS, crashvm.FILESYSTEMS)
        for name, row in crashvm.FILESYSTEMS.items():
            self.assertEqual(sorted(row), ["fsck", "mkfs", "modules", "mount", "size_mib",
                                           "type"], name)
            self.assertIn("{img}", row["mkfs"])
            self.assertIn("{img}", row["fsck"])
            self.assertNotIn(" ", row["mount"])
            args = crashvm.guest_fs_args(name)
            self.assertIn("mmf.fs=%s " % name, args)
            self.assertIn("mmf.fstype=%s " % row["type"], args)
            self.assertIn("mmf.modules=" + ",".join(crashvm.BLOCK_MODULES + row["modules"]), args)
        self.assertEqual(crashvm.fs_command("ext4", "fsck", "/x.img"), ["e2fsck", "-fn", "/x.img"])
        self.assertIn("data=journal", crashvm.guest_fs_args("ext4-journal"))
        for name in ("f2fs", "ext4 "):
            with self.assertRaises(files.ResultError):
                crashvm.fs_row(name)
        self.assertNotIn("f2fs", crashvm.FILESYSTEMS)
        self.assertIn("f2fs", crashvm.fs_field("ext4", "help"))

    def test_filesystem_lists(self):
        self.assertEqual(crashvm.fs_list("all"), list(crashvm.FILESYSTEMS))
        self.assertEqual(crashvm.fs_list("xfs,ext4"), ["xfs", "ext4"])
        for bad in ("ext4,ext4", "ext4,f2fs", ""):
            with self.assertRaises(files.ResultError, msg=bad):
                crashvm.fs_list(bad)

    def test_base_image_is_keyed_on_the_row(self):
        keys = {n: crashvm.base_key(n) for n in crashvm.FILESYSTEMS}
        self.assertEqual(keys["ext4"], keys["ext4-journal"])  # same mkfs, same image
        self.assertEqual(len({keys["ext4"], keys["xfs"], keys["btrfs"]}), 3)
        row = dict(crashvm.FILESYSTEMS["xfs"])
        for change in ({"size_mib": 512}, {"mkfs": row["mkfs"][:-1] + ["-m", "crc=1", "{img}"]}):
            with unittest.mock.patch.dict(crashvm.FILESYSTEMS, {"xfs": dict(row, **change)}):
                self.assertNotEqual(crashvm.base_key("xfs"), keys["xfs"], change)

    def test_module_load_order_is_checked_with_modinfo(self):
        """A fake kernel tree whose .ko files hold their dependencies, read
        by a fake modinfo: a row loading a module before one it depends on,
        or a module the kernel lacks, is refused."""
        folder = tempfile.mkdtemp(prefix="mmf-test-crash.")
        self.addCleanup(shutil.rmtree, folder)
        deps = {m: "" for m in crashvm.BLOCK_MODULES}
        deps.update({"libcrc32c": "", "xfs": "libcrc32c", "xor": "", "raid6_pq": "",
                     "zstd_compress": "", "btrfs": "zstd_compress,raid6_pq,xor,libcrc32c"})
        kdir = os.path.join(folder, "lib", "modules", "6.1.0-1-cloud-amd64", "kernel", "fs")
        os.makedirs(kdir)
        for m, d in deps.items():
            with open(os.path.join(kdir, m + ".ko"), "w") as f:
                f.write(d + "\n")
        bindir = os.path.join(folder, "bin")
        os.mkdir(bindir)
        with open(os.path.join(bindir, "modinfo"), "w") as f:
            f.write('#!/bin/sh\n[ "$1 $2" = "-F depends" ] || exit 9\ncat "$3"\n')
        os.chmod(os.path.join(bindir, "modinfo"), 0o755)
        env = {"PATH": bindir + os.pathsep + os.environ["PATH"]}
        with unittest.mock.patch.dict(os.environ, env):
            kos = crashvm.check_modules(folder)
            self.assertEqual(set(kos), set(deps))
            self.assertTrue(kos["xfs"].endswith("/xfs.ko"))
            swapped = dict(crashvm.FILESYSTEMS["xfs"], modules=["xfs", "libcrc32c"])
            with unittest.mock.patch.dict(crashvm.FILESYSTEMS, {"xfs": swapped}):
                with self.assertRaisesRegex(files.ResultError, "xfs needs libcrc32c"):
                    crashvm.check_modules(folder)
            os.unlink(os.path.join(kdir, "raid6_pq.ko"))
            with self.assertRaisesRegex(files.ResultError, "raid6_pq .*not in the guest kernel"):
                crashvm.check_modules(folder)

    @unittest.skipUnless(shutil.which("modinfo") and glob.glob(os.path.join(
        TOP, "build", "crash-vm-cache", "kernel", "lib", "modules", "*")),
        "needs modinfo and the guest kernel (unpacked by a crash-vm run)")
    def test_module_load_order_of_the_real_guest_kernel(self):
        kos = crashvm.check_modules(os.path.join(TOP, "build", "crash-vm-cache", "kernel"))
        self.assertIn("btrfs", kos)

    def test_filesystem_is_named_only_in_the_table(self):
        for rel in ("scripts/crash-vm", "scripts/crash-kill", "faults/crash/guest-init.sh"):
            with open(os.path.join(TOP, rel)) as f:
                self.assertNotIn("ext4", f.read(), rel)

    def test_device_error_rules_fail_the_nth_write_once(self):
        rules = crashvm.blkdebug_rules(4)
        self.assertEqual(rules.count("[set-state]"), 3)
        self.assertIn('state = "3"\nnew_state = "4"', rules)
        tail = rules.split("[inject-error]")[1]
        for line in ('event = "pwritev"', 'state = "4"', 'iotype = "write"', 'errno = "5"',
                     'once = "on"'):
            self.assertIn(line, tail)
        self.assertEqual(crashvm.blkdebug_rules(1).count("[set-state]"), 0)
        disk = " ".join(crashvm.writer_disk("i", "l", "r.conf"))
        self.assertIn("driver=blkdebug,node-name=bd,image=lw,config=r.conf", disk)
        self.assertIn("drive=top,", disk)  # the guest writes through blkdebug, then the log
        self.assertNotIn("blkdebug", " ".join(crashvm.writer_disk("i", "l")))

    def test_device_error_verdict(self):
        ok = ["0.91s ERR sync -5 Input/output error", "0.91s POISON sync -5 allocate -5",
              "0.95s MMF-WRITER-EXIT 3"]
        facts, bad = crashvm.judge_device(ok)
        self.assertFalse(bad)
        self.assertEqual((facts["sync_error"], facts["poison"]), (-5, [-5, -5]))
        for poison in ("POISON sync 0 allocate -5", "POISON sync -5 allocate 0"):
            self.assertTrue(crashvm.judge_device([ok[0], "1.0s " + poison])[1], poison)
        self.assertTrue(crashvm.judge_device(ok[:1])[1], "no POISON line after the error")
        facts, bad = crashvm.judge_device(["1.0s RETRY sync -5", "1.2s ERR allocate_slice -5 x"])
        self.assertFalse(bad)  # a retrying writer is caught by the verifier
        self.assertTrue(facts["retried"])
        self.assertEqual(facts["other_error"], "allocate_slice -5")
        self.assertEqual(crashvm.judge_device([]), ({"sync_error": None, "poison": None,
                                                     "retried": False, "other_error": None},
                                                    False))

    def test_qemu_command_has_no_network(self):
        a = types.SimpleNamespace(accel="tcg", kernel="k", initrd="i")
        cmd = crashvm.qemu_base(a) + ["-device", "virtio-blk-pci,drive=lw,serial=cw"]
        crashvm.check_no_network(cmd)
        for extra in (["-nic", "user"], ["-netdev", "user,id=n"], ["-net", "nic"],
                      ["-device", "virtio-net-pci,netdev=n"], ["-device", "e1000"]):
            with self.assertRaises(crashvm.CannotRun, msg=extra):
                crashvm.check_no_network(cmd + extra)
        with self.assertRaises(crashvm.CannotRun):
            crashvm.check_no_network([w for w in cmd if w != "-nodefaults"])

    def test_guest_sees_only_loopback(self):
        self.assertEqual(crashvm.guest_interfaces("MMF-NET lo "), ["lo"])
        self.assertEqual(crashvm.guest_interfaces("MMF-NET"), [])
        with self.assertRaisesRegex(crashvm.CannotRun, "eth0"):
            crashvm.guest_interfaces("MMF-NET eth0 lo")
        with open(os.path.join(TOP, "faults/crash/guest-init.sh")) as f:
            self.assertIn('echo "MMF-NET $(ls /sys/class/net', f.read())

    def test_sigterm_stops_qemu(self):
        d = tempfile.mkdtemp(prefix="mmf-test-crash.")
        try:
            fake = os.path.join(d, "qemu-system-x86_64")
            pidfile = os.path.join(d, "qemu.pid")
            with open(fake, "w") as f:
                f.write("#!/bin/sh\necho $$ > %s\nexec sleep 60\n" % pidfile)
            os.chmod(fake, 0o755)
            env = dict(os.environ, PATH=d + ":" + os.environ["PATH"],
                       PYTHONPATH=os.path.join(TOP, "scripts"))
            p = subprocess.Popen([sys.executable, "-m", "mmfresults", "crashvm", "probe",
                                  "--kernel", "k", "--initrd", "i", "--timeout", "60"],
                                 env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            for _ in range(200):
                if os.path.exists(pidfile) and slurp(pidfile, "r").strip():
                    break
                time.sleep(0.05)
            qemu = int(slurp(pidfile, "r"))
            p.send_signal(signal.SIGTERM)
            self.assertEqual(p.wait(10), 143)
            time.sleep(0.1)
            with self.assertRaises(ProcessLookupError, msg="qemu outlived crashvm"):
                os.kill(qemu, 0)
        finally:
            shutil.rmtree(d)


class ScratchTest(TempDirTest):
    def planted(self):
        """A symlink to the folder self.dir/theirs, and (as root) a folder
        nobody made in a sticky folder (test_scratch.plants)."""
        self.dir = test_scratch.plant_folder(self)
        got = {name: parent for name, parent, _victim, _reason in test_scratch.plants(self.dir)}
        return got["symlink"], got.get("nobody")

    def test_planted_names_are_refused(self):
        link, other = self.planted()
        with self.assertRaisesRegex(files.ResultError, "symlink"):
            crashvm.check_dir(link)
        with self.assertRaisesRegex(files.ResultError, "symlink"):
            crashvm.check_dir(link + "/")    # a trailing slash follows the link
        with self.assertRaisesRegex(files.ResultError, "symlink"):
            crashvm.private_dir(link, "mmf-crash-kill")
        self.assertEqual(os.listdir(os.path.join(self.dir, "theirs")), [])
        if other:
            with self.assertRaisesRegex(files.ResultError, "owned by uid %d" % NOBODY):
                crashvm.check_dir(other)
        open_dir = os.path.join(self.dir, "open")      # 0777, not sticky
        with self.assertRaisesRegex(files.ResultError, "not sticky"):
            crashvm.check_dir(open_dir)
        os.chmod(open_dir, 0o1777)
        crashvm.check_dir(open_dir)  # like /tmp
        with self.assertRaisesRegex(files.ResultError, "writable by others"):
            crashvm.check_dir(open_dir, private=True)  # never for a cache

    def test_scratch_is_fresh_and_private(self):
        a = crashvm.private_dir(self.dir, "mmf-crash-kill")
        b = crashvm.private_dir(self.dir, "mmf-crash-kill")
        self.assertNotEqual(a, b)
        self.assertEqual(os.stat(a).st_mode & 0o777, 0o700)
        self.assertEqual(os.stat(a).st_uid, os.getuid())


def run(script, *args):
    return subprocess.run([os.path.join(TOP, "scripts", script), *args], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=60)


class UsageTest(unittest.TestCase):
    """Usage errors: one line, exit 2, before any build (these return in a second)."""

    CASES = [
        ("crash-kill", ["--cycles", "0"], "--cycles"),
        ("crash-vm", ["--cycles", "0"], "--cycles"),
        ("crash-kill", ["--cycles"], "needs a value"),
        ("crash-vm", ["--out"], "needs a value"),
        ("crash-kill", ["--seed", "18446744073709551616"], "64-bit"),
        ("crash-vm", ["--seed", "-3"], "--seed"),
        ("crash-vm", ["--fs", "nosuchfs"], "not a filesystem"),
        ("crash-vm", ["--fs", "xfs,f2fs"], "not a filesystem"),
        ("crash-vm", ["--fs", "xfs,xfs"], "named twice"),
        ("crash-vm", ["--states", "x"], "--states"),
        ("crash-vm", ["--states", "0"], "--states"),
        ("crash-vm", ["--device-errors", "-1"], "--device-errors"),
        ("crash-vm", ["--points", "3"], "unknown argument"),
        ("crash-kill", ["--writer", "rm"], "not a writer"),
        ("crash-kill", ["--bogus"], "unknown argument"),
        ("crash-mutants", ["--cuts", "0"], "--cuts"),
        ("crash-mutants", ["--states", "x"], "--states"),
        ("crash-mutants", ["--points", "3"], "unknown argument"),
        ("crash-mutants", ["--only", "nosuchmutant"], "unknown mutant"),
        ("crash-mutants", ["--only", ","], "selects no mutant"),
        ("crash-mutants", ["--bogus"], "unknown argument"),
    ]

    def test_usage_errors_exit_2_with_one_line(self):
        out = tempfile.mkdtemp(prefix="mmf-test-crash.")
        self.addCleanup(shutil.rmtree, out)
        for script, args, text in self.CASES:
            with self.subTest(script=script, args=args):
                t0 = time.monotonic()
                # (--out first: a mutant that runs anyway writes there, not in results/)
                r = run(script, "--out", out, *args)
                self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
                self.assertEqual(len(r.stderr.strip().splitlines()), 1, r.stderr)
                self.assertIn(text, r.stderr)
                self.assertEqual(r.stdout, "")
                self.assertLess(time.monotonic() - t0, 20)

    @unittest.skipUnless(os.getuid() == 0 and shutil.which("runuser"),
                         "needs root to run the script as another user")
    def test_crash_vm_as_another_user_is_skipped_with_its_reason(self):
        out = tempfile.mkdtemp(prefix="mmf-test-crash.")
        self.addCleanup(shutil.rmtree, out)
        os.chown(out, NOBODY, NOBODY)
        # a plain user's PATH, without /usr/sbin (where mkfs.ext4 lives)
        r = subprocess.run(["runuser", "-u", "nobody", "--", "env", "-i",
                            "PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/nonexistent",
                            "PYTHONDONTWRITEBYTECODE=1",
                            os.path.join(TOP, "scripts", "crash-vm"), "--cycles", "1", "--out", out],
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True, timeout=60)
        self.assertEqual(r.returncode, 77, r.stdout)
        self.assertIn("skipped: needs root", r.stdout)
        rec = files.read_stage(out, "crash-vm")
        self.assertEqual(rec["verdict"], "skipped")
        self.assertIn("mknod", rec["reason"])

    def test_help(self):
        for script in ("crash-kill", "crash-vm"):
            r = run(script, "--help")
            self.assertEqual(r.returncode, 0)
            self.assertIn("--cycles N", r.stdout)
        self.assertIn("f2fs          unavailable", run("crash-vm", "--help").stdout)


if __name__ == "__main__":
    unittest.main()
