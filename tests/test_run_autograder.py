"""gradescope/run_autograder: take_submission hands what a student uploaded
to Gradescope over to the grader whole (copied into the tree); vm_plan sizes
the VMs to the container."""
import os
import subprocess
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SCRIPT = os.path.join(HERE, "..", "gradescope", "run_autograder")
REPO = os.path.abspath(os.path.join(HERE, ".."))


class TakeSubmissionTest(unittest.TestCase):
    """take_submission hands the upload over whole (its layout is
    grader/submission.py's to decide: tests/test_submission.py)."""

    def test_the_upload_arrives_whole(self):
        with tempfile.TemporaryDirectory() as tmp:
            upload = os.path.join(tmp, "autograder", "submission")
            tree = os.path.join(tmp, "tree")
            os.makedirs(os.path.join(tree, "tmp"))
            files = ["submission.tar.gz", "part2_timer/my_timer.c", "deep/er/nested.c",
                     ".git/config", ".hidden"]
            for rel in files:
                os.makedirs(os.path.dirname(os.path.join(upload, rel)), exist_ok=True)
                with open(os.path.join(upload, rel), "w") as f:
                    f.write(rel + "\n")
            env = dict(os.environ, AUTOGRADER_DIR=os.path.dirname(upload), KMOD_GS_ROOT=tree)
            proc = subprocess.run(["bash", "-c", f'source "{SCRIPT}"; take_submission'],
                                  env=env, capture_output=True, text=True, check=True)
            self.assertEqual(proc.stdout, "/tmp/gradescope/in/submission\n")
            where = tree + "/tmp/gradescope/in/submission"
            got = sorted(os.path.relpath(os.path.join(d, f), where)
                         for d, _, names in os.walk(where) for f in names)
            self.assertEqual(got, sorted(files))
            with open(os.path.join(where, "deep/er/nested.c")) as f:
                self.assertEqual(f.read(), "deep/er/nested.c\n")


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


if __name__ == "__main__":
    unittest.main()
