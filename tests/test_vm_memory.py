"""A VM's memory: vm.plan sizes VMs so that each one's worst case
(footprint_mb: guest RAM, TCG's cache, qemu's own) fits beside the grader,
and vm.boot's watchdog stops a qemu that grows past that bound, as the
guest's doing (OVERSIZE), before the kernel's OOM killer would act (its
SIGKILL is an outside end, which the guest must not be able to cause).
A qemu that dies of a fault of its own is the guest's doing too (QEMU_FAULT)."""
import contextlib
import io
import os
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grader"))
import vm  # noqa: E402


class PlanTest(unittest.TestCase):
    def test_gradescope_default_gets_one_small_vm(self):
        slots, guest, cache = vm.plan(768, 1)
        self.assertEqual((slots, guest, cache), (1, 384, 128))
        self.assertLessEqual(vm.footprint_mb(guest, cache) + vm.GRADER_RESERVE_MB, 768)

    def test_room_for_the_default_vm(self):
        self.assertEqual(vm.plan(1536, 1), (1, 512, 256))

    def test_one_vm_per_cpu_as_many_as_the_memory_holds(self):
        self.assertEqual(vm.plan(3072, 2), (2, 512, 256))
        self.assertEqual(vm.plan(3072, 8), (3, 512, 256))
        self.assertEqual(vm.plan(1536, 8), (1, 512, 256))

    def test_every_plan_fits_its_memory(self):
        for memory in range(768, 8192, 64):
            for cpus in (1, 2, 4):
                slots, guest, cache = vm.plan(memory, cpus)
                self.assertLessEqual(slots * vm.footprint_mb(guest, cache) + vm.GRADER_RESERVE_MB,
                                     memory, (memory, cpus))
                self.assertLessEqual(slots, cpus)

    def test_too_little_memory_is_said_up_front(self):
        with self.assertRaisesRegex(ValueError, "needs at least 768 MB.*has 600 MB"):
            vm.plan(600, 2)

    def test_the_command_line(self):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            self.assertEqual(vm.main(["plan", "768", "1"]), 0)
            self.assertEqual(vm.main(["plan", "600", "1"]), 1)
            self.assertEqual(vm.main(["plan", "lots"]), 2)
        self.assertEqual(out.getvalue(), "1 384 128\n")
        self.assertIn("needs at least 768 MB", err.getvalue())

    def test_kvm_has_no_translation_cache(self):
        config = vm.VMConfig("k", "i", "r", accel="kvm", memory_mb=512)
        self.assertEqual(config.footprint_mb, 512 + vm.QEMU_OVERHEAD_MB)
        config = vm.VMConfig("k", "i", "r", memory_mb=384, tb_size_mb=128)
        self.assertEqual(config.footprint_mb, 384 + 128 + vm.QEMU_OVERHEAD_MB)


class Hog(vm.VMConfig):
    """A "qemu" that takes 200 MB and waits, with a bound of 150 MB."""

    def command(self, job_dir, stream_path, console_path=None, mode="grade", **_):
        return [sys.executable, "-c", "import time; x = b'1' * (200 << 20); time.sleep(60)"]

    @property
    def footprint_mb(self):
        return 150


class Segfault(vm.VMConfig):
    """A "qemu" that dies of SIGSEGV of its own."""

    def command(self, job_dir, stream_path, console_path=None, mode="grade", **_):
        return [sys.executable, "-c", "import os, signal; os.kill(os.getpid(), signal.SIGSEGV)"]


class Reader:
    def feed(self, data):
        pass


class WatchdogTest(unittest.TestCase):
    def setUp(self):
        # (another test may leave the grader "interrupted")
        was = vm.STOP.is_set()
        vm.STOP.clear()
        self.addCleanup(lambda: vm.STOP.set() if was else None)

    def test_a_qemu_past_its_bound_is_stopped_as_the_guest_s_doing(self):
        with tempfile.TemporaryDirectory() as out:
            got = vm.boot(Hog("k", "i", "r"), out, out, Reader(), idle_limit=30, total_limit=30)
        self.assertEqual(got.end, vm.OVERSIZE)
        self.assertIn("more than the 150 MB a VM may", got.killed_reason)
        self.assertGreater(got.peak_mb, 150)
        self.assertLess(got.seconds, 20)


    def test_a_qemu_that_crashes_itself_is_a_qemu_fault(self):
        with tempfile.TemporaryDirectory() as out:
            got = vm.boot(Segfault("k", "i", "r"), out, out, Reader(), idle_limit=30,
                          total_limit=30)
        self.assertEqual(got.end, vm.QEMU_FAULT)
        self.assertIn("qemu itself crashed (SIGSEGV)", got.killed_reason)


class SignalExitTest(unittest.TestCase):
    def test_only_qemu_s_own_line_counts(self):
        self.assertTrue(vm.QEMU_SIGNAL_EXIT.match("terminating on signal 15 from pid 42 (bash)"))
        self.assertTrue(vm.QEMU_SIGNAL_EXIT.match("terminating on signal 2"))
        # A message with guest-chosen text in it is not qemu's signal handler.
        self.assertFalse(vm.QEMU_SIGNAL_EXIT.match("9p: bad name 'terminating on signal 15'"))
        self.assertFalse(vm.QEMU_SIGNAL_EXIT.match("terminating on signal 15 from pid 4 (a) x"))


if __name__ == "__main__":
    unittest.main()
