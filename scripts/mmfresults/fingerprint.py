"""Machine identity for the performance history (issue 15 section 2).

A fingerprint is 16 hex digits of the SHA-256 of the canonical JSON of the
machine's components, chosen to stay the same across reboots and to change
when the hardware or its setup changes:

  cpu_model      /proc/cpuinfo "model name"
  cpus           online CPUs (os.cpu_count())
  memory_gib     MemTotal rounded to whole GiB (the exact figure moves by a few
                 kB between boots and kernels)
  kernel         uname -r
  fs, mount_options, device
                 the filesystem holding the benchmark folder (default /var/tmp,
                 where scripts/bench works): type, the mount's and the
                 superblock's options (sorted), the block device's name
  device_model   /sys/block/<dev>/device/model (else vendor, else the driver)
  rotational     /sys/block/<dev>/queue/rotational
  cgroup_memory_max, cgroup_cpu_max
                 the limits of this process's cgroup (v2 memory.max / cpu.max,
                 v1 memory.limit_in_bytes / cpu.cfs_quota_us and period);
                 the limits, never the cgroup's path (it is per session)

Never clock speed, bogomips, load, free memory or uptime: they change from
boot to boot or minute to minute.

A run folder carries its machine in machine.json (this module's `fingerprint
--out DIR`). A folder without it gets a partial fingerprint from its
context.json (cpu_model, cpus, memory_gib, kernel, fs, device: what
scripts/bench records there), marked partial; partial and full fingerprints
of one machine differ, so a store keeps them apart (say so when comparing).
"""
import hashlib
import json
import os
import platform

from . import files
from .runfolder import parser

PARTIAL = "context.json"


def _read(path):
    try:
        with open(path) as f:
            return f.read().strip()
    except OSError:
        return None


def _cpu_model():
    text = _read("/proc/cpuinfo") or ""
    for line in text.splitlines():
        k, _, v = line.partition(":")
        if k.strip() in ("model name", "Processor", "cpu model"):
            return v.strip()
    return platform.processor() or "unknown"


def _memory_gib():
    for line in (_read("/proc/meminfo") or "").splitlines():
        if line.startswith("MemTotal:"):
            return round(int(line.split()[1]) / 2**20)
    return None


def _unescape(s):
    """mountinfo escapes space, tab, newline and backslash as \\ooo."""
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\" and s[i + 1:i + 4].isdigit():
            out.append(chr(int(s[i + 1:i + 4], 8)))
            i += 4
        else:
            out.append(s[i])
            i += 1
    return "".join(out)


def _mount_of(path):
    """(fstype, sorted options, source) of the mount holding path."""
    path = os.path.realpath(path)
    best = None
    for line in (_read("/proc/self/mountinfo") or "").splitlines():
        left, _, right = line.partition(" - ")
        lf, rf = left.split(), right.split()
        if len(lf) < 6 or len(rf) < 3:
            continue
        point = _unescape(lf[4])
        inside = path == point or path.startswith(point.rstrip("/") + "/")
        if inside and (best is None or len(point) >= len(best[0])):
            opts = sorted(set(lf[5].split(",")) | set(rf[2].split(",")))
            best = (point, rf[0], opts, _unescape(rf[1]))
    if best is None:
        return None, [], None
    return best[1], best[2], best[3]


def _block_device(source):
    """'/dev/vda1' -> ('vda1', 'vda'): the device and the disk holding it."""
    if not source or not source.startswith("/dev/"):
        return None, None
    dev = os.path.basename(os.path.realpath(source))
    sys_dev = os.path.realpath(f"/sys/class/block/{dev}")
    if not os.path.exists(sys_dev):
        return dev, None
    disk = dev if os.path.exists(f"/sys/block/{dev}") else os.path.basename(os.path.dirname(sys_dev))
    return dev, disk


def _device_model(disk):
    if not disk:
        return None
    base = f"/sys/block/{disk}/device"
    for leaf in ("model", "vendor"):
        v = _read(f"{base}/{leaf}")
        if v:
            return v
    drv = os.path.realpath(f"{base}/driver")
    return os.path.basename(drv) if os.path.exists(drv) else None


def _cgroup_limits():
    """(memory max, cpu max) of this process's cgroup, as text ('max' = none)."""
    mem = cpu = None
    for line in (_read("/proc/self/cgroup") or "").splitlines():
        hid, ctrls, path = line.split(":", 2)
        ctrls = ctrls.split(",")
        if hid == "0" and not ctrls[0]:
            mem = _read(f"/sys/fs/cgroup{path}/memory.max") or mem
            cpu = _read(f"/sys/fs/cgroup{path}/cpu.max") or cpu
        if "memory" in ctrls:
            v = _read(f"/sys/fs/cgroup/memory{path}/memory.limit_in_bytes")
            mem = ("max" if v and int(v) >= 2**62 else v) or mem
        if "cpu" in ctrls:
            q = _read(f"/sys/fs/cgroup/cpu{path}/cpu.cfs_quota_us")
            p = _read(f"/sys/fs/cgroup/cpu{path}/cpu.cfs_period_us")
            if q and p:
                cpu = f"{'max' if q == '-1' else q} {p}"
    return mem or "max", cpu or "max"


def this_machine(bench_dir="/var/tmp"):
    """The components of the machine this runs on (dict of str/int)."""
    fs, opts, source = _mount_of(bench_dir)
    dev, disk = _block_device(source)
    mem, cpu = _cgroup_limits()
    rot = _read(f"/sys/block/{disk}/queue/rotational") if disk else None
    return {
        "cpu_model": _cpu_model(), "cpus": os.cpu_count(), "memory_gib": _memory_gib(),
        "kernel": platform.release(), "fs": fs, "mount_options": ",".join(opts),
        "device": dev, "device_model": _device_model(disk),
        "rotational": None if rot is None else rot == "1",
        "cgroup_memory_max": mem, "cgroup_cpu_max": cpu,
    }


def from_context(ctx):
    """The partial components of a run folder's context.json (scripts/bench)."""
    mem = ctx.get("memory_bytes")
    return {
        "partial": PARTIAL,
        "cpu_model": ctx.get("cpu_model"), "cpus": ctx.get("cpus"),
        "memory_gib": round(mem / 2**30) if isinstance(mem, (int, float)) else None,
        "kernel": ctx.get("kernel"), "fs": ctx.get("bench_fs"), "device": ctx.get("bench_device"),
    }


def fingerprint(components):
    """16 hex digits identifying components (a dict)."""
    canon = json.dumps(components, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canon.encode()).hexdigest()[:16]


def summary(components):
    """One line a person recognises: 'AMD EPYC, 2 cpus, 24 GiB, 6.18.44, ext4 on vda'."""
    c = components
    parts = [str(c.get("cpu_model")), f"{c.get('cpus')} cpus", f"{c.get('memory_gib')} GiB",
             str(c.get("kernel")), f"{c.get('fs')} on {c.get('device')}"]
    if c.get("cgroup_memory_max") not in (None, "max"):
        parts.append(f"cgroup memory {c['cgroup_memory_max']}")
    if c.get("partial"):
        parts.append("partial")
    return ", ".join(parts)


def of_run(folder):
    """(components, where from) of a run folder: machine.json, else context.json."""
    p = os.path.join(folder, "machine.json")
    if os.path.exists(p):
        doc = files.load_json(p, "machine fingerprint")
        comp = doc.get("components")
        if not isinstance(comp, dict):
            raise files.ResultError(f"{p}: machine fingerprint has no 'components' object")
        return comp, "machine.json"
    c = os.path.join(folder, "context.json")
    if os.path.exists(c):
        return from_context(files.load_json(c, "run context")), "context.json (partial)"
    return None, None


def main(argv):
    ap = parser("history fingerprint", "Print this machine's fingerprint and its components; "
                "with --out DIR also write DIR/machine.json, which `history ingest` uses.")
    ap.add_argument("--dir", default="/var/tmp",
                    help="the folder the benchmarks work in (its filesystem and device count)")
    ap.add_argument("--out", metavar="DIR", help="write DIR/machine.json")
    a = ap.parse_args(argv)
    if not os.path.isdir(a.dir):
        ap.error(f"--dir {a.dir}: no such folder")
    comp = this_machine(a.dir)
    fp = fingerprint(comp)
    if a.out:
        os.makedirs(a.out, exist_ok=True)
        files.write_json(os.path.join(a.out, "machine.json"),
                         {"fingerprint": fp, "summary": summary(comp), "components": comp})
    print(f"machine {fp}: {summary(comp)}")
    for k in sorted(comp):
        print(f"  {k:<18} {comp[k]}")
    return 0
