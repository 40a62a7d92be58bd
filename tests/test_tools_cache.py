"""The course's tools (part.json "tools") are built once per grader run for
the same files and copied into every submission's build folder; a change
to a tool's file builds anew."""
import os
import sys
import tempfile
import unittest
from types import SimpleNamespace
from unittest import mock

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "grader"))
import build  # noqa: E402
import cli  # noqa: E402
from parts import GraderError, discover_parts  # noqa: E402


class ToolsCacheTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.addCleanup(self.tmp.cleanup)
        self.part_dir = os.path.join(self.tmp.name, "part")
        os.makedirs(self.part_dir)
        self.write_tool("int main(void) { return 0; }\n")
        tools = {"files": ["tool.c"], "build": [["cc", "-o", "tool", "tool.c"]], "outputs": ["tool"]}
        self.part = SimpleNamespace(path=self.part_dir, conf={"tools": tools}, build_timeout=60)
        self.builds = []
        patcher = mock.patch.object(build, "_TOOLS_BUILT", {})
        patcher.start()
        self.addCleanup(patcher.stop)

    def write_tool(self, text):
        with open(os.path.join(self.part_dir, "tool.c"), "w") as f:
            f.write(text)

    def fake_run(self, src, build, out, commands, outputs, timeout):
        with open(os.path.join(src, "tool.c")) as f:
            source = f.read()
        self.builds.append(source)
        with open(os.path.join(out, "tool"), "w") as f:
            f.write("built from " + source)
        return 0, "$ cc -o tool tool.c\n"

    def build(self, name):
        out = os.path.join(self.tmp.name, name)
        with mock.patch.object(build, "run", self.fake_run):
            status, log = build.build_tools(self.part, "/kdir", out)
        with open(os.path.join(out, "tool")) as f:
            return status, log, f.read()

    def test_built_once_copied_to_each(self):
        first = self.build("a")
        second = self.build("b")
        self.assertEqual(len(self.builds), 1)
        self.assertEqual(first, second)
        self.assertEqual(first[0], 0)

    def test_changed_file_builds_again(self):
        self.build("a")
        self.write_tool("int main(void) { return 1; }\n")
        _, _, text = self.build("b")
        self.assertEqual(len(self.builds), 2)
        self.assertIn("return 1", text)


if __name__ == "__main__":
    unittest.main()


class OnlyTestsTest(unittest.TestCase):
    """--only-tests (the self-test's subsets): known titles only, suite order
    kept, the suite's size kept so that the VM runs them by filter."""

    def parts(self):
        return discover_parts([2])

    def write(self, data):
        f = tempfile.NamedTemporaryFile("w", suffix=".json", delete=False)
        self.addCleanup(os.unlink, f.name)
        import json
        json.dump(data, f)
        f.close()
        return f.name

    def test_cut_keeps_order_and_suite_size(self):
        parts = self.parts()
        titles = [t.title for t in parts[0].tests]
        only = cli.read_only_tests(self.write({"v": [titles[5], titles[1]]}), parts)
        cut = cli.cut_tests(parts, only["v"])
        self.assertEqual([t.title for t in cut[0].tests], [titles[1], titles[5]])
        self.assertEqual(cut[0].suite_size, parts[0].suite_size)
        self.assertEqual(len(parts[0].tests), len(titles), "the original is not changed")
        self.assertIs(cli.cut_tests(parts, None), parts)

    def test_unknown_title_is_an_error(self):
        with self.assertRaisesRegex(GraderError, "no such test"):
            cli.read_only_tests(self.write({"v": ["no such test at all"]}), self.parts())
