#!/usr/bin/python3
"""One power-cut cycle of scripts/crash-vm, and the pieces it is made of.

  crash_vm.py probe   --kernel K --initrd I --accel A [--timeout S]
  crash_vm.py cycle   --kernel K --initrd I --accel A --base IMG --work DIR
                      --seed S --cycle N --writer NAME [--replay]
                      [--points P] [--cut-min S] [--cut-max S]

A cycle: boot the guest with the writer on a fresh copy of the ext4 image
behind qemu's blklogwrites driver (every write and flush logged), read the
serial console line by line (ACK/CREATE/DELETE, each noted with the size the
write log had when the line arrived), SIGKILL qemu at a random moment, build
the crash states, verify all of them in one fresh boot (one virtio disk
each) and run `e2fsck -fn` on each.

Crash states:
  kill      the image as qemu left it: a disk without a volatile cache
  last      (--replay) the image before boot + the log up to the last FLUSH
            + a random subset of the later writes: a disk with a volatile
            cache, cut at the moment of the kill; every ack must be there
  flushN    (--replay) the log up to the N-th FLUSH + a random subset of the
            writes up to the next FLUSH: a cut just before that next flush
            completed; the acks that must be there are those the host had
            read while the log was not yet past the start of that next flush

The log format is the kernel's dm-log-writes one (little-endian): superblock
{u64 magic, u64 version, u64 nr_entries, u32 sectorsize} in sector 0, then
entries: one sector {u64 sector, u64 nr_sectors, u64 flags, u64 data_len},
then nr_sectors sectors of data (none for a discard). After a SIGKILL the
superblock's count is stale: entries are scanned until one is empty or torn.

Prints one progress line per cycle and writes its JSON to WORK/cycle.json.
Exit: 0 ok, 1 violation, 2 could not run.
"""
import argparse
import json
import os
import random
import select
import signal
import struct
import subprocess
import sys
import time

LOG_MAGIC = 0x6a736677736872
FLUSH, FUA, DISCARD, MARK = 1, 2, 4, 8

GROWS = ["double", "exact", "chunk", "seed"]
FLAGS = ["reserve", "populate", "sync-before-grow"]


class CannotRun(Exception):
    """The harness could not do its job (not a verdict on the library)."""


def qemu_base(a):
    return ["qemu-system-x86_64", "-accel", a.accel, "-m", "256", "-smp", "1",
            "-display", "none", "-no-reboot", "-monitor", "none",
            "-nodefaults", "-serial", "stdio", "-kernel", a.kernel,
            "-initrd", a.initrd]


def append_line(extra):
    # mitigations/audit/LSMs off: nothing to protect in a throwaway guest,
    # and about 0.7 s less per boot under TCG.
    return ("console=ttyS0 quiet panic=-1 mitigations=off audit=0 "
            "apparmor=0 ima_appraise=off " + extra)


class Guest:
    """A qemu process whose serial console is read line by line."""

    def __init__(self, cmd):
        self.p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        self.buf = b""
        self.eof = False

    def lines(self, deadline):
        """Yield complete lines until EOF or the deadline (monotonic)."""
        fd = self.p.stdout.fileno()
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                yield line.decode("utf-8", "replace").strip("\r ")
            if self.eof:
                return
            left = deadline - time.monotonic()
            if left <= 0:
                return
            r, _, _ = select.select([fd], [], [], min(left, 0.05))
            if r:
                chunk = os.read(fd, 65536)
                if not chunk:
                    self.eof = True
                self.buf += chunk
            else:
                yield None  # a tick: lets the caller check its clock

    def kill(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait()

    def drain(self):
        """All lines left in the pipe after qemu is gone."""
        return [ln for ln in self.lines(time.monotonic() + 5) if ln is not None]


def probe(a):
    cmd = qemu_base(a) + ["-append", append_line("mmf.action=probe")]
    g = Guest(cmd)
    ok = False
    try:
        for ln in g.lines(time.monotonic() + a.timeout):
            if ln == "MMF-PROBE-OK":
                ok = True
                break
    finally:
        g.kill()
    return 0 if ok else 1


def writer_args(rng, control):
    """The writer's options for one cycle.

    keep >= 2: with one live file, the DELETING margin of expect() would
    exempt the current file in the flush states. A negative control gets
    files long enough for several acks between the flushes of its rolls,
    and no SYNC_BEFORE_GROW (a real msync inside the grow), so that what it
    leaves out can show."""
    grow = rng.choice(GROWS)
    flags = [f for f in FLAGS if rng.random() < 0.4
             and not (control and f == "sync-before-grow")] or ["none"]
    per_file = [500, 1500] if control else [64, 200, 500, 1500]
    args = ["--sync-every", str(rng.randint(1, 64)),
            "--per-file", str(rng.choice(per_file)),
            "--keep", str(rng.randint(2, 4)),
            "--initial", str(rng.choice([0, 64, 4096, 65536])),
            "--grow", grow, "--chunk", str(rng.choice([4096, 65536])),
            "--flags", ",".join(flags)]
    return args


def opt(args, name):
    return args[args.index(name) + 1]


def run_writer(a, rng, img, log, args):
    """Boot the writer, cut at a random moment; return (acks, info)."""
    cut_after = rng.uniform(a.cut_min, a.cut_max)
    cmd = qemu_base(a) + [
        "-append", append_line("mmf.action=write mmf.writer=%s mmf.args=%s"
                               % (a.writer, "/".join(args))),
        "-blockdev", "driver=file,filename=%s,node-name=img,cache.no-flush=on" % img,
        "-blockdev", "driver=file,filename=%s,node-name=lg,cache.no-flush=on" % log,
        "-blockdev", "driver=blklogwrites,node-name=lw,file=img,log=lg",
        "-device", "virtio-blk-pci,drive=lw,write-cache=on,serial=cw"]
    acks = []  # (kind, value, log size when read)
    g = Guest(cmd)
    t0 = time.monotonic()
    started = None
    tail = []
    try:
        for ln in g.lines(t0 + a.boot_timeout + cut_after + 30):
            now = time.monotonic()
            if ln is not None:
                tail = (tail + [ln])[-5:]
                parse_ack(ln, acks, log)
                if ln.startswith(("ERR ", "MMF-ERR", "MMF-WRITER-EXIT")):
                    raise CannotRun("writer stopped: %s" % ln)
                if ln.startswith("CREATE ") and started is None:
                    started = now
            if started is None and now - t0 > a.boot_timeout:
                raise CannotRun("the writer did not start within %ds (last: %s)"
                                % (a.boot_timeout, tail))
            if started is not None and now - started >= cut_after:
                break
        else:
            raise CannotRun("qemu ended before the cut (last: %s)" % tail)
    finally:
        g.kill()
    for ln in g.drain():
        parse_ack(ln, acks, log)
    return acks, {"cut_s": round(cut_after, 3),
                  "boot_s": round(started - t0, 2) if started else None}


def parse_ack(ln, acks, log):
    parts = ln.split()
    if len(parts) == 2 and parts[0] in ("ACK", "CREATE", "DELETE", "DELETING") \
            and parts[1].isdigit():
        acks.append((parts[0], int(parts[1]), os.stat(log).st_size))


def expect(acks, bound):
    """(acked, created, deleted, deleting) that a cut must keep when it came
    after every line read while the log was <= bound.

    DELETING k says the writer no longer needs file k: from then on a cut
    may find it truncated. Such a line read after the bound may still have
    been printed before the cut, so the first one after the bound counts too
    (the next one is at least a roll later: per_file records, an mmf_open
    and an mmf_delete, each with a device flush)."""
    e = {"ACK": 0, "CREATE": 0, "DELETE": 0, "DELETING": 0}
    margin = True
    for kind, v, size in acks:
        if size <= bound:
            e[kind] = max(e[kind], v)
        elif kind == "DELETING" and margin:
            e[kind] = max(e[kind], v)
            margin = False
    e["DELETING"] = max(e["DELETING"], e["DELETE"])
    return e["ACK"], e["CREATE"], e["DELETE"], e["DELETING"]


def read_log(path, disk_bytes):
    """The entries of a blklogwrites log: (flags, sector, nsec, data_off)."""
    with open(path, "rb") as f:
        data = f.read()
    ss = 512
    if len(data) >= 28:
        magic, _ver, _n, sb_ss = struct.unpack_from("<QQQI", data, 0)
        if magic == LOG_MAGIC and sb_ss in (512, 1024, 2048, 4096):
            ss = sb_ss
    entries, off = [], ss
    while off + ss <= len(data):
        sector, nsec, flags, _dlen = struct.unpack_from("<QQQQ", data, off)
        hdr = data[off:off + ss]
        if not any(hdr):
            break  # empty: the end
        if flags & ~0xF or any(hdr[32:]):
            break  # torn
        dlen = 0 if flags & DISCARD else nsec * ss
        if off + ss + dlen > len(data) or (sector + nsec) * ss > disk_bytes:
            break  # torn
        entries.append((flags, sector, nsec, off + ss, off))
        off += ss + dlen
    return data, ss, entries


def build_state(base, out, data, ss, entries, upto, extra, rng):
    """out = base + entries[:upto] + a random subset of entries[upto:extra]."""
    subprocess.run(["cp", "--sparse=always", base, out], check=True)
    kept = 0
    with open(out, "r+b") as f:
        for i, (flags, sector, nsec, doff, _off) in enumerate(entries[:extra]):
            if flags & (FLUSH | MARK) or nsec == 0:
                continue
            if i >= upto:
                if rng.random() < 0.5:
                    continue
                kept += 1
            f.seek(sector * ss)
            if flags & DISCARD:
                f.write(bytes(nsec * ss))
            else:
                f.write(data[doff:doff + nsec * ss])
    return kept


def make_states(a, rng, img, log, acks, work):
    """The crash states of one cut: [(name, path, (acked, created, deleted))]."""
    inf = float("inf")
    states = [("kill", img, expect(acks, inf))]
    if not a.replay:
        return states, {}
    disk_bytes = os.path.getsize(a.base)
    data, ss, entries = read_log(log, disk_bytes)
    flushes = [i for i, e in enumerate(entries) if e[0] & FLUSH]
    info = {"log_entries": len(entries), "flushes": len(flushes)}
    last = flushes[-1] + 1 if flushes else 0
    p = os.path.join(work, "last.img")
    build_state(a.base, p, data, ss, entries, last, len(entries), rng)
    states.append(("last", p, expect(acks, inf)))
    # Earlier flush points with something to check (some ack read before the
    # log reached the next flush), first those where new acks became due
    # since the flush itself was logged: the tightest states.
    fresh, rest = [], []
    for j, fi in enumerate(flushes[:-1]):
        nxt = flushes[j + 1]
        e = expect(acks, entries[nxt][4])
        if e[0] or e[1]:
            new = e[:2] != expect(acks, entries[fi][4] + ss)[:2]
            (fresh if new else rest).append((fi, nxt, e))
    pick = rng.sample(fresh, min(a.points, len(fresh)))
    pick += rng.sample(rest, min(a.points - len(pick), len(rest)))
    for fi, nxt, e in sorted(pick):
        p = os.path.join(work, "flush%d.img" % fi)
        build_state(a.base, p, data, ss, entries, fi + 1, nxt, rng)
        states.append(("flush%d" % fi, p, e))
    return states, info


def verify_states(a, states, per_file):
    """Verify every state in one boot; returns {name: verifier line}."""
    disks, specs = [], []
    for i, (name, path, ex) in enumerate(states):
        disks += ["-drive", "if=none,id=d%d,format=raw,file=%s,cache=unsafe"
                  % (i, path),
                  "-device", "virtio-blk-pci,drive=d%d,serial=cs%d" % (i, i)]
        specs.append("cs%d:%d:%d:%d:%d" % ((i,) + tuple(ex)))
    cmd = qemu_base(a) + ["-append", append_line(
        "mmf.action=verify mmf.per=%d mmf.disks=%s"
        % (per_file, ",".join(specs)))] + disks
    g = Guest(cmd)
    res, done = {}, False
    try:
        for ln in g.lines(time.monotonic() + a.boot_timeout + 20 * len(states)):
            if ln is None:
                continue
            if ln.startswith("MMF-DISK "):
                _, serial, rest = ln.split(" ", 2)
                res[serial] = rest
            elif ln == "MMF-VERIFY-DONE":
                done = True
                break
    finally:
        g.kill()  # every image was unmounted before MMF-VERIFY-DONE
    if not done:
        raise CannotRun("the verify boot did not finish (got %d of %d disks)"
                        % (len(res), len(states)))
    return {name: res.get("cs%d" % i, "CRASH-VERIFY status=no-result")
            for i, (name, _p, _e) in enumerate(states)}


def fsck(path):
    r = subprocess.run(["e2fsck", "-fn", path], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return r.returncode, r.stdout.strip().splitlines()[-3:]


def field(line, key):
    for w in line.split():
        if w.startswith(key + "="):
            return w[len(key) + 1:]
    return None


def cycle(a):
    t0 = time.monotonic()
    rng = random.Random("%s:%s:%s" % (a.seed, a.cycle, a.writer))
    os.makedirs(a.work, exist_ok=True)
    img = os.path.join(a.work, "disk.img")
    log = os.path.join(a.work, "disk.log")
    subprocess.run(["cp", "--sparse=always", a.base, img], check=True)
    open(log, "wb").close()
    args = writer_args(rng, a.writer != "mmf_crash_writer")
    acks, info = run_writer(a, rng, img, log, args)
    t1 = time.monotonic()
    states, linfo = make_states(a, rng, img, log, acks, a.work)
    info.update(linfo)
    t2 = time.monotonic()
    lines = verify_states(a, states, int(opt(args, "--per-file")))
    t3 = time.monotonic()
    out, violations, acks_checked = [], 0, 0
    for name, path, e in states:
        line = lines[name]
        rc, ftail = fsck(path)
        ok = field(line, "status") == "ok" and rc == 0
        violations += not ok
        acks_checked += int(field(line, "acks_checked") or 0)
        out.append({"state": name, "expect": e, "verify": line,
                    "fsck_rc": rc, "fsck": ftail if rc else [], "ok": ok})
    info["seconds"] = {"writer_boot": round(t1 - t0, 2),
                       "replay": round(t2 - t1, 2),
                       "verify_boot": round(t3 - t2, 2),
                       "fsck": round(time.monotonic() - t3, 2)}
    res = {"cycle": a.cycle, "seed": a.seed, "writer": a.writer,
           "replay": a.replay, "args": args, "acked": expect(acks, float("inf")),
           "states": out, "violations": violations,
           "acks_checked": acks_checked, "duration_s": 0, **info}
    res["duration_s"] = round(time.monotonic() - t0, 2)
    with open(os.path.join(a.work, "cycle.json"), "w") as f:
        json.dump(res, f, indent=1)
    report(a, res)
    if violations == 0:
        for name, path, _e in states:
            os.unlink(path)
        os.unlink(log)
    return 1 if violations else 0


def report(a, res):
    acked, created, deleted, _deleting = res["acked"]
    bad = [s for s in res["states"] if not s["ok"]]
    verdict = "ok" if not bad else "VIOLATION"
    print("cycle %s %s %s acked=%d created=%d deleted=%d states=%d "
          "acks_checked=%d flushes=%s cut=%.2fs K=%s grow=%s (%.1fs)"
          % (a.label, a.writer, verdict, acked, created, deleted,
             len(res["states"]), res["acks_checked"], res.get("flushes", "-"),
             res["cut_s"], opt(res["args"], "--sync-every"),
             opt(res["args"], "--grow"), res["duration_s"]), flush=True)
    for s in bad:
        print("  %s: %s fsck_rc=%d %s" % (s["state"], s["verify"],
                                         s["fsck_rc"], " | ".join(s["fsck"])),
              flush=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    for name in ("probe", "cycle"):
        p = sub.add_parser(name)
        p.add_argument("--kernel", required=True)
        p.add_argument("--initrd", required=True)
        p.add_argument("--accel", default="tcg")
        p.add_argument("--timeout", type=float, default=20)
        p.add_argument("--boot-timeout", type=float, default=45)
    c = sub.choices["cycle"]
    c.add_argument("--base", required=True)
    c.add_argument("--work", required=True)
    c.add_argument("--seed", required=True)
    c.add_argument("--cycle", type=int, required=True)
    c.add_argument("--label", default="")
    c.add_argument("--writer", default="mmf_crash_writer")
    c.add_argument("--replay", action="store_true")
    c.add_argument("--points", type=int, default=3)
    c.add_argument("--cut-min", type=float, default=0.0)
    c.add_argument("--cut-max", type=float, default=3.0)
    a = ap.parse_args(argv)
    try:
        if a.cmd == "probe":
            return probe(a)
        return cycle(a)
    except Exception as e:  # CannotRun, or a bug here: never a verdict
        import traceback
        if not isinstance(e, CannotRun):
            traceback.print_exc()
        print("cycle %s %s COULD-NOT-RUN: %s" % (getattr(a, "label", ""),
                                                getattr(a, "writer", ""), e),
              flush=True)
        return 2


