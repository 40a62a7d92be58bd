"""gradescope/run_autograder's take_submission: what a student uploads to
Gradescope becomes the submission the grader gets (copied into the tree)."""
import os
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "gradescope", "run_autograder")
REPO = os.path.abspath(os.path.join(HERE, ".."))


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


class VMPlanTest(unittest.TestCase):
    """run_autograder's vm_plan: grader/vm.py's plan of the CPUs and memory
    the container's cgroup allows (the smallest limit over its ancestors;
    /proc/meminfo ignores the cgroup), cgroup v1 and v2; a container too
    small for one VM stops before grading, saying why."""

    def plan(self, files, self_cgroup):
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
            script = (f'source "{SCRIPT}"; GRADER="{REPO}"; grader_python() {{ python3 "$@"; }}; '
                      'echo $(cpus) $(memory_mb) $(vm_plan)')
            proc = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True)
            return [int(n) for n in proc.stdout.split()], proc.stderr

    def test_v2_gradescope_default(self):
        got, _ = self.plan({"cgroup.controllers": "cpu memory", "cpu.max": "50000 100000",
                            "memory.max": str(768 << 20)}, "0::/\n")
        self.assertEqual(got, [1, 768, 1, 384, 128])

    def test_v2_a_parent_s_limit_binds_a_child_at_max(self):
        got, _ = self.plan({"cgroup.controllers": "cpu memory", "cpu.max": "max 100000",
                            "docker/memory.max": str(1000 << 20),
                            "docker/c1/memory.max": "max", "docker/c1/cpu.max": "max 100000"},
                           "0::/docker/c1\n")
        self.assertEqual(got[1:], [1000, 1, 384, 128])

    def test_v1_in_a_child_group(self):
        got, _ = self.plan({
            "cpu/g/cpu.cfs_quota_us": "150000", "cpu/g/cpu.cfs_period_us": "100000",
            "memory/g/memory.limit_in_bytes": str(2200 << 20)},
            "4:memory:/g\n1:cpu:/g\n")
        self.assertEqual(got[0], min(2, os.cpu_count()))
        self.assertEqual(got[1:], [2200, min(2, os.cpu_count()), 512, 256])

    def test_v1_hierarchical_limit(self):
        got, _ = self.plan({
            "memory/g/memory.limit_in_bytes": str(1 << 62),
            "memory/g/memory.stat": f"cache 0\nhierarchical_memory_limit {900 << 20}"},
            "4:memory:/g\n")
        self.assertEqual(got[1:], [900, 1, 384, 128])

    def test_no_room_for_a_vm_says_so(self):
        got, err = self.plan({"cgroup.controllers": "memory", "cpu.max": "max 100000",
                              "memory.max": str(512 << 20)}, "0::/\n")
        self.assertEqual(got[1:], [512])
        self.assertIn("grading needs at least 768 MB", err)
