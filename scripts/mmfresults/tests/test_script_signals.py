"""The bash scripts' signal and cache guards (scripts/lib.sh and its users),
on the copy of scripts/ with fake build tools of test_script_guards: SIGTERM
while a script waits for the build lock, during a build or a ctest run, or
inside a stage of scripts/run, acts at once (exit 143, nothing left
running, the stage recorded as interrupted); a cache folder (crash-vm's
kernel) is whole or absent; crash-kill on a full scratch filesystem says so
instead of claiming a violation."""
import os
import shutil
import subprocess
import unittest

from mmfresults import files
from mmfresults.tests.test_script_guards import GuardsBase, needs_root, read, write

TOP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


class ScriptSignalsTest(GuardsBase):
    def test_sigterm_while_waiting_for_the_build_lock(self):
        waiting = lambda out: "waiting" in read(out)
        self.t.configured("release")
        cases = [
            ([self.t.script("test"), "-L", "unit"], "dev"),
            ([self.t.script("crash-kill"), "--cycles", "1", "--dir", self.tmp,
              "--out", os.path.join(self.tmp, "ck")], "release"),
            ([self.t.script("run"), "--only", "demo", "--out", os.path.join(self.tmp, "run")],
             "release"),
        ]
        for args, preset in cases:
            with self.subTest(script=os.path.basename(args[0])):
                self.interrupt(args, waiting, os.path.join(self.t.top, "build", f".{preset}.lock"))
        self.assertNotIn("--build", " ".join(self.t.calls()), "built while another held the lock")

    def test_sigterm_during_a_build_and_a_ctest_run(self):
        pid = lambda tool: os.path.join(self.t.fake, tool + ".pid")
        self.t.configured("dev")
        for tool in ("cmake", "ctest"):
            with self.subTest(tool=tool):
                self.t.mode("cmake", "sleep" if tool == "cmake" else "ok")
                self.t.mode("ctest", "sleep" if tool == "ctest" else "ok")
                self.interrupt([self.t.script("test"), "-L", "unit"],
                               lambda out: os.path.exists(pid(tool)))
                tp = int(read(pid(tool)))
                self.assertFalse(os.path.exists(f"/proc/{tp}"), f"fake {tool} still running")
                os.unlink(pid(tool))

    def test_interrupted_stage_is_recorded_and_the_run_stays_incomplete(self):
        pidf = os.path.join(self.tmp, "demo.pid")
        self.demo(f"echo $$ >{pidf}\nexec sleep 60\n")
        run = os.path.join(self.tmp, "run")
        out, _ = self.interrupt([self.t.script("run"), "--only", "demo", "--out", run],
                                lambda out: os.path.exists(pidf))
        self.assertRegex(out, r"demo\s+INTERRUPTED")     # the run's summary says so
        rec = files.read_stage(run, "demo")
        self.assertEqual(rec["verdict"], "interrupted", rec)
        self.assertIn("SIGTERM", rec["reason"])
        self.assertTrue(os.path.exists(os.path.join(run, "INCOMPLETE")))
        with self.assertRaises(files.ResultError):
            files.check_complete(run)

    def test_cache_fill_is_whole_or_absent(self):
        dest = os.path.join(self.tmp, "cache", "kernel")
        os.makedirs(os.path.join(dest, "boot"))
        write(os.path.join(dest, "boot", "half"), "an interrupted unpack\n")
        fill = ('fill() { echo new >"$1/vmlinuz"; [ -z "${SLOW:-}" ] || { echo $$ >"$SLOW"; sleep 60; }; }; '
                'mmf_traps; cache_ready "$1" && echo ready; cache_fill "$1" fill && cache_ready "$1" && echo filled')
        p = self.t.lib(fill, dest)
        self.assertEqual(p.stdout.split(), ["filled"], p.stdout + p.stderr)   # the half one was not ready
        self.assertEqual(sorted(os.listdir(dest)), [".complete", "vmlinuz"])
        shutil.rmtree(dest)
        slow = os.path.join(self.tmp, "slow")
        self.t.env["SLOW"] = slow
        self.interrupt(["bash", "-c", f'. "{self.t.script("lib.sh")}"; {fill}', "_", dest],
                       lambda out: os.path.exists(slow))
        self.assertEqual(os.listdir(os.path.dirname(dest)), [], "a half cache or temporary folder was left")

    def crash_vm_fakes(self):
        """apt-cache/apt-get that serve a tiny kernel package (FAKE/kernel.deb;
        apt-get sleeps when FAKE/apt-get.mode says so), and stand-ins for the
        guest tools crash-vm looks for (nothing past the kernel is run here)."""
        f = self.t.fake
        pkg = os.path.join(self.tmp, "pkg")
        os.makedirs(os.path.join(pkg, "boot"))
        os.makedirs(os.path.join(pkg, "DEBIAN"))
        write(os.path.join(pkg, "boot", "vmlinuz-9.9-cloud-amd64"), "a kernel\n")
        write(os.path.join(pkg, "DEBIAN", "control"),
              "Package: linux-image-9.9-cloud-amd64\nVersion: 1\nArchitecture: all\n"
              "Maintainer: test <t@example.org>\nDescription: a fake kernel\n")
        subprocess.run(["dpkg-deb", "--build", pkg, os.path.join(f, "kernel.deb")],
                       check=True, capture_output=True)
        write(os.path.join(f, "apt-cache"), "#!/bin/bash\necho '  Depends: linux-image-9.9-cloud-amd64'\n", 0o755)
        write(os.path.join(f, "apt-get"),
              f'#!/bin/bash\necho "apt-get $*" >>{f}/calls\n'
              f'[ "$(cat {f}/apt-get.mode 2>/dev/null)" != sleep ] || {{ echo $$ >{f}/apt-get.pid; exec sleep 60; }}\n'
              f'cp {f}/kernel.deb "$2_1_all.deb"\n', 0o755)
        for tool in ("qemu-system-x86_64", "busybox", "cpio", "strip", "modinfo", "e2fsck", "mkfs.ext4"):
            if not shutil.which(tool):
                write(os.path.join(f, tool), "#!/bin/sh\nexit 1\n", 0o755)
        self.t.configured("release")
        return os.path.join(self.t.top, "build", "crash-vm-cache")

    def test_crash_vm_kernel_cache_is_whole_or_absent(self):
        if os.geteuid() != 0:
            self.skipTest("skipped: needs root (crash-vm skips as another user before its cache)")
        cache = self.crash_vm_fakes()
        kernel = os.path.join(cache, "kernel")
        # A half cache of an older version (no stamp) is made again.
        os.makedirs(os.path.join(kernel, "boot"), mode=0o700)
        os.chmod(cache, 0o700)
        write(os.path.join(kernel, "boot", "vmlinuz-half"), "")
        self.t.run(self.t.script("crash-vm"), "--cycles", "1", "--out", os.path.join(self.tmp, "cv"))
        self.assertTrue(os.path.exists(os.path.join(kernel, ".complete")), os.listdir(kernel))
        self.assertEqual(sorted(os.listdir(os.path.join(kernel, "boot"))), ["vmlinuz-9.9-cloud-amd64"])
        self.assertEqual([n for n in os.listdir(cache) if n.startswith("kernel")], ["kernel"])
        # A first run cut short while fetching leaves no kernel folder at all.
        shutil.rmtree(kernel)
        self.t.mode("apt-get", "sleep")
        self.interrupt([self.t.script("crash-vm"), "--cycles", "1", "--out", os.path.join(self.tmp, "cv2")],
                       lambda out: os.path.exists(os.path.join(self.t.fake, "apt-get.pid")))
        self.assertEqual([n for n in os.listdir(cache) if n.startswith("kernel")], [],
                         "a half-unpacked kernel or its temporary folder was left")

    def test_crash_kill_on_a_full_scratch_filesystem(self):
        needs_root(self)
        crash = os.environ.get("MMF_CRASH_BIN")
        if not crash or not os.path.exists(os.path.join(crash, "mmf_crash_writer")):
            self.skipTest("skipped: MMF_CRASH_BIN (the crash writer's build folder) not set: run through ctest")
        rel = self.t.configured("release")
        os.makedirs(os.path.join(rel, "faults"))
        os.symlink(crash, os.path.join(rel, "faults", "crash"))
        m = self.mount("scratch", "256k")
        m.fill(leave=8192)
        out = os.path.join(self.tmp, "ck")
        p = self.t.run(self.t.script("crash-kill"), "--cycles", "3", "--seed", "1",
                       "--dir", m.path, "--out", out)
        self.assertEqual(p.returncode, 1, p.stdout + p.stderr)
        self.assertIn("the scratch filesystem is full", p.stderr)
        self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
        self.assertNotIn("VIOLATION", p.stdout)
        self.assertNotIn("reproduce", p.stdout)
        self.assertEqual(sorted(os.listdir(m.path)), [".filler"], "scratch left behind")
        rec = files.read_stage(out, "crash-kill")
        self.assertEqual(rec["verdict"], "fail")
        self.assertIn("scratch filesystem is full", rec["reason"])
        self.assertEqual(rec["counts"]["violations"], 0, rec)


if __name__ == "__main__":
    unittest.main()
