"""Power cuts of scripts/crash-vm: the guest's filesystems, one cycle, the campaign's record.

  crashvm fs      [--fs NAME] --field name|list|tools|initrd-modules
  crashvm mkbase  [--fs NAME] --out IMG [--size-mib N]
  crashvm scratch PARENT PREFIX       (a fresh private folder; prints its path)
  crashvm check-dir DIR [--private]   (a folder nobody else controls)
  crashvm probe   --kernel K --initrd I --accel A [--timeout S]
  crashvm cycle   --kernel K --initrd I --accel A --base IMG --work DIR
                  --seed S --cycle N --writer NAME [--fs NAME] [--replay]
                  [--states N] [--subsets S] [--cut-min S] [--cut-max S]
  crashvm finish  --work DIR --out DIR --seed S --accel A [--fs NAME]
                  [--replay] [--control WRITER=RESULT]... [--seconds S]
                  [--cycles-asked N] [--incomplete REASON] [--error REASON]

The guest's filesystem is one row of FILESYSTEMS (mkfs and fsck commands on
the host, kernel modules the guest loads in order, mount options); a new
filesystem is one row. The first row is the default.

A cycle: boot the guest with the writer on a fresh copy of the filesystem
image behind qemu's blklogwrites driver (every write and flush logged), read
the serial console line by line (ACK/CREATE/DELETE, each noted with the size
the write log had when the line arrived), SIGKILL qemu at a random moment,
build the crash states, verify all of them in one fresh boot (one virtio disk
each) and run the filesystem's checker (fsck -n) on each.

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

A cycle prints one progress line and writes WORK/cycle.json; `finish` reads
every cycle.json of a campaign and writes OUT/crash.json (one entry per
crash state, with its filesystem) and the stage record OUT/crash-vm.json.
Exit: 0 ok, 1 violation, 2 could not run, 143 SIGTERM (qemu is killed).
"""
import argparse
import concurrent.futures
import glob
import hashlib
import json
import os
import random
import select
import shutil
import signal
import stat
import struct
import subprocess
import sys
import tempfile
import time

from . import files
from . import options
from .runfolder import parser

LOG_MAGIC = 0x6a736677736872
FLUSH, FUA, DISCARD, MARK = 1, 2, 4, 8

GROWS = list(options.GROWTH)
FLAGS = list(options.FLAGS)

# The virtio transport of the guest's disks, in load order (the cloud kernel
# has them as modules, without modules.dep).
VIRTIO_MODULES = ["virtio_ring", "virtio", "virtio_pci_modern_dev",
                  "virtio_pci_legacy_dev", "virtio_pci", "virtio_blk"]
# Then the loop driver: the verify boot mounts each crash state of a pack
# (one disk) through a loop device at its offset.
BLOCK_MODULES = VIRTIO_MODULES + ["loop"]

# The guest's filesystems, one row each (the first is the default):
#   type     the guest's mount -t
#   mount    mount options in the guest (mount -o; no spaces)
#   mkfs     host command making an empty filesystem in the image {img}
#   size_mib size of that image in MiB (a sparse file); room for the
#            writer's files and at least what mkfs accepts (mkfs.xfs refuses
#            less than 300 MiB, mkfs.btrfs less than 109 MiB)
#   fsck     host command checking a crash state {img} without changing it;
#            exit 0 = clean
#   modules  guest kernel modules (.ko names) of the filesystem, loaded in
#            this order after BLOCK_MODULES; [] when the cloud kernel has it
#            built in. The order is checked against `modinfo -F depends` of
#            the guest kernel's .ko files when the initramfs is built
#            (check_modules).
# The Debian cloud kernel (6.1.0-NN-cloud-amd64) has ext4 built in and xfs
# and btrfs as modules (../shared/CRASH-VM.md); UNAVAILABLE says why others
# are not rows.
EXT4_MKFS = ["mkfs.ext4", "-F", "-q", "-b", "4096",
             "-E", "lazy_itable_init=0,lazy_journal_init=0", "{img}"]
FILESYSTEMS = {
    "ext4": {
        "type": "ext4", "mount": "data=ordered",
        "mkfs": EXT4_MKFS, "size_mib": 64,
        "fsck": ["e2fsck", "-fn", "{img}"],
        "modules": [],
    },
    "ext4-journal": {
        "type": "ext4", "mount": "data=journal",
        "mkfs": EXT4_MKFS, "size_mib": 64,
        "fsck": ["e2fsck", "-fn", "{img}"],
        "modules": [],
    },
    "xfs": {
        "type": "xfs", "mount": "defaults",
        "mkfs": ["mkfs.xfs", "-f", "-q", "{img}"], "size_mib": 300,
        "fsck": ["xfs_repair", "-n", "{img}"],
        "modules": ["libcrc32c", "xfs"],
    },
    "btrfs": {
        "type": "btrfs", "mount": "defaults",
        "mkfs": ["mkfs.btrfs", "-f", "-q", "{img}"], "size_mib": 256,
        "fsck": ["btrfs", "check", "--readonly", "{img}"],
        "modules": ["xor", "raid6_pq", "zstd_compress", "libcrc32c", "btrfs"],
    },
}
DEFAULT_FS = next(iter(FILESYSTEMS))
# The empty image is made sparse after mkfs: every crash state of a cut is a
# copy of its data extents (Pack), and mkfs.xfs writes its whole log as zeros.
SPARSE_COPY = ["cp", "--sparse=always"]
# Filesystems the guest cannot run, and why (crash-vm --help prints them).
UNAVAILABLE = {
    "f2fs": "not in the Debian cloud kernel (CONFIG_F2FS_FS is not set)",
}

# A cut with violations keeps the images of its first failing states only (a
# control's cut may fail in all of its 128).
KEEP_BAD_STATES = 3

# crash-vm --device-errors: the write request that fails, drawn in this
# range (counted from the guest's boot; a cut checks 1000-3000 writes).
DEVICE_ERROR_WRITES = (100, 1200)

# qemu options that would give the guest a network device.
NET_OPTIONS = ("-net", "-netdev", "-nic")
NET_DEVICES = ("net", "e1000", "rtl8139", "ne2k", "pcnet", "vmxnet", "usb-net")


class CannotRun(Exception):
    """The harness could not do its job (not a verdict on the library)."""


class Interrupted(BaseException):
    """SIGTERM: unwinds through every `finally` (qemu is killed there)."""


def fs_row(name):
    row = FILESYSTEMS.get(name)
    if row is None:
        raise files.ResultError(f"unknown filesystem '{name}' (known: {', '.join(FILESYSTEMS)})")
    return row


def fs_list(text):
    """The rows named by a comma-separated list, or all of them for `all`."""
    names = list(FILESYSTEMS) if text == "all" else text.split(",")
    for n in names:
        fs_row(n)
    if len(set(names)) != len(names):
        raise files.ResultError(f"filesystem list {text!r} names one twice")
    return names


def _fs_list_arg(text):
    try:
        return fs_list(text)
    except files.ResultError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def fs_command(name, which, img):
    """The argv of a filesystem's mkfs or fsck for the image img."""
    return [img if w == "{img}" else w for w in fs_row(name)[which]]


def guest_fs_args(name):
    """Kernel command-line words telling guest-init.sh how to mount name."""
    row = fs_row(name)
    return ("mmf.fs=%s mmf.fstype=%s mmf.mountopts=%s mmf.modules=%s"
            % (name, row["type"], row["mount"], ",".join(load_order(name))))


def load_order(name):
    """The guest kernel modules the row name needs, in insmod order."""
    return BLOCK_MODULES + fs_row(name)["modules"]


def base_key(name):
    """What the empty image of row name depends on, hashed (its cache name):
    the mkfs command, the size, the mkfs program itself and how make_base
    sparsifies the image (SPARSE_COPY)."""
    row = fs_row(name)
    h = hashlib.sha256(json.dumps([row["mkfs"], row["size_mib"], SPARSE_COPY]).encode())
    tool = shutil.which(row["mkfs"][0])
    if tool:
        with open(tool, "rb") as f:
            h.update(f.read())
    return h.hexdigest()[:16]


def check_modules(kernel_root):
    """{module: .ko path} of every module any row loads, from the unpacked
    guest kernel under kernel_root; ResultError if one is missing or a row
    loads one before a module it depends on (`modinfo -F depends`)."""
    kos = {}
    for path in glob.glob(os.path.join(glob.escape(kernel_root), "lib", "modules",
                                       "*", "kernel", "**", "*.ko*"), recursive=True):
        kos.setdefault(os.path.basename(path).split(".ko")[0], path)
    deps = {}
    for name in FILESYSTEMS:
        order = load_order(name)
        for i, m in enumerate(order):
            if m not in kos:
                raise files.ResultError(f"module {m} (filesystem {name}) is not in the guest "
                                        f"kernel under {kernel_root}")
            if m not in deps:
                r = subprocess.run(["modinfo", "-F", "depends", kos[m]], stdout=subprocess.PIPE,
                                   stderr=subprocess.STDOUT, text=True)
                if r.returncode:
                    raise files.ResultError(f"modinfo {kos[m]}: {r.stdout.strip()}")
                deps[m] = [d.replace("-", "_") for d in r.stdout.strip().split(",") if d]
            early = [x.replace("-", "_") for x in order[:i]]
            missing = [d for d in deps[m] if d not in early]
            if missing:
                raise files.ResultError(f"filesystem {name}: module {m} needs "
                                        f"{', '.join(missing)} loaded before it")
    return {m: kos[m] for m in deps}


def check_no_network(cmd):
    """Raise CannotRun if a qemu command line gives the guest a network device."""
    if "-nodefaults" not in cmd:
        raise CannotRun("qemu command without -nodefaults (it would add a network card)")
    for i, w in enumerate(cmd):
        if w in NET_OPTIONS or w.startswith(tuple(o + "=" for o in NET_OPTIONS)):
            raise CannotRun(f"qemu command gives the guest a network ({w})")
        if w == "-device" and i + 1 < len(cmd):
            driver = cmd[i + 1].split(",")[0]
            if any(n in driver for n in NET_DEVICES):
                raise CannotRun(f"qemu command gives the guest a network device ({driver})")


def guest_interfaces(line):
    """The interfaces of a guest's `MMF-NET if1 if2 ...` line; CannotRun if
    any is not the loopback."""
    ifs = line.split()[1:]
    other = [i for i in ifs if i != "lo"]
    if other:
        raise CannotRun(f"the guest has a network interface: {' '.join(other)}")
    return ifs


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

    def __init__(self, cmd, talk=False):
        """talk: the guest's serial input is a pipe (self.send)."""
        check_no_network(cmd)
        self.p = subprocess.Popen(cmd, stdin=subprocess.PIPE if talk else subprocess.DEVNULL,
                                  stdout=subprocess.PIPE,
                                  stderr=subprocess.STDOUT)
        self.buf = b""
        self.eof = False
        self.net = None

    def lines(self, deadline):
        """Yield complete lines until EOF or the deadline (monotonic)."""
        fd = self.p.stdout.fileno()
        while True:
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                line = line.decode("utf-8", "replace").strip("\r ")
                if line.startswith("MMF-NET"):
                    self.net = guest_interfaces(line)
                yield line
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

    def send(self, text):
        """Type text on the guest's serial console (a Guest made with talk)."""
        try:
            self.p.stdin.write(text.encode())
            self.p.stdin.flush()
        except BrokenPipeError:
            pass  # qemu is gone: the cut

    def kill(self):
        if self.p.poll() is None:
            os.kill(self.p.pid, signal.SIGKILL)
        self.p.wait()
        if self.p.stdin:
            self.p.stdin.close()

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
                ok = g.net is not None
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
             and not (control and f == "sync_before_grow")] or ["none"]
    per_file = [500, 1500] if control else [64, 200, 500, 1500]
    sync_every, per, initial = rng.randint(1, 64), rng.choice(per_file), rng.choice([0, 64, 4096, 65536])
    if not control and rng.random() < 0.25:
        # a bulk writer (mmapfile.h BULK STORES): MMF_RESERVE, no grow for
        # the first 8 MiB, a sync every 4096 records (~4.7 MiB) in turn with
        # the page-crossing ones, so it enters and leaves bulk mode
        sync_every, per, initial = 4096, 6000, 8 << 20
        flags = [f for f in flags if f != "none" and f != "reserve"] + ["reserve"]
    args = ["--sync-every", str(sync_every),
            "--per-file", str(per),
            "--keep", str(rng.randint(2, 4)),
            "--initial", str(initial),
            "--grow", grow, "--chunk", str(rng.choice([4096, 65536])),
            "--flags", ",".join(flags), "--deleting-handshake", "1"]
    return args


def opt(args, name):
    return args[args.index(name) + 1]


def blkdebug_rules(nth_write):
    """qemu blkdebug rules failing the nth_write-th write request (counted
    from 1, boot included) with EIO, once: a chain of states, one per write
    (blkdebug starts in state 1; each `pwritev` event moves it on), and an
    error for the write seen in state nth_write. Later writes succeed: a
    transient device error."""
    rules = ['[set-state]\nevent = "pwritev"\nstate = "%d"\nnew_state = "%d"\n\n' % (i, i + 1)
             for i in range(1, nth_write)]
    rules.append('[inject-error]\nevent = "pwritev"\nstate = "%d"\niotype = "write"\n'
                 'errno = "5"\nonce = "on"\n' % nth_write)
    return "".join(rules)


def writer_disk(img, log, rules=None):
    """qemu options of the writer's disk: blklogwrites logs every write and
    flush; with rules (a blkdebug config file) a blkdebug node above it fails
    the writes its rules say (a failed write is not logged: the device
    refused it), under a raw node (whose flushes blkdebug sees as events)."""
    opts = ["-blockdev", "driver=file,filename=%s,node-name=img,cache.no-flush=on" % img,
            "-blockdev", "driver=file,filename=%s,node-name=lg,cache.no-flush=on" % log,
            "-blockdev", "driver=blklogwrites,node-name=lw,file=img,log=lg"]
    top = "lw"
    if rules:
        opts += ["-blockdev", "driver=blkdebug,node-name=bd,image=lw,config=%s" % rules,
                 "-blockdev", "driver=raw,node-name=top,file=bd"]
        top = "top"
    return opts + ["-device", "virtio-blk-pci,drive=%s,write-cache=on,serial=cw" % top]


def run_writer(a, rng, img, log, args, rules=None):
    """Boot the writer, cut at a random moment; return (acks, info).

    With rules (a device error injected), the writer's ERR / POISON / RETRY
    lines are noted with the time since the writer started
    (info["device_lines"]) and the cut comes when the writer exits (or at
    the random moment if it did not)."""
    cut_after = rng.uniform(a.cut_min, a.cut_max)
    cmd = qemu_base(a) + [
        "-append", append_line("mmf.action=write %s mmf.writer=%s mmf.args=%s"
                               % (guest_fs_args(a.fs), a.writer, "/".join(args)))
    ] + writer_disk(img, log, rules)
    acks = []  # (kind, value, log size when read)
    device = []
    g = Guest(cmd, talk=True)
    t0 = time.monotonic()
    started = None
    tail = []
    try:
        for ln in g.lines(t0 + a.boot_timeout + cut_after + 30):
            now = time.monotonic()
            if ln is not None:
                tail = (tail + [ln])[-5:]
                parse_ack(ln, acks, os.stat(log).st_size)
                if ln.startswith("DELETING "):
                    g.send("GO\n")  # noted: the writer may delete (--deleting-handshake)
                if rules and started and ln.startswith(("ERR ", "POISON ", "RETRY ",
                                                        "MMF-WRITER-EXIT")):
                    device.append("%.2fs %s" % (now - started, ln))
                    if ln.startswith("MMF-WRITER-EXIT"):
                        break
                    continue
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
        parse_ack(ln, acks, os.stat(log).st_size)
    if g.net is None:
        raise CannotRun("the guest did not list its network interfaces (MMF-NET)")
    info = {"cut_s": round(cut_after, 3), "guest_net": g.net,
            "boot_s": round(started - t0, 2) if started else None}
    if rules:
        info["device_lines"] = device
    return acks, info


def judge_device(lines):
    """(facts, violation) of a device-error cut from the writer's lines:
    after `ERR sync rc` the handle must stay failed (`POISON sync R1
    allocate R2` with R1 and R2 errors); a writer that acked after a sync
    error (`RETRY` then no ERR) is caught by the verifier, not here."""
    facts = {"sync_error": None, "poison": None, "retried": False, "other_error": None}
    for ln in lines:
        w = ln.split()[1:]
        if w[:2] == ["ERR", "sync"]:
            facts["sync_error"] = int(w[2])
        elif w[:1] == ["ERR"] and facts["other_error"] is None:
            facts["other_error"] = " ".join(w[1:3])
        elif w[:1] == ["POISON"]:
            facts["poison"] = [int(w[2]), int(w[4])]
        elif w[:1] == ["RETRY"]:
            facts["retried"] = True
    bad = facts["sync_error"] is not None and (
        facts["poison"] is None or any(r >= 0 for r in facts["poison"]))
    return facts, bad


def parse_ack(ln, acks, log_size):
    """Note a writer line `ACK n` / `CREATE k` / `DELETE k` / `DELETING k`
    (or one of ACK_KINDS) with the size the write log had when the host
    read it."""
    parts = ln.split()
    if len(parts) == 2 and parts[0] in ("ACK", "CREATE", "DELETE", "DELETING", "DIR") \
            and parts[1].isdigit():
        acks.append((parts[0], int(parts[1]), log_size))
    elif len(parts) > 2 and parts[0] == "ACK" and parts[1] in ACK_KINDS \
            and all(p.isdigit() for p in parts[2:]):
        try:
            acks.append(ACK_KINDS[parts[1]](*map(int, parts[2:])) + (log_size,))
        except TypeError:
            pass  # a torn line (wrong field count)


# --- the acknowledgements of every durable call (issue 18) ---------------------
# The writer's lines `ACK <kind> ...` (faults/crash/writer.c), as (kind, value):
# a range sync, a close and a sync right after growth acknowledge the records
# up to seq, like `ACK seq`; a shrink then a sync acknowledges (file, size);
# `DIR k` (markers 1..k made durable by mmf_sync_dir) is a plain kind above.
ACK_KINDS = {
    "range": lambda k, off, length, seq: ("ACK", seq),
    "close": lambda k, seq: ("ACK", seq),
    "grow": lambda k, size, seq: ("ACK", seq),
    "truncate": lambda k, size: ("SHRUNK", (k, size)),
}


def ack_kinds_due(e, before):
    """The fields of expect() (0 records, 1 created, 2 deleted, 4 markers,
    5 shrunk) that changed from before to e. DELETING (3) is left out: its
    margin makes it change anyway."""
    return [i for i in (0, 1, 2, 4, 5) if e[i] != before[i]]


def pick_in_turn(pools, n, rng):
    """Up to n distinct items taken in turn from each pool, at random."""
    pools = [rng.sample(p, len(p)) for p in pools]
    pick = []
    while len(pick) < n and any(pools):
        for p in pools:
            while p and p[-1] in pick:
                p.pop()
            if p and len(pick) < n:
                pick.append(p.pop())
    return pick


def expect(acks, bound):
    """(acked, created, deleted, deleting, marks, (shrunk file, size)) that a
    cut must keep when it came after every line read while the log was
    <= bound.

    DELETING k says the writer no longer needs file k: from then on a cut
    may find it truncated. Such a line read after the bound may still have
    been printed before the cut, so the first one after the bound counts too
    (the next one is at least a roll later: per_file records, an mmf_open
    and an mmf_delete, each with a device flush)."""
    e = {"ACK": 0, "CREATE": 0, "DELETE": 0, "DELETING": 0, "DIR": 0, "SHRUNK": (0, 0)}
    margin = True
    for kind, v, size in acks:
        if size <= bound:
            e[kind] = max(e[kind], v)
        elif kind == "DELETING" and margin:
            e[kind] = max(e[kind], v)
            margin = False
    e["DELETING"] = max(e["DELETING"], e["DELETE"])
    return e["ACK"], e["CREATE"], e["DELETE"], e["DELETING"], e["DIR"], e["SHRUNK"]


def read_log(path, disk_bytes):
    """The entries of a blklogwrites log: (flags, sector, nsec, data_off, off)."""
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


def copy_extents(src_fd, src_off, length, dst_fd, dst_off):
    """Copy the data extents of src_fd[src_off:src_off + length] to dst_fd at
    dst_off (holes stay holes: a sparse copy, in the kernel)."""
    pos, end = src_off, src_off + length
    while pos < end:
        try:
            d = os.lseek(src_fd, pos, os.SEEK_DATA)
        except OSError:
            return  # ENXIO: no data after pos
        if d >= end:
            return
        h = min(os.lseek(src_fd, d, os.SEEK_HOLE), end)
        while d < h:
            n = os.copy_file_range(src_fd, dst_fd, h - d, d, dst_off + d - src_off)
            if n <= 0:
                raise OSError(f"copy_file_range returned {n}")
            d += n
        pos = h


def apply_entries(fd, off, data, ss, entries, which):
    """Write the logged writes entries[i] for i in which to fd at off + their
    sector (a discard writes zeros; flushes and marks carry no data)."""
    for i in which:
        flags, sector, nsec, doff, _off = entries[i]
        if flags & (FLUSH | MARK) or nsec == 0:
            continue
        if flags & DISCARD:
            os.pwrite(fd, bytes(nsec * ss), off + sector * ss)
        else:
            os.pwrite(fd, data[doff:doff + nsec * ss], off + sector * ss)


class Pack:
    """Crash states side by side in one sparse file: state i is the image at
    byte i * stride (the guest mounts it through a loop device at that
    offset; the host copies it out for fsck)."""

    def __init__(self, path, stride):
        self.path, self.stride, self.n = path, stride, 0
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)

    def add(self, src_fd):
        """A new state, a copy of the image src_fd; returns its index."""
        copy_extents(src_fd, 0, self.stride, self.fd, self.n * self.stride)
        self.n += 1
        os.ftruncate(self.fd, self.n * self.stride)
        return self.n - 1

    def extract(self, i, out):
        """State i as its own image file out (sparse)."""
        fd = os.open(out, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.ftruncate(fd, self.stride)
            copy_extents(self.fd, i * self.stride, self.stride, fd, 0)
        finally:
            os.close(fd)

    def close(self, remove=True):
        os.close(self.fd)
        if remove:
            os.unlink(self.path)


def random_subset(rng, idxs, p):
    return tuple(i for i in idxs if rng.random() < p)


def plan_states(a, rng, entries, acks, ss):
    """The replayed crash states of one cut, as (name, upto, keep, expected):
    the image before boot + the writes of entries[:upto] + those of
    entries[i] for i in keep.

      lastK     the log up to the last FLUSH + a random subset of the
                writes after it (a disk with a volatile cache cut at the
                moment of the kill): up to a.subsets distinct subsets, the
                empty one first; every ack must be there
      flushN    the log up to FLUSH entry N + a random half of the writes up
                to the next FLUSH N' (a cut just before N' completed): the
                acks read while the log was not yet past N'; every flush
                point with something to check, or, past the budget (a.states
                states per cut in all), those where new acks fell due first
                (taken in turn from each kind of ack), then the rest evenly
                spread
    """
    inf = float("inf")
    flushes = [i for i, e in enumerate(entries) if e[0] & FLUSH]
    last = flushes[-1] + 1 if flushes else 0
    after = [i for i in range(last, len(entries)) if not entries[i][0] & (FLUSH | MARK)]
    plans, seen = [], set()
    n_last = min(a.subsets, 2 ** min(len(after), 20))
    tries = 0
    while len(plans) < n_last and tries < 8 * n_last:
        keep = () if tries == 0 else random_subset(rng, after, rng.random())
        tries += 1
        if keep in seen:
            continue
        seen.add(keep)
        plans.append(("last%d" % len(plans), last, keep, expect(acks, inf)))
    # Earlier flush points with something to check (some ack read before the
    # log reached the next flush). Past the budget: first those where an ack
    # fell due since the flush was logged (the tightest states: a line read
    # just after it, with nothing logged since, counts; a call that skipped
    # its own flush printed it there), taken in turn from each kind of ack
    # that did (records, created, deleted, markers, shrunk: the kinds of a
    # roll fall due once per file, against many record acks), then the
    # others evenly spread.
    by_kind, rest = {}, []
    for j, fi in enumerate(flushes[:-1]):
        nxt = flushes[j + 1]
        e = expect(acks, entries[nxt][4])
        if e[0] or e[1]:
            kinds = ack_kinds_due(e, expect(acks, entries[fi][4]))
            for k in kinds:
                by_kind.setdefault(k, []).append((fi, nxt, e))
            if not kinds:
                rest.append((fi, nxt, e))
    budget = max(a.states - 1 - len(plans), 0)
    pick = pick_in_turn([v for _k, v in sorted(by_kind.items())], budget, rng)
    left = budget - len(pick)
    if left >= len(rest):
        pick += rest
    elif left > 0:
        pick += [rest[k * len(rest) // left] for k in range(left)]
    for fi, nxt, e in sorted(pick):
        keep = random_subset(rng, range(fi + 1, nxt), 0.5)
        plans.append(("flush%d" % fi, fi + 1, keep, e))
    fresh = {p[0] for v in by_kind.values() for p in v}
    return plans, {"flush_points": len(fresh) + len(rest), "writes_after_last_flush": len(after)}


def make_states(a, rng, img, log, acks, pack):
    """The crash states of one cut in pack: [(name, index, expected)]
    (index 0: `kill`, the image as qemu left it) and facts about the log."""
    inf = float("inf")
    with open(img, "rb") as f:
        states = [("kill", pack.add(f.fileno()), expect(acks, inf))]
    if not a.replay:
        return states, {}
    data, ss, entries = read_log(log, os.path.getsize(a.base))
    plans, info = plan_states(a, rng, entries, acks, ss)
    info.update(log_entries=len(entries), flushes=sum(1 for e in entries if e[0] & FLUSH))
    # One running image (base + the log so far), copied into the pack at
    # each state's point, then the state's own later writes on top.
    running = pack.path + ".running"
    fd = os.open(running, os.O_RDWR | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with open(a.base, "rb") as b:
            copy_extents(b.fileno(), 0, os.path.getsize(a.base), fd, 0)
        os.ftruncate(fd, os.path.getsize(a.base))
        done = 0
        for name, upto, keep, e in sorted(plans, key=lambda p: p[1]):
            apply_entries(fd, 0, data, ss, entries, range(done, upto))
            done = max(done, upto)
            i = pack.add(fd)
            apply_entries(pack.fd, i * pack.stride, data, ss, entries, keep)
            states.append((name, i, e))
    finally:
        os.close(fd)
        os.unlink(running)
    return sorted(states, key=lambda s: s[1]), info


def verifier_args(expected):
    """The verifier's options (mmf_crash_verify) for a state that must keep
    expected, an expect() tuple (acked, created, deleted, deleting, marks,
    (shrunk file, size)): --shrunk FILE.SIZE."""
    *nums, shrunk = expected
    return ("--acked %d --created %d --deleted %d --deleting %d --marks %d --shrunk %d.%d"
            % (tuple(nums) + tuple(shrunk)))


def verify_states(a, states, pack, per_file, on_line):
    """Verify every state of pack in one boot (the guest mounts each in turn
    through a loop device); on_line(name, verifier line) is called as each
    one is done (its image is unmounted by then). Returns {name: line}."""
    manifest = pack.path + ".states"
    text = "".join("%s %d %s\n" % (name, i * pack.stride, verifier_args(e))
                   for name, i, e in states)
    with open(manifest, "wb") as f:
        f.write(text.encode().ljust(-(-len(text) // 512) * 512, b"\0"))
    disks = ["-drive", "if=none,id=pack,format=raw,file=%s,cache=unsafe" % pack.path,
             "-device", "virtio-blk-pci,drive=pack,serial=pack",
             "-drive", "if=none,id=man,format=raw,file=%s,readonly=on" % manifest,
             "-device", "virtio-blk-pci,drive=man,serial=states"]
    cmd = qemu_base(a) + ["-append", append_line(
        "mmf.action=verify %s mmf.per=%d" % (guest_fs_args(a.fs), per_file))] + disks
    g = Guest(cmd)
    res, done = {}, False
    try:
        for ln in g.lines(time.monotonic() + a.boot_timeout + 5 * len(states)):
            if ln is None:
                continue
            if ln.startswith("MMF-STATE "):
                _, name, rest = (ln + " ").split(" ", 2)
                res[name] = rest.strip()
                on_line(name, res[name])
            elif ln == "MMF-VERIFY-DONE":
                done = True
                break
    finally:
        g.kill()  # every image was unmounted before MMF-VERIFY-DONE
        os.unlink(manifest)
    if not done:
        raise CannotRun("the verify boot did not finish (got %d of %d states)"
                        % (len(res), len(states)))
    return {name: res.get(name, "CRASH-VERIFY status=no-result") for name, _i, _e in states}


def fsck(fs, path):
    """(exit status, last lines) of the filesystem's checker on a crash state."""
    r = subprocess.run(fs_command(fs, "fsck", path), stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, text=True)
    return r.returncode, r.stdout.strip().splitlines()[-3:]


def fsck_state(fs, pack, i, work):
    """fsck of state i of pack (copied out to a scratch image, removed after)."""
    img = os.path.join(work, "fsck-%d.img" % i)
    pack.extract(i, img)
    try:
        return fsck(fs, img)
    finally:
        os.unlink(img)


def field(line, key):
    for w in line.split():
        if w.startswith(key + "="):
            return w[len(key) + 1:]
    return None


def judge_state(fs, name, expected, verify_line, fsck_rc, fsck_tail):
    """The record of one crash state: ok only if the verifier found every
    acknowledged record and file (status=ok) and the checker found the
    filesystem clean."""
    ok = field(verify_line, "status") == "ok" and fsck_rc == 0
    return {"state": name, "fs": fs, "expect": list(expected), "verify": verify_line,
            "acks_checked": int(field(verify_line, "acks_checked") or 0),
            "fsck_rc": fsck_rc, "fsck": fsck_tail if fsck_rc else [], "ok": ok}


def cycle(a):
    t0 = time.monotonic()
    rng = random.Random("%s:%s:%s" % (a.seed, a.cycle, a.writer))
    os.makedirs(a.work, exist_ok=True)
    img = os.path.join(a.work, "disk.img")
    log = os.path.join(a.work, "disk.log")
    subprocess.run(["cp", "--sparse=always", a.base, img], check=True)
    open(log, "wb").close()
    args = writer_args(rng, a.writer != "mmf_crash_writer")
    rules, nth = None, None
    if a.device_error:
        nth = rng.randint(*DEVICE_ERROR_WRITES)
        rules = os.path.join(a.work, "blkdebug.conf")
        with open(rules, "w") as f:
            f.write(blkdebug_rules(nth))
    acks, info = run_writer(a, rng, img, log, args, rules)
    t1 = time.monotonic()
    pack = Pack(os.path.join(a.work, "states.pack"), os.path.getsize(a.base))
    keep_pack = False
    try:
        states, linfo = make_states(a, rng, img, log, acks, pack)
        info.update(linfo)
        t2 = time.monotonic()
        # fsck of each state while the guest verifies the next ones
        index = {name: i for name, i, _e in states}
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            checks = {}
            lines = verify_states(
                a, states, pack, int(opt(args, "--per-file")),
                lambda name, _line: checks.setdefault(
                    name, pool.submit(fsck_state, a.fs, pack, index[name], a.work)))
            t3 = time.monotonic()
            out = []
            for name, i, e in states:
                rc, ftail = (checks[name].result() if name in checks
                             else (-1, ["not checked: no verifier line"]))
                out.append(judge_state(a.fs, name, e, lines[name], rc, ftail))
        violations = sum(not s["ok"] for s in out)
        if rules:
            lines = info.pop("device_lines")
            facts, bad = judge_device(lines)
            info["device"] = dict(facts, failed_write=nth, lines=lines, ok=not bad)
            violations += bad
        bad = [(s, name, i) for s, (name, i, _e) in zip(out, states) if not s["ok"]]
        for s, name, i in bad[:KEEP_BAD_STATES]:  # kept, to look at
            s["image"] = os.path.join(a.work, "state-%s.img" % name)
            pack.extract(i, s["image"])
    except BaseException:
        keep_pack = not isinstance(sys.exc_info()[1], Interrupted)
        raise
    finally:
        pack.close(remove=not keep_pack)
    info["seconds"] = {"writer_boot": round(t1 - t0, 2),
                       "replay": round(t2 - t1, 2),
                       "verify_boot": round(t3 - t2, 2),
                       "fsck_after_boot": round(time.monotonic() - t3, 2)}
    res = {"cycle": a.cycle, "seed": a.seed, "writer": a.writer, "fs": a.fs,
           "replay": a.replay, "args": args, "acked": expect(acks, float("inf")),
           "states": out, "violations": violations,
           "acks_checked": sum(s["acks_checked"] for s in out), "duration_s": 0, **info}
    res["duration_s"] = round(time.monotonic() - t0, 2)
    files.write_json(os.path.join(a.work, "cycle.json"), res)
    report(a, res)
    if violations == 0:
        os.unlink(img)
        os.unlink(log)
    return 1 if violations else 0


def report(a, res):
    acked, created, deleted = res["acked"][:3]
    bad = [s for s in res["states"] if not s["ok"]]
    verdict = "ok" if not res["violations"] else "VIOLATION"
    print("cycle %s %s %s %s acked=%d created=%d deleted=%d states=%d "
          "acks_checked=%d flushes=%s cut=%.2fs K=%s grow=%s (%.1fs)"
          % (a.label, a.writer, a.fs, verdict, acked, created, deleted,
             len(res["states"]), res["acks_checked"], res.get("flushes", "-"),
             res["cut_s"], opt(res["args"], "--sync-every"),
             opt(res["args"], "--grow"), res["duration_s"]), flush=True)
    for s in bad[:3]:
        print("  %s: %s fsck_rc=%d %s" % (s["state"], s["verify"],
                                         s["fsck_rc"], " | ".join(s["fsck"])),
              flush=True)
    if len(bad) > 3:
        print("  ... and %d more states (WORK/cycle.json)" % (len(bad) - 3), flush=True)
    d = res.get("device")
    if d:
        print("  device error: write %d failed (EIO); writer: %s%s" % (
            d["failed_write"], " | ".join(d["lines"]) or "no error seen before the cut",
            "" if d["ok"] else "  <- the handle did NOT stay failed"), flush=True)


# --- the campaign's record ----------------------------------------------------

def load_cycles(work, fs, writer):
    """The cycle.json of every cut of writer on fs (WORK/FS/WRITER-N/), in cycle order."""
    docs = [files.load_json(p, "cycle record")
            for p in glob.glob(os.path.join(glob.escape(work), glob.escape(fs),
                                            writer + "-*", "cycle.json"))]
    return sorted(docs, key=lambda c: c.get("cycle", 0))


# A retrying control (mmf_crash_writer_retry) that never got to lie: its
# retry failed too wherever the error reached it (btrfs turns read-only after
# a failed write, so the retry gets EROFS and nothing false is acknowledged).
# Not a toothless test: the kernel refused what the control does.
REFUSED = "retry-refused-by-the-kernel"


def retry_refused(c):
    """The cut's retry after a failed sync failed too."""
    d = c.get("device") or {}
    return bool(d.get("retried")) and d.get("sync_error") is not None


def retry_lied(c):
    """The cut's retry after a failed sync succeeded (records acked anyway)."""
    d = c.get("device") or {}
    return bool(d.get("retried")) and d.get("sync_error") is None


def untested(per_fs, whole_campaign=True):
    """The filesystems of per_fs ({fs: {states, acks_checked, device_error_cuts,
    device_errors_seen}}) on which a campaign tested nothing: no crash state, no
    ack checked, or device-error cuts none of which reached the writer. A shard
    (whole_campaign False) holds a share of the cuts: the last is judged on the
    merged campaign (history merge-shards), as one run of it would be."""
    return [fs for fs, f in per_fs.items() if f["states"] == 0 or f["acks_checked"] == 0
            or (whole_campaign and f.get("device_error_cuts", 0) > 0
                and f.get("device_errors_seen", 0) == 0)]


def summarize(work, seed, accel, filesystems, replay, controls, seconds, cycles_asked=None,
              incomplete=None, error=None, device_asked=0, shard=False):
    """(crash.json document, stage counts, verdict, reason) of a campaign
    over the filesystems (a list of FILESYSTEMS rows).

    controls: {(fs, writer): result} where result is failed-at-cut-N (as it
    must) or passed-5-cuts. cycles_asked (plain cuts) and device_asked (cuts
    with a device error) are per filesystem. A campaign that
    checked no crash state or no ack, on any of its filesystems, fails: it
    tested nothing there."""
    cyc, states, per_fs, results = [], [], {}, {}
    for fs in filesystems:
        mine = load_cycles(work, fs, "mmf_crash_writer")
        cyc += mine
        st = [dict(s, cycle=c["cycle"], writer=c["writer"], fs=s.get("fs", fs))
              for c in mine for s in c["states"]]
        states += st
        ctl = {}
        for (cfs, w), result in sorted(controls.items()):
            if cfs != fs:
                continue
            cuts = load_cycles(work, fs, w)
            runs = [{"cycle": c["cycle"], "violations": c["violations"],
                     "detail": [s["verify"] for s in c["states"] if not s["ok"]][:1]
                     + c.get("device", {}).get("lines", [])}
                    for c in cuts]
            if (not result.startswith("failed") and any(retry_refused(c) for c in cuts)
                    and not any(retry_lied(c) for c in cuts)):
                result = REFUSED
            results[(cfs, w)] = result
            ctl[w] = {"result": result, "must": "fail", "cuts": runs}
        dev = [dict(cycle=c["cycle"], **{k: c["device"][k] for k in (
                   "failed_write", "sync_error", "poison", "other_error", "lines")})
               for c in mine if c.get("device")]
        row = fs_row(fs)
        per_fs[fs] = {"type": row["type"], "mount": row["mount"],
                      "fsck": " ".join(w for w in row["fsck"] if w != "{img}"),
                      "cycles": len(mine), "states": len(st),
                      "acks_checked": sum(s["acks_checked"] for s in st),
                      "violations": sum(not s["ok"] for s in st), "controls": ctl}
        if dev:  # what the kernel returned to the writer after the failed write
            per_fs[fs]["device_errors"] = dev
            per_fs[fs]["device_errors_seen"] = sum(
                d["sync_error"] is not None or d["other_error"] is not None for d in dev)
    counts = {
        "filesystems": len(filesystems),
        "cycles": len(cyc),
        "device_error_cuts": sum(1 for c in cyc if c.get("device")),
        "states": len(states),
        "acks_checked": sum(s["acks_checked"] for s in states),
        "records_acked": sum(c["acked"][0] for c in cyc),
        "violations": sum(not s["ok"] for s in states) + sum(
            not c["device"]["ok"] for c in cyc if c.get("device")),
        "controls": len(controls),
        "controls_failed": sum(r.startswith("failed") for r in results.values()),
        "controls_passed": sum(not r.startswith("failed") and r != REFUSED
                               for r in results.values()),
        "controls_refused_by_kernel": sum(r == REFUSED for r in results.values()),
    }
    for fs, f in per_fs.items():
        f["device_error_cuts"] = len(f.get("device_errors", []))
        f["device_errors_seen"] = f.get("device_errors_seen", 0)
    counts["device_errors_seen"] = sum(f["device_errors_seen"] for f in per_fs.values())
    empty = untested(per_fs, whole_campaign=not shard)
    short = [fs for fs, f in per_fs.items() if cycles_asked is not None and
             (f["cycles"] - f["device_error_cuts"], f["device_error_cuts"])
             != (cycles_asked, device_asked)]
    if incomplete:
        verdict, reason = "interrupted", f"incomplete: {incomplete}"
    elif error:
        verdict, reason = "fail", f"could not run: {error}"
    elif counts["violations"]:
        verdict, reason = "fail", (f"{counts['violations']} violations (crash states that lost "
                                   "acknowledged data, or a failed handle that recovered)")
    elif counts["controls_passed"]:
        verdict, reason = "fail", "a negative control did not fail: the test has no teeth"
    elif not filesystems or empty:
        verdict, reason = "fail", ("no crash state with an acknowledged record (with device "
                                   "errors: no error reaching the writer) was checked"
                                   + (" on " + ", ".join(empty) if empty else ""))
    elif short:
        verdict, reason = "fail", ", ".join(
            f"{fs}: {per_fs[fs]['cycles'] - per_fs[fs]['device_error_cuts']} of {cycles_asked} "
            f"cycles and {per_fs[fs]['device_error_cuts']} of {device_asked} device-error cuts "
            "recorded" for fs in short)
    else:
        verdict, reason = "pass", ""
        unseen = [fs for fs in untested(per_fs) if fs not in empty]
        if unseen:      # a shard: see untested()
            reason = (f"no device error reached the writer on {', '.join(unseen)} in this "
                      "shard: judged on the merged campaign")
    doc = {"complete": not incomplete and not error, "verdict": verdict, "reason": reason,
           "seed": seed, "replay": replay, "accel": accel, "fs": list(filesystems),
           **{k: counts[k] for k in ("cycles", "acks_checked", "records_acked", "violations")},
           "crash_states": counts["states"], "filesystems": per_fs,
           "duration_s": seconds, "states": states}
    return doc, counts, verdict, reason


def finish(a):
    controls = {}
    for c in a.control:
        key, sep, r = c.partition("=")
        fs, colon, w = key.partition(":")
        if not sep or not colon or fs not in a.fs:
            raise files.ResultError(f"--control {c!r}: expected FS:WRITER=RESULT, FS one of --fs")
        controls[(fs, w)] = r
    doc, counts, verdict, reason = summarize(a.work, a.seed, a.accel, a.fs, a.replay, controls,
                                             a.seconds, a.cycles_asked, a.incomplete, a.error,
                                             a.device_errors_asked, a.shard)
    files.write_json(os.path.join(a.out, "crash.json"), doc)
    files.write_stage(a.out, "crash-vm", verdict, reason, counts, seconds=a.seconds,
                      seed=a.seed, fs=a.fs,
                      per_fs={fs: {k: f[k] for k in ("cycles", "states", "acks_checked",
                                                     "violations", "device_error_cuts",
                                                     "device_errors_seen")}
                              for fs, f in doc["filesystems"].items()})
    for fs, f in doc["filesystems"].items():
        ctl = ", ".join("%s %s" % (k.replace("mmf_crash_writer_", ""), v["result"])
                        for k, v in f["controls"].items()) or "not run"
        print("crash-vm: %s: %d cycles, %d crash states, %d acks checked, %d violations, "
              "controls: %s" % (fs, f["cycles"], f["states"], f["acks_checked"],
                                f["violations"], ctl), flush=True)
        if f.get("device_errors"):
            seen = sorted({"sync %s" % d["sync_error"] if d["sync_error"] is not None
                           else str(d["other_error"]) for d in f["device_errors"]
                           if d["sync_error"] is not None or d["other_error"] is not None})
            print("crash-vm: %s: %d device-error cuts, %d reached the writer; it got: %s"
                  % (fs, f["device_error_cuts"], f["device_errors_seen"], ", ".join(seen)),
                  flush=True)
    print("crash-vm: %s — %d filesystems, %d cycles, %d crash states, %d acks checked, "
          "%d violations, %d of %d controls failed as they must (%d retries refused by the "
          "kernel), %ss%s"
          % (verdict.upper(), len(a.fs), counts["cycles"], counts["states"],
             counts["acks_checked"], counts["violations"], counts["controls_failed"],
             counts["controls"], counts["controls_refused_by_kernel"], a.seconds,
             f" ({reason})" if reason else ""), flush=True)
    return {"pass": 0, "interrupted": 130}.get(verdict, 2 if a.error else 1)


# --- scratch and cache folders --------------------------------------------------

def _shared_parent_refusal(st):
    """Why a folder with stat st lets someone else swap what is in it, or None."""
    if st.st_uid not in (os.getuid(), 0):
        return f"owned by uid {st.st_uid}, not by this user (uid {os.getuid()}) or root"
    if st.st_mode & (stat.S_IWGRP | stat.S_IWOTH) and not st.st_mode & stat.S_ISVTX:
        return f"writable by others and not sticky (mode {stat.S_IMODE(st.st_mode):o})"
    return None


def check_dir(path, what="folder", private=False):
    """Raise ResultError unless path is a real directory (not a symlink) owned
    by this user or root, and, if others may write in it, sticky (like /tmp).
    private: owned by this user and writable by nobody else (a cache). Every
    folder above it (resolved) passes the same owner and sticky rule: else
    its owner could rename path away and put their own in its place."""
    # "dir/" would make lstat follow a symlink named dir: check the name itself.
    path = path.rstrip("/") or "/"
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        raise files.ResultError(f"{path}: {what} does not exist") from None
    if stat.S_ISLNK(st.st_mode):
        raise files.ResultError(f"{path}: {what} is a symlink (refused: someone else may control it)")
    if not stat.S_ISDIR(st.st_mode):
        raise files.ResultError(f"{path}: {what} is not a directory")
    if private and st.st_uid != os.getuid():
        raise files.ResultError(f"{path}: {what} is owned by uid {st.st_uid}, not by this user "
                                f"(uid {os.getuid()}): refused")
    if private and st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        raise files.ResultError(f"{path}: {what} is writable by others "
                                f"(mode {stat.S_IMODE(st.st_mode):o}): refused")
    why = _shared_parent_refusal(st)
    if why:
        raise files.ResultError(f"{path}: {what} is {why}: refused")
    up = os.path.realpath(path)
    while up != "/":
        up = os.path.dirname(up)
        why = _shared_parent_refusal(os.stat(up))
        if why:
            raise files.ResultError(f"{path}: {what} lies in {up}, {why}: refused")


def private_dir(parent, prefix):
    """A fresh folder (mode 0700, created exclusively) under a checked parent."""
    check_dir(parent, "parent folder")
    try:
        return tempfile.mkdtemp(prefix=prefix + ".", dir=parent)
    except OSError as e:
        raise files.ResultError(f"{parent}: cannot create a folder there ({e.strerror})") from None


def make_base(fs, out, size_mib):
    """An empty filesystem image at out (built beside it, made sparse by a
    copy: the zeros mkfs wrote, xfs its 64 MiB log, become holes; renamed
    into place)."""
    folder = os.path.dirname(os.path.abspath(out))
    fd, tmp = tempfile.mkstemp(prefix=".base.", dir=folder)
    sparse = tmp + ".sparse"
    try:
        os.ftruncate(fd, size_mib << 20)
        os.close(fd)
        for cmd in (fs_command(fs, "mkfs", tmp), SPARSE_COPY + [tmp, sparse]):
            r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
            if r.returncode:
                raise files.ResultError(f"{cmd[0]} failed: "
                                        f"{' | '.join(r.stdout.strip().splitlines()[-2:])}")
        os.replace(sparse, out)
    finally:
        for p in (tmp, sparse):
            if os.path.exists(p):
                os.unlink(p)


def fs_field(name, which):
    row = fs_row(name)
    if which == "name":
        return name
    if which == "list":
        return " ".join(FILESYSTEMS)
    if which == "tools":
        return " ".join(sorted({row["mkfs"][0], row["fsck"][0]}))
    if which == "base-key":
        return base_key(name)
    if which == "help":
        rows = ["  %-13s mount -t %s -o %s; %s; checked by %s" % (
                    n, r["type"], r["mount"],
                    "modules " + " ".join(r["modules"]) if r["modules"] else "built in",
                    " ".join(w for w in r["fsck"] if w != "{img}"))
                for n, r in FILESYSTEMS.items()]
        rows += ["  %-13s unavailable: %s" % (n, why) for n, why in UNAVAILABLE.items()]
        return "\n".join(rows)
    # initrd-modules: every module any row may load, so one initramfs serves all.
    mods = []
    for n in FILESYSTEMS:
        mods += [m for m in load_order(n) if m not in mods]
    return " ".join(mods)


# --- full disk per filesystem ---------------------------------------------------

TMPFS_MIB = 16


def full_disk_one(name, options, program, scratch):
    """Run the full-disk program on a fresh mounted filesystem of the row
    name (a loop image of its size, mounted with its type and options) or
    tmpfs; returns its FULLDISK fields as a dict."""
    mnt = tempfile.mkdtemp(prefix="fulldisk.", dir=scratch)
    img = mnt + ".img"
    mounted = False
    try:
        if name == "tmpfs":
            cmd = ["mount", "-t", "tmpfs", "-o", "size=%dm" % TMPFS_MIB, "tmpfs", mnt]
        else:
            row = fs_row(name)
            make_base(name, img, row["size_mib"])
            cmd = ["mount", "-t", row["type"], "-o", "loop," + row["mount"], img, mnt]
        r = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode:
            raise files.ResultError(f"{' '.join(cmd)}: {r.stdout.strip()}")
        mounted = True
        r = subprocess.run([program, mnt, options], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
        line = next((ln for ln in r.stdout.splitlines() if ln.startswith("FULLDISK ")), None)
        if r.returncode or line is None:
            raise files.ResultError(f"{program} on {name}: {r.stdout.strip()[-200:]}")
        fields = dict(w.split("=", 1) for w in line.split()[1:])
        return {"fs": name, **fields}
    finally:
        if mounted:
            subprocess.run(["umount", mnt], check=False)
        os.rmdir(mnt)
        if os.path.exists(img):
            os.unlink(img)


def full_disk(names, program, scratch, out):
    """The full-disk table: filesystem x options -> outcome; out.json and
    out.md. Returns the rows. The images and mount points live in a fresh
    private folder under scratch (checked: private_dir), never beside
    names others could plant."""
    work = private_dir(scratch, "mmf-fulldisk")
    try:
        rows = [full_disk_one(n, o, program, work)
                for n in list(names) + ["tmpfs"] for o in ("default", "seed")]
    finally:
        os.rmdir(work)      # empty: each run unmounts and removes its own
    for r in rows:
        print("fulldisk: %-13s %-7s %-8s at %s (rc %s) after %s bytes appended, %s synced"
              % (r["fs"], r["options"], r["outcome"], r["call"], r["rc"], r["appended"],
                 r["synced"]), flush=True)
    files.write_json(out + ".json", {"rows": rows})
    md = ["| filesystem | mount | options | outcome | failing call | rc | bytes appended "
          "| bytes synced |", "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        mount = "size=%dm" % TMPFS_MIB if r["fs"] == "tmpfs" else fs_row(r["fs"])["mount"]
        md.append("| %s | %s | %s | %s | %s | %s | %s | %s |" % (
            r["fs"], mount, r["options"], r["outcome"], r["call"], r["rc"], r["appended"],
            r["synced"]))
    files.write_text(out + ".md", "\n".join(md) + "\n")
    return rows


# --- command line ----------------------------------------------------------------

def _on_term(_sig, _frame):
    raise Interrupted()


def main(argv=None):
    ap = parser("crashvm", __doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True, parser_class=type(ap))
    f = sub.add_parser("fs", help="a field of the filesystem table")
    f.add_argument("--fs", default=DEFAULT_FS)
    f.add_argument("--field", required=True,
                   choices=("name", "list", "tools", "initrd-modules", "base-key", "help"))
    k = sub.add_parser("modules", help="the guest modules' .ko files, their load order checked")
    k.add_argument("--kernel-root", required=True, help="the unpacked kernel package")
    fd = sub.add_parser("fulldisk", help="append until each filesystem is full (needs root)")
    fd.add_argument("--program", required=True, help="the mmf_full_disk executable")
    fd.add_argument("--fs", default=list(FILESYSTEMS), type=_fs_list_arg)
    fd.add_argument("--scratch", required=True, help="a folder for the images and mounts")
    fd.add_argument("--out", required=True, help="writes OUT.json and OUT.md")
    m = sub.add_parser("mkbase", help="an empty filesystem image")
    m.add_argument("--fs", default=DEFAULT_FS)
    m.add_argument("--out", required=True)
    m.add_argument("--size-mib", type=int, help="default: the row's size_mib")
    s = sub.add_parser("scratch", help="a fresh private folder under PARENT")
    s.add_argument("parent")
    s.add_argument("prefix")
    d = sub.add_parser("check-dir", help="refuse a folder someone else controls")
    d.add_argument("dir")
    d.add_argument("--what", default="folder")
    d.add_argument("--private", action="store_true",
                   help="a cache: owned by this user, writable by nobody else")
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
    c.add_argument("--fs", default=DEFAULT_FS, choices=list(FILESYSTEMS))
    c.add_argument("--replay", action="store_true")
    c.add_argument("--states", type=int, default=128,
                   help="crash states per cut (--replay), the kill state included")
    c.add_argument("--subsets", type=int, default=32,
                   help="of them, at most this many subsets of the writes after the last flush")
    c.add_argument("--device-error", action="store_true",
                   help="fail one write request of the writer's disk (qemu blkdebug)")
    c.add_argument("--cut-min", type=float, default=0.0)
    c.add_argument("--cut-max", type=float, default=3.0)
    fi = sub.add_parser("finish", help="write crash.json and the stage record crash-vm.json")
    fi.add_argument("--work", required=True)
    fi.add_argument("--out", required=True)
    fi.add_argument("--seed", required=True, type=int)
    fi.add_argument("--accel", required=True)
    fi.add_argument("--fs", default=[DEFAULT_FS], type=_fs_list_arg,
                    help="the campaign's filesystems, comma-separated")
    fi.add_argument("--replay", action="store_true")
    fi.add_argument("--control", action="append", default=[], metavar="FS:WRITER=RESULT")
    fi.add_argument("--seconds", type=int, default=0)
    fi.add_argument("--cycles-asked", type=int)
    fi.add_argument("--device-errors-asked", type=int, default=0)
    fi.add_argument("--shard", action="store_true",
                    help="a shard's share of the campaign: device errors that reached the "
                         "writer are judged when the shards merge")
    fi.add_argument("--incomplete", default="", metavar="REASON",
                    help="the campaign was cut short (a signal): verdict interrupted")
    fi.add_argument("--error", default="", metavar="REASON",
                    help="the campaign could not run to its end: verdict fail")
    a = ap.parse_args(argv)
    quick = {"fs": lambda: print(fs_field(a.fs, a.field)),
             "mkbase": lambda: make_base(a.fs, a.out, a.size_mib or fs_row(a.fs)["size_mib"]),
             "modules": lambda: print("\n".join("%s %s" % kv for kv in
                                                check_modules(a.kernel_root).items())),
             "scratch": lambda: print(private_dir(a.parent, a.prefix)),
             "check-dir": lambda: check_dir(a.dir, a.what, a.private),
             "fulldisk": lambda: full_disk(a.fs, a.program, a.scratch, a.out)}
    if a.cmd in quick:
        quick[a.cmd]()
        return 0
    if a.cmd == "finish":
        return finish(a)
    signal.signal(signal.SIGTERM, _on_term)
    try:
        if a.cmd == "probe":
            return probe(a)
        return cycle(a)
    except Interrupted:
        sys.stderr.write("crashvm: interrupted (SIGTERM); qemu stopped\n")
        return 143
    except Exception as e:  # CannotRun, or a bug here: never a verdict
        if not isinstance(e, (CannotRun, files.ResultError)):
            import traceback
            traceback.print_exc()
        print("cycle %s %s COULD-NOT-RUN: %s" % (getattr(a, "label", ""),
                                                getattr(a, "writer", ""), e),
              flush=True)
        return 2
