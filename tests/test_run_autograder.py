"""gradescope/run_autograder's take_submission: what a student uploads to
Gradescope becomes the submission the grader gets (copied into the tree)."""
import os
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "gradescope", "run_autograder")


class TakeSubmissionTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.upload = os.path.join(self.tmp.name, "autograder", "submission")
        self.tree = os.path.join(self.tmp.name, "tree")
        os.makedirs(self.upload)
        os.makedirs(os.path.join(self.tree, "tmp"))

    def tearDown(self):
        self.tmp.cleanup()

    def put(self, *paths):
        for rel in paths:
            path = os.path.join(self.upload, rel)
            if rel.endswith("/"):
                os.makedirs(path, exist_ok=True)
            else:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(rel + "\n")

    def take(self, part_names="part1_syscalls part2_timer"):
        """(path the grader is given, inside the tree; files there)"""
        env = dict(os.environ, AUTOGRADER_DIR=os.path.dirname(self.upload),
                   KMOD_GS_ROOT=self.tree, PART_NAMES=part_names)
        proc = subprocess.run(["bash", "-c", f'source "{SCRIPT}"; take_submission'],
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, check=True)
        given = proc.stdout.strip()
        where = self.tree + given
        if os.path.isfile(where):
            return given, [os.path.basename(where)]
        files = sorted(os.path.relpath(os.path.join(d, f), where)
                       for d, _, names in os.walk(where) for f in names)
        return given, files

    def test_the_make_submit_tarball_is_graded_as_it_is(self):
        self.put("submission.tar.gz")
        self.assertEqual(self.take(), ("/tmp/gradescope/in/submission.tar.gz",
                                       ["submission.tar.gz"]))

    def test_part_folders_are_graded_as_a_folder(self):
        self.put("part2_timer/my_timer.c", "part2_timer/Makefile", "README.md")
        given, files = self.take()
        self.assertEqual(given, "/tmp/gradescope/in/submission")
        self.assertEqual(files, ["README.md", "part2_timer/Makefile", "part2_timer/my_timer.c"])

    def test_a_single_top_folder_is_kept_for_the_grader_to_look_into(self):
        self.put("project/part2_timer/my_timer.c")
        self.assertEqual(self.take()[1], ["project/part2_timer/my_timer.c"])

    def test_loose_files_become_the_part_of_a_one_part_autograder(self):
        self.put("my_timer.c", "Makefile")
        self.assertEqual(self.take("part2_timer")[1],
                         ["part2_timer/Makefile", "part2_timer/my_timer.c"])

    def test_loose_files_stay_loose_when_several_parts_are_graded(self):
        self.put("my_timer.c", "Makefile")
        self.assertEqual(self.take()[1], ["Makefile", "my_timer.c"])

    def test_a_git_folder_is_left_out(self):
        self.put(".git/config", ".git/objects/ab/cdef", "part2_timer/my_timer.c")
        self.assertEqual(self.take()[1], ["part2_timer/my_timer.c"])

    def test_an_empty_upload_gives_an_empty_submission(self):
        self.assertEqual(self.take(), ("/tmp/gradescope/in/submission", []))


if __name__ == "__main__":
    unittest.main()


class VMSlotsTest(unittest.TestCase):
    """run_autograder's vm_slots: one VM per CPU the container's cgroup
    allows, no more than its memory limit holds (/proc/meminfo ignores the
    cgroup), at least one; cgroup v1 and v2."""

    def slots(self, files, self_cgroup):
        with tempfile.TemporaryDirectory() as root:
            for rel, text in files.items():
                path = os.path.join(root, rel)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path, "w") as f:
                    f.write(text + "\n")
            own = os.path.join(root, "self")
            with open(own, "w") as f:
                f.write(self_cgroup)
            env = dict(os.environ, KMOD_CGROUP_ROOT=root, KMOD_SELF_CGROUP=own)
            proc = subprocess.run(["bash", "-c", f'source "{SCRIPT}"; echo $(cpus) $(memory_mb) $(vm_slots)'],
                                  env=env, capture_output=True, text=True, check=True)
            return [int(n) for n in proc.stdout.split()]

    def test_v2_gradescope_default(self):
        cpus, memory, slots = self.slots({"cgroup.controllers": "cpu memory",
                                          "cpu.max": "50000 100000",
                                          "memory.max": str(768 << 20)}, "0::/\n")
        self.assertEqual((cpus, memory, slots), (1, 768, 1))

    def test_v1_in_a_child_group(self):
        cpus, memory, slots = self.slots({
            "cpu/g/cpu.cfs_quota_us": "150000", "cpu/g/cpu.cfs_period_us": "100000",
            "memory/g/memory.limit_in_bytes": str(1400 << 20)},
            "4:memory:/g\n1:cpu:/g\n")
        self.assertEqual(cpus, min(2, os.cpu_count()))
        self.assertEqual((memory, slots), (1400, min(2, os.cpu_count())))

    def test_no_room_for_a_vm_still_grades_one(self):
        _, memory, slots = self.slots({"cgroup.controllers": "memory", "cpu.max": "max 100000",
                                       "memory.max": str(512 << 20)}, "0::/\n")
        self.assertEqual((memory, slots), (512, 1))
