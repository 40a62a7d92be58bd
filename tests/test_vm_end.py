"""vm._ended_by_itself: only what comes from outside qemu (the OOM killer's
SIGKILL, a TA's SIGTERM, qemu's own "terminating on signal") is an OUTSIDE
end, which the grader retries and never charges to the student; a qemu
the guest may have crashed or made exit is the guest's doing (QEMU_FAULT:
charged like a crash, and flagged for review by rounds.judge)."""
import os
import signal
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "grader"))
import vm  # noqa: E402


def end(status, qemu_log=""):
    with tempfile.NamedTemporaryFile("w", suffix=".log", delete=False) as f:
        f.write(qemu_log)
    try:
        return vm._ended_by_itself(status, f.name)
    finally:
        os.unlink(f.name)


class EndTest(unittest.TestCase):
    def test_a_guest_that_powered_off_or_panicked(self):
        self.assertEqual(end(0), ("", vm.ENDED))
        self.assertEqual(end(1), ("", vm.ENDED))

    def test_signals_from_outside(self):
        for sig in (signal.SIGKILL, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            reason, how = end(-sig)
            self.assertEqual(how, vm.OUTSIDE, sig)
            self.assertIn(signal.Signals(sig).name, reason)
        self.assertIn("OOM killer", end(-signal.SIGKILL)[0])

    def test_qemu_s_own_handler_of_a_signal(self):
        log = "qemu-system-x86_64: terminating on signal 15 from pid 4242 (bash)\n"
        self.assertEqual(end(0, log)[1], vm.OUTSIDE)

    def test_a_qemu_the_guest_may_have_crashed_is_not_outside(self):
        for sig in (signal.SIGSEGV, signal.SIGABRT, signal.SIGBUS):
            reason, how = end(-sig, "qemu-system-x86_64: ../hw/virtio/virtio.c:1: assertion failed\n")
            self.assertEqual(how, vm.QEMU_FAULT, sig)
            self.assertIn("crashed", reason)

    def test_an_emulation_error_exit_is_not_outside(self):
        reason, how = end(1, "qemu-system-x86_64: virtio: zero sized buffers are not allowed\n")
        self.assertEqual(how, vm.QEMU_FAULT)
        self.assertIn("zero sized buffers", reason)
        self.assertEqual(end(3, "")[1], vm.QEMU_FAULT)

    def test_warnings_are_not_errors(self):
        self.assertEqual(end(0, "qemu-system-x86_64: warning: host doesn't support x\n"), ("", vm.ENDED))


if __name__ == "__main__":
    unittest.main()
