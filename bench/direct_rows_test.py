#!/usr/bin/python3
"""unit.read_direct - the O_DIRECT and io_uring rows of bench_read and bench_ltm (issue 12 section 5).

usage: direct_rows_test.py PATH/TO/bench_read PATH/TO/bench_ltm PATH/TO/scripts

Runs the cold random rows (rec 64 and 4096: mmap, pread, pread_direct,
io_uring_direct qd 1 and 32) once each, and bench_ltm's pread and direct rows
on a 64 MiB file under a 32 MiB cgroup (root only; else their skip is
checked), then checks per row:
  - the counters exist: dev_*, tlb_shootdowns[_per_read], psi_{memory,io}_some_pct;
    TLB -1 exactly when /proc/interrupts has no TLB line, PSI -1 exactly when
    /proc/pressure/<x> is absent, else 0 <= PSI % <= 100 (+ rounding);
  - direct rows bypassed the page cache (resident_after_pct < 1), asked the
    device for whole aligned spans (direct_span_bytes 4096 for rec 64 and
    4096), the device read at least that (dev_read_bytes, device-wide),
    every read has a latency (samples = reads, 0 < p50 <= p99 <= max), and
    max_inflight is the queue depth (1, 1, 32);
then the summary of that run shows the READ alternatives table and the LARGER
THAN MEMORY direct rows. Last, the io_uring rows run under a seccomp filter
that makes io_uring_setup fail with EPERM (what container runtimes do): they
must be skipped with the reason, and the summary must list them as skipped,
not failed. Exit 0 all checks pass, 1 a check failed, 2 usage.
"""
import ctypes
import json
import os
import platform
import shutil
import struct
import subprocess
import sys
import tempfile

COLD = "cache:cold/order:rand"
FAILS = []
CHECKS = [0]


def check(ok, what):
    CHECKS[0] += 1
    if not ok:
        FAILS.append(what)
        print(f"FAIL: {what}")


def rows(path):
    """{run_name: row} of the per-repetition rows of a Google Benchmark JSON."""
    with open(path) as f:
        doc = json.load(f)
    return {r["run_name"]: r for r in doc["benchmarks"] if r.get("run_type") == "iteration"}


def tlb_total():
    """The TLB line of /proc/interrupts summed over CPUs, or None."""
    for line in open("/proc/interrupts"):
        f = line.split()
        if f[:1] == ["TLB:"]:
            return sum(int(x) for x in f[1:] if x.isdigit())
    return None


def psi_total(what):
    """The 'some' total (us) of /proc/pressure/<what>, or None."""
    try:
        first = open(f"/proc/pressure/{what}").readline()
    except OSError:
        return None
    return int(first.split("total=")[1])


def run_driver(binary, flt, out, env=None, preexec=None):
    """Run a driver once per row; its rows. Checks the rows' TLB and PSI
    counters against /proc read around the whole run (a row cannot count
    more than the machine did)."""
    cmd = [binary, f"--benchmark_filter={flt}", "--benchmark_repetitions=1",
           f"--benchmark_out={out}", "--benchmark_out_format=json"]
    t0, io0, m0 = tlb_total(), psi_total("io"), psi_total("memory")
    p = subprocess.run(cmd, env={**os.environ, **(env or {})}, stdout=subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True, preexec_fn=preexec, timeout=300)
    t1, io1, m1 = tlb_total(), psi_total("io"), psi_total("memory")
    if p.returncode != 0:
        print(p.stderr)
        sys.exit(f"direct_rows_test: {os.path.basename(binary)} exited {p.returncode}")
    got = rows(out)
    ok = [r for r in got.values() if "error_message" not in r]
    if t0 is not None and ok:
        n = sum(r.get("tlb_shootdowns", 0) for r in ok)
        check(n <= t1 - t0, f"{os.path.basename(binary)}: rows count {n} TLB shootdowns, the machine {t1 - t0}")
    for what, a, b in (("io", io0, io1), ("memory", m0, m1)):
        if a is None or not ok:
            continue
        us = sum(r.get(f"psi_{what}_some_pct", 0) / 100 * r["real_time"] * r["iterations"] for r in ok)
        check(us <= (b - a) * 1.05 + 1000,
              f"{os.path.basename(binary)}: rows count {us:.0f} us of {what} stall, the machine {b - a}")
    return got


def pressure_ok(r, name):
    has_tlb = any(l.split()[:1] == ["TLB:"] for l in open("/proc/interrupts"))
    for c in ("tlb_shootdowns", "tlb_shootdowns_per_read"):
        v = r.get(c)
        check(v is not None and (v >= 0 if has_tlb else v == -1), f"{name}: {c} = {v}")
    for what in ("memory", "io"):
        v = r.get(f"psi_{what}_some_pct")
        there = os.path.exists(f"/proc/pressure/{what}")
        check(v is not None and ((0 <= v <= 100.5) if there else v == -1),
              f"{name}: psi_{what}_some_pct = {v} (/proc/pressure/{what} present: {there})")


def direct_ok(r, name, reads, span, qd):
    check("error_message" not in r, f"{name}: {r.get('error_message')}")
    if "error_message" in r:
        return
    for c in ("dev_reads", "dev_read_bytes", "own_reads", "read_amp"):
        check(c in r, f"{name}: no {c} counter")
    check(r.get("resident_after_pct", 100) < 1,
          f"{name}: the page cache was filled ({r.get('resident_after_pct')} % resident after)")
    check(r.get("direct_span_bytes") == span if "direct_span_bytes" in r else True,
          f"{name}: direct_span_bytes {r.get('direct_span_bytes')} != {span}")
    check(r.get("dev_read_bytes", 0) >= 0.9 * reads * span,
          f"{name}: the device read {r.get('dev_read_bytes')} bytes for {reads} reads of {span}")
    if r.get("own_reads", -1) >= 0:
        check(r["own_reads"] >= reads, f"{name}: own_reads {r['own_reads']} < {reads} reads")
    check(r.get("samples") == reads, f"{name}: {r.get('samples')} latency samples for {reads} reads")
    check(0 < r.get("p50_ns", 0) <= r.get("p99_ns", 0) <= r.get("max_ns", 0),
          f"{name}: p50/p99/max {r.get('p50_ns')}/{r.get('p99_ns')}/{r.get('max_ns')}")
    check(r.get("max_inflight") == max(qd, 1), f"{name}: max_inflight {r.get('max_inflight')} != {max(qd, 1)}")
    pressure_ok(r, name)


def summary(scripts, folder):
    p = subprocess.run(["/usr/bin/python3", "-m", "mmfresults", "summary", folder], cwd=scripts,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, timeout=120)
    return p.returncode, p.stdout + p.stderr


def no_io_uring():
    """preexec_fn: a seccomp filter that fails io_uring_setup (x86_64: 425) with EPERM."""
    def ins(code, k, jt=0, jf=0):
        return struct.pack("HBBI", code, jt, jf, k)
    ld, jeq, ret = 0x20, 0x15, 0x06
    allow, eperm = 0x7FFF0000, 0x00050000 | 1
    prog = b"".join([ins(ld, 4), ins(jeq, 0xC000003E, 1, 0), ins(ret, allow),   # x86_64 only
                     ins(ld, 0), ins(jeq, 425, 0, 1), ins(ret, eperm), ins(ret, allow)])

    class Fprog(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_char_p)]
    libc = ctypes.CDLL(None, use_errno=True)
    fp = Fprog(len(prog) // 8, prog)
    if libc.prctl(38, 1, 0, 0, 0) != 0 or libc.prctl(22, 2, ctypes.byref(fp), 0, 0) != 0:
        os._exit(99)


def main(argv):
    if len(argv) != 3 or argv[0] in ("-h", "--help"):
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    read_bin, ltm_bin, scripts = argv
    tmp = tempfile.mkdtemp(prefix="mmf-read-direct.")
    try:
        run = os.path.join(tmp, "run")
        os.mkdir(run)
        rr = run_driver(read_bin, f"BM_Read/api:(bytes|pread|pread_direct|io_uring_direct)/.*{COLD}/.*rec:(64|4096)/",
                        os.path.join(run, "bench_read.json"))
        for rec, reads in ((64, 1024), (4096, 1024)):
            for api, qd in (("pread_direct", 0), ("io_uring_direct/qd:1", 1), ("io_uring_direct/qd:32", 32)):
                name = f"BM_Read/api:{api}/{COLD}/madv:none/rec:{rec}/iterations:1/real_time"
                check(name in rr, f"no row {name}")
                if name in rr:
                    direct_ok(rr[name], name, reads, 4096, qd)
            name = f"BM_Read/api:pread/{COLD}/madv:none/rec:{rec}/iterations:1/real_time"
            if name in rr:
                pressure_ok(rr[name], name)
            # A synchronous cold read waits for the disk most of its time:
            # this process alone keeps io "some" pressure up.
            for api in ("pread", "pread_direct"):
                r = rr.get(f"BM_Read/api:{api}/{COLD}/madv:none/rec:{rec}/iterations:1/real_time", {})
                if os.path.exists("/proc/pressure/io"):
                    check(r.get("psi_io_some_pct", 0) > 5,
                          f"{api} rec {rec}: psi_io_some_pct {r.get('psi_io_some_pct')} <= 5 % while "
                          f"waiting for the disk")
        lr = run_driver(ltm_bin, "BM_LTM/api:(pread|pread_direct|io_uring_direct)/",
                        os.path.join(run, "bench_ltm.json"),
                        {"MMF_LTM_FILE_MIB": "64", "MMF_LTM_LIMIT_MIB": "32", "MMF_BENCH_CACHE": "off"})
        tail = "madv:none/file:64MiB/limit:32MiB/rec:4096"
        for api, qd in (("pread_direct", 0), ("io_uring_direct/qd:1", 1), ("io_uring_direct/qd:32", 32)):
            name = f"BM_LTM/api:{api}/{tail}/iterations:1000/real_time"
            check(name in lr, f"no row {name}")
            if name not in lr:
                continue
            if os.geteuid() != 0:
                check(lr[name].get("error_message", "").startswith("skipped:"), f"{name}: not skipped without root")
            else:
                direct_ok(lr[name], name, 1000, 4096, qd)
        rc, text = summary(scripts, run)
        check(rc == 0, f"summary exited {rc}:\n{text}")
        for line in ("READ cold/rand: what a user would pick instead of mmap", "  O_DIRECT pread ",
                     "  io_uring qd32 ", "io_uring qd32 / pread"):
            check(line in text, f"the summary has no line with {line!r}")
        if os.geteuid() == 0:
            ltm = text[text.find("LARGER THAN MEMORY"):]
            check(any(l.startswith("  io_uring qd32") and l.split()[3] != "-" for l in ltm.splitlines()),
                  "LARGER THAN MEMORY has no io_uring qd32 figures")

        if platform.machine() != "x86_64":
            print("skip: the seccomp check knows x86_64's io_uring_setup number only")
        else:
            run2 = os.path.join(tmp, "noring")
            os.mkdir(run2)
            sr = run_driver(read_bin, f"BM_Read/api:(pread_direct|io_uring_direct)/.*{COLD}/.*rec:4096/",
                            os.path.join(run2, "bench_read.json"), preexec=no_io_uring)
            for qd in (1, 32):
                name = f"BM_Read/api:io_uring_direct/qd:{qd}/{COLD}/madv:none/rec:4096/iterations:1/real_time"
                msg = sr.get(name, {}).get("error_message", "")
                check(msg.startswith("skipped: io_uring_queue_init: Operation not permitted"),
                      f"{name} under seccomp: {msg!r}")
            rc, text = summary(scripts, run2)
            check(rc == 0, f"summary of the seccomp run exited {rc}")
            check("io_uring_direct rows skipped: skipped: io_uring_queue_init" in text,
                  "the summary does not say why the io_uring rows are missing")
            check("2 skipped, 0 failed" in text, "the summary does not count the io_uring rows as skipped")
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"read_direct: {CHECKS[0]} checks, {len(FAILS)} failed")
    return 1 if FAILS or CHECKS[0] == 0 else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
