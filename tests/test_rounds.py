"""How VM rounds become scores: rounds.judge on canned streams (a crash
mid-test, a hang, a restart request, tampering, a qemu killed from outside,
a VM that never booted), and PartGrader.run_rounds with a fake VM that
sends authenticated records (retries, grader errors, dirty logs)."""
import os
import shutil
import sys
import tempfile
import unittest
from unittest import mock

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "grader"))
sys.path.insert(0, os.path.join(ROOT, "grader", "guest-lib"))
import grade  # noqa: E402
import records  # noqa: E402
import rounds  # noqa: E402
import tap  # noqa: E402
import vm  # noqa: E402
from parts import GraderError, discover_parts  # noqa: E402

PART = discover_parts([2])[0]
SPECS = PART.tests
LOG_TEST = "the kernel log shows no oops, BUG, WARNING or flood, and no taint but O and E"
RMMOD_TEST = "rmmod removes /proc/timer"
# The tests up to and including RMMOD_TEST: a restart after it names it.
UP_TO_RMMOD = next(i for i, s in enumerate(SPECS) if s.title == RMMOD_TEST) + 1
RESTART = ("T", f"@@restart '{RMMOD_TEST}' left /proc/timer behind")
KEY = b"k" * 32
OOPS = ("[   12.5] BUG: kernel NULL pointer dereference, address: 0000000000000000\n"
        "[   12.5] RIP: 0010:my_timer_read+0x15/0x2b [my_timer]\n")


def start(titles):
    return [("A", "boot 1.0"), ("A", "bats-start 2.0"), ("T", f"1..{len(titles)}")]


def passing(titles, first=1):
    return [("T", f"ok {i} {t} in 5ms") for i, t in enumerate(titles, first)]


def finish(status=0, tainted=12288):
    return [("A", f"bats-exit {status} 30.0"), ("A", f"tainted {tainted}"), ("A", "done")]


def encode(key, items):
    return b"".join(records.encode(key, i, ch, records.escape(text))
                    for i, (ch, text) in enumerate(items))


def ended(end=vm.ENDED, console="", reason="", over_cap=""):
    return vm.VMResult(console=console, exit_code=0, killed_reason=reason, seconds=1.0,
                       over_cap=over_cap, end=end)


def judge(items, end=vm.ENDED, remaining=None, **got):
    """rounds.judge of a round running `remaining` (default: the whole
    suite) that sent items and ended so."""
    remaining = list(range(len(SPECS))) if remaining is None else remaining
    titles = [SPECS[i].title for i in remaining]
    stream = tap.read_all(KEY, titles, encode(KEY, items(titles) if callable(items) else items))
    return rounds.judge(SPECS, remaining, stream, ended(end, **got), name="round1")


class JudgeTest(unittest.TestCase):
    """rounds.judge alone: no VM, no files."""

    def test_an_honest_round_passes_everything_and_ends_the_part(self):
        r = judge(lambda ts: start(ts) + passing(ts) + finish())
        self.assertEqual({v.status for v in r.verdicts.values()}, {"passed"})
        self.assertEqual(len(r.verdicts), len(SPECS))
        self.assertEqual((r.next, r.crash, r.environment, r.tampered), ([], None, "", []))

    def test_a_crash_mid_test_blames_that_test_and_goes_on_after_it(self):
        r = judge(lambda ts: start(ts) + passing(ts[:3]), console=OOPS)
        self.assertEqual([r.verdicts[i].status for i in range(3)], ["passed"] * 3)
        self.assertEqual(r.verdicts[3].status, "crashed")
        self.assertIn("NULL pointer dereference", r.verdicts[3].output)
        self.assertEqual(r.next, list(range(4, len(SPECS))))
        self.assertEqual(r.crash[0], SPECS[3].title)

    def test_a_silent_vm_is_a_timeout_not_a_crash(self):
        for end in (vm.SILENT, vm.OVERTIME):
            r = judge(lambda ts: start(ts) + passing(ts[:2]), end=end, reason="no result for 65 s")
            self.assertEqual(r.verdicts[2].status, "timeout", end)
            self.assertEqual(r.next, list(range(3, len(SPECS))))

    def test_a_round_out_of_time_says_so_not_that_the_test_hung(self):
        r = judge(lambda ts: start(ts) + passing(ts[:2]), end=vm.SILENT, reason="no result for 65 s")
        self.assertIn(f"did not finish within {SPECS[2].timeout} s", r.verdicts[2].output)
        r = judge(lambda ts: start(ts) + passing(ts[:2]), end=vm.OVERTIME,
                  reason="ran past its time limit of 400 s")
        self.assertIn("the VM ran past its time limit of 400 s while this test ran",
                      r.verdicts[2].output)
        self.assertNotIn("did not finish within", r.verdicts[2].output)

    def test_a_vm_past_its_memory_bound_is_the_running_test_s_crash(self):
        """Not an outside end: the guest drove qemu there, the grader stopped it."""
        r = judge(lambda ts: start(ts) + passing(ts[:2]), end=vm.OVERSIZE,
                  reason="qemu used 700 MB, more than the 640 MB a VM may")
        self.assertEqual(r.verdicts[2].status, "crashed")
        self.assertIn("more than the 640 MB a VM may", r.verdicts[2].output)
        self.assertEqual(r.crash[0], SPECS[2].title)
        self.assertEqual((r.environment, r.next), ("", list(range(3, len(SPECS)))))

    def test_qemu_failing_is_the_running_test_s_crash_and_a_ta_s_review(self):
        """Nobody else signalled qemu, so the guest is charged; qemu's own bug
        is possible, so a TA looks (the review flag)."""
        r = judge(lambda ts: start(ts) + passing(ts[:2]), end=vm.QEMU_FAULT,
                  reason="qemu itself crashed (SIGSEGV)")
        self.assertEqual(r.verdicts[2].status, "crashed")
        self.assertIn("the emulator running the VM failed while this test ran", r.verdicts[2].output)
        self.assertIn("qemu itself crashed (SIGSEGV)", r.review)
        self.assertIn(SPECS[2].title, r.review)
        self.assertEqual((r.environment, r.next), ("", list(range(3, len(SPECS)))))
        # After the last result: nothing to blame, still a crash and a review.
        r = judge(lambda ts: start(ts) + passing(ts), end=vm.QEMU_FAULT,
                  reason="qemu exited with status 3: no message")
        self.assertEqual({v.status for v in r.verdicts.values()}, {"passed"})
        self.assertEqual(r.crash[0], "after the last test")
        self.assertIn("after the last test", r.review)
        # A panic (pvpanic's exit-failure) is no review.
        self.assertEqual(judge(lambda ts: start(ts) + passing(ts[:2])).review, "")

    def test_the_words_of_a_reason_do_not_decide_timeout(self):
        """A panic whose console happens to say "no result" is still a crash."""
        r = judge(lambda ts: start(ts) + passing(ts[:2]), console="no result for 9 s\n",
                  reason="no result for 65 s")
        self.assertEqual(r.verdicts[2].status, "crashed")

    def test_a_restart_request_runs_the_rest_in_a_fresh_vm(self):
        r = judge(lambda ts: start(ts) + passing(ts[:UP_TO_RMMOD])
                  + [RESTART, ("K", "[    3.1] WARNING: at x"), ("A", "tainted 12288")])
        self.assertIn("left /proc/timer behind", r.restart)
        self.assertIn("WARNING: at x", r.dirty)
        self.assertEqual(r.next, list(range(UP_TO_RMMOD, len(SPECS))))
        self.assertIsNone(r.crash)
        self.assertEqual(r.tampered, [])
        self.assertNotIn(UP_TO_RMMOD, r.verdicts)

    def test_a_restart_before_any_result_is_tampering(self):
        """A fresh VM cannot be dirty: only student code can send this, and
        honouring it would boot fresh VMs for the same tests again and again."""
        r = judge(lambda ts: start(ts) + [RESTART, ("A", "tainted 12288")])
        self.assertIn("before any test of this VM had reported", r.tampered[0])
        self.assertEqual({v.status for v in r.verdicts.values()}, {"failed"})
        self.assertEqual((r.next, r.restart), ([], ""))
        self.assertIn("results tampered", r.verdicts[0].output)

    def test_a_restart_naming_another_test_than_the_last_is_tampering(self):
        r = judge(lambda ts: start(ts) + passing(ts[:UP_TO_RMMOD - 1])
                  + [RESTART, ("A", "tainted 12288")])
        self.assertIn("does not name the test reported last", r.tampered[0])
        self.assertIn(SPECS[UP_TO_RMMOD - 2].title, r.tampered[0])
        self.assertEqual(r.next, [])

    def test_tampering_fails_every_test_of_the_round(self):
        r = judge(lambda ts: start(ts) + [("T", f"ok 1 {ts[0]} in 1ms")] + passing(ts) + finish())
        self.assertTrue(r.tampered)
        self.assertEqual({v.status for v in r.verdicts.values()}, {"failed"})
        self.assertEqual(len(r.verdicts), len(SPECS))
        self.assertIn("round1", r.verdicts[0].output)
        self.assertEqual(r.next, [])

    def test_a_flood_is_tampering(self):
        r = judge(lambda ts: start(ts) + passing(ts[:1]), end=vm.FLOOD,
                  over_cap="the results port (more than 4 MB)")
        self.assertIn("wrote too much", r.tampered[0])
        self.assertEqual(r.verdicts[0].status, "failed")

    def test_a_vm_killed_from_outside_is_nobody_s_verdict(self):
        r = judge(lambda ts: start(ts) + passing(ts[:5]), end=vm.OUTSIDE,
                  reason="qemu was killed by SIGKILL from outside the grader", console=OOPS)
        self.assertIn("SIGKILL", r.environment)
        self.assertEqual(sorted(r.verdicts), [0, 1, 2, 3, 4])
        self.assertEqual(r.next, list(range(5, len(SPECS))))
        self.assertIsNone(r.crash)

    def test_a_vm_that_never_reached_the_agent_proves_nothing(self):
        for end in (vm.ENDED, vm.SILENT, vm.FLOOD):
            r = judge([], end=end, console=OOPS)
            self.assertTrue(r.environment, end)
            self.assertEqual((r.verdicts, r.next, r.tampered), ({}, list(range(len(SPECS))), []))

    def test_bats_ending_without_some_tests_is_a_suite_error(self):
        r = judge(lambda ts: start(ts) + passing(ts[:2]) + finish(status=1))
        self.assertEqual(r.verdicts[2].status, "not run")
        self.assertEqual(r.next, [])

    def test_a_crash_after_the_last_result_is_still_a_crash(self):
        r = judge(lambda ts: start(ts) + passing(ts), console=OOPS)
        self.assertEqual({v.status for v in r.verdicts.values()}, {"passed"})
        self.assertEqual(r.crash[0], "after the last test")

    def test_settle_fails_the_clean_log_test_after_a_crash(self):
        log = next(i for i, s in enumerate(SPECS) if s.title == LOG_TEST)
        verdicts = {i: rounds.Verdict("passed") for i in range(len(SPECS))}
        notes = rounds.settle(SPECS, verdicts, [("t", "oops")], [], [])
        self.assertEqual([i for i, v in verdicts.items() if not v.passed], [log])
        self.assertIn("crashed or hung 1 time", notes[0])


def grade_rounds(*scripts, end=vm.ENDED):
    """Part 2's result when VM round i sends what scripts[i](titles) says
    (a script may return (items, end) to end its VM otherwise)."""
    script = iter(scripts)

    def boot(config, job, logs, reader, limit, total, prefix, secret_path):
        with open(secret_path) as f:
            key = bytes.fromhex(f.read().strip())
        sent = next(script)(reader.titles)
        items, how = sent if isinstance(sent, tuple) else (sent, end)
        reader.feed(encode(key, items))
        reason = {vm.OUTSIDE: "qemu was killed by SIGKILL from outside the grader",
                  vm.QEMU_FAULT: "qemu itself crashed (SIGSEGV)"}.get(how, "")
        return ended(how, reason=reason)

    work = tempfile.mkdtemp()
    try:
        g = grade.PartGrader(PART, {"VMLINUX": "", "INITRAMFS": "", "ROOTFS": ""}, None,
                             work, os.path.join(work, "logs"), "logs/part2_timer")
        g.prepare_job()
        os.makedirs(g.logs)
        results = [grade.new_test_result(PART, s) for s in PART.tests]
        g.result.tests = results
        with mock.patch.object(vm, "boot", boot):
            g.run_rounds(results)
        return g.result
    finally:
        shutil.rmtree(work)


class RunRoundsTest(unittest.TestCase):
    def test_one_honest_round(self):
        r = grade_rounds(lambda ts: start(ts) + passing(ts) + finish())
        self.assertEqual((r.score, r.flags), (r.max_score, []))

    def restart_round(self, tainted, log_line):
        def first(ts):
            return (start(ts) + passing(ts[:UP_TO_RMMOD])
                    + [RESTART, ("K", log_line), ("A", f"tainted {tainted}")])
        return grade_rounds(first, lambda ts: start(ts) + passing(ts) + finish())

    def test_a_restart_with_a_clean_log(self):
        r = self.restart_round(12288, "[    3.1] my_timer: created /proc/timer")
        self.assertEqual((r.score, r.flags), (r.max_score, []))

    def test_a_restart_does_not_launder_a_dirty_log(self):
        for tainted, line in ((12289, "[    3.1] fine"), (12288, "[    3.1] WARNING: at x")):
            r = self.restart_round(tainted, line)
            log = next(t for t in r.tests if t.title == LOG_TEST)
            self.assertFalse(log.passed, (tainted, line))
            self.assertIn("before a restart", log.output)
            self.assertEqual(r.score, r.max_score - log.max_score)

    def test_a_restart_asked_by_every_fresh_vm_is_tampering_not_a_grader_error(self):
        """Honoured, it would boot a fresh VM per round for the same tests
        until 'too many VM rounds': a grader error the submission caused."""
        r = grade_rounds(lambda ts: start(ts) + passing(ts[:UP_TO_RMMOD])
                         + [RESTART, ("K", "[    3.1] fine"), ("A", "tainted 12288")],
                         *[lambda ts: start(ts) + [RESTART, ("A", "tainted 12288")]] * (2 * len(SPECS)))
        self.assertTrue(r.flags[0].startswith("results tampered: a request for a fresh VM "
                                              "before any test"), r.flags)
        self.assertEqual(r.score, sum(t.max_score for t in r.tests[:UP_TO_RMMOD]))

    def test_tampering_zeroes_the_round_and_flags(self):
        r = grade_rounds(lambda ts: start(ts) + [("T", f"ok 1 {ts[0]} in 1ms")]
                         + passing(ts) + finish())
        self.assertEqual(r.score, 0)
        self.assertTrue(r.flags[0].startswith("results tampered"))

    def test_a_huge_number_is_tampering_not_a_crash(self):
        r = grade_rounds(lambda ts: start(ts) + [("A", "bats-exit " + "9" * 5000 + " 3.0")])
        self.assertEqual(r.score, 0)
        self.assertTrue(r.flags[0].startswith("results tampered"))

    def test_one_outside_kill_is_retried_and_costs_nothing(self):
        r = grade_rounds(lambda ts: (start(ts) + passing(ts[:4]), vm.OUTSIDE),
                         lambda ts: start(ts) + passing(ts) + finish())
        self.assertEqual((r.score, r.flags), (r.max_score, []))
        self.assertTrue(any("ended from outside the grader" in n for n in r.notes), r.notes)
        self.assertFalse(any(t.status in ("crashed", "timeout") for t in r.tests))

    def test_an_outside_kill_after_every_result_keeps_them(self):
        r = grade_rounds(lambda ts: (start(ts) + passing(ts), vm.OUTSIDE))
        self.assertEqual((r.score, r.flags), (r.max_score, []))
        self.assertTrue(any("every test had reported, so the results stand" in n
                            for n in r.notes), r.notes)

    def test_qemu_failing_costs_the_running_test_and_flags_for_review(self):
        r = grade_rounds(lambda ts: (start(ts) + passing(ts[:4]), vm.QEMU_FAULT),
                         lambda ts: start(ts) + passing(ts) + finish())
        crashed = [t for t in r.tests if t.status == "crashed"]
        self.assertEqual([t.title for t in crashed], [PART.tests[4].title])
        self.assertEqual(len(r.flags), 1)
        self.assertTrue(r.flags[0].startswith("review: qemu itself failed in round1"), r.flags)

    def test_a_second_outside_kill_is_the_grader_s_error(self):
        with self.assertRaisesRegex(GraderError, "outside the submission"):
            grade_rounds(lambda ts: (start(ts) + passing(ts[:4]), vm.OUTSIDE),
                         lambda ts: ([], vm.SILENT))


if __name__ == "__main__":
    unittest.main()
