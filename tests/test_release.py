"""The student starter kit (scripts/release.py) holds what students need and
nothing they must not see: no reference solutions, no hidden tests, no
self-test variants, no helper only hidden tests run (a part's "hidden_files"
in tests/part.json), nor any of its code. The suites call those helpers only
from hidden tests, and every subcommand a suite calls exists in the helper it
calls."""
import ast
import json
import os
import py_compile
import re
import shlex
import subprocess
import sys
import tarfile
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "scripts"))
sys.path.insert(0, os.path.join(ROOT, "grader"))
import gradescope  # noqa: E402
import release  # noqa: E402
import rubric  # noqa: E402

# A helper called as $CHECK or $HIDDEN in a suite: CHECK="py_check $BATS_TEST_DIRNAME/FILE".
HELPER_VAR = re.compile(r'^(CHECK|HIDDEN)="py_check \$BATS_TEST_DIRNAME/([\w.-]+)"$', re.M)
# A call of one: the variable, then the subcommand and its arguments up to
# the end of the command (a pipe, a redirection, ||, &&, ;).
HELPER_CALL = re.compile(r'\$(CHECK|HIDDEN)\s+([^|;&>\n]*)')
# The entries whose absence makes every helper's check fail at once (rc 1)
# on a machine without the parts' modules loaded.
PART_ENTRIES = ["/proc/timer", "/proc/elevator", "/dev/elevator"]


def graded_parts():
    return [e for e in sorted(os.listdir(ROOT))
            if os.path.isfile(os.path.join(ROOT, e, "tests", "part.json"))]


def hidden_names(part):
    with open(os.path.join(ROOT, part, "tests", "part.json")) as f:
        return json.load(f).get("hidden_files", [])


def public_helpers(part):
    """The part's tests/*.py that the kit ships."""
    folder = os.path.join(ROOT, part, "tests")
    return [os.path.join(folder, n) for n in sorted(os.listdir(folder))
            if n.endswith(".py") and n not in hidden_names(part)]


def suite_blocks(text):
    """The suite's tests as (visibility, title, body) and its functions as
    {name: body} (a block ends at the '}' that starts a line)."""
    tests, functions, visibility = [], {}, None
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        grade = re.match(r"^#\s*grade:.*\bvisibility=(\w+)", line)
        test = re.match(r'^@test "([^"]+)"', line)
        function = re.match(r"^(\w+)\(\)\s*\{", line)
        if grade:
            visibility = grade.group(1)
        elif test or function:
            end = lines.index("}", i)
            body = "\n".join(lines[i + 1:end])
            if test:
                tests.append((visibility, test.group(1), body))
            else:
                functions[function.group(1)] = body
            i = end
        i += 1
    return tests, functions


def calls_hidden(body, functions, seen=()):
    """Whether BODY runs a hidden helper ($HIDDEN), itself or through a
    function of the suite."""
    if "$HIDDEN" in body:
        return True
    return any(re.search(rf"(^|[\s;&|(]){name}\b", body, re.M) and name not in seen
               and calls_hidden(functions[name], functions, seen + (name,))
               for name in functions)


def runs_hidden(body, functions):
    """Whether a test with this body runs a hidden helper, also through the
    suite's setup and teardown, which bats runs around every test."""
    hooks = [h for h in ("setup", "teardown", "setup_file", "teardown_file") if h in functions]
    return calls_hidden("\n".join(hooks + [body]), functions)


def helper_calls(suite_text, calls_text, tests_dir, helper=None):
    """Run every $CHECK / $HIDDEN call in calls_text with the helper the
    suite names for it (or with the suite's `helper`, CHECK or HIDDEN), from
    tests_dir, on this machine, where no part's module is loaded: a
    subcommand the helper knows fails at once for want of the module (exit
    1), an unknown one prints the usage (exit 2). Returns (call, exit status,
    stderr) for each."""
    helpers = dict(HELPER_VAR.findall(suite_text))
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", KMOD_BUILD=os.path.join(tmp, "build"))
        for var, rest in HELPER_CALL.findall(calls_text):
            name = helpers[helper or var]
            args = [os.path.join(tmp, "none") if "$" in a else a for a in shlex.split(rest)]
            script = os.path.abspath(os.path.join(tests_dir, name))
            proc = subprocess.run([sys.executable, script] + args, cwd=tmp, env=env,
                                  capture_output=True, text=True, timeout=60)
            results.append((f"${var} {rest.strip()} (run with {name})", proc.returncode, proc.stderr))
    return results


def top_level_names(path):
    """The functions, classes and constants a Python file defines."""
    with open(path, encoding="utf-8") as f:
        tree = ast.parse(f.read())
    names = []
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.append(node.name)
        elif isinstance(node, ast.Assign):
            names += [t.id for t in node.targets if isinstance(t, ast.Name)]
    return names


# A clause line any Python file may have ("except subprocess.TimeoutExpired:").
GENERIC_CLAUSE = re.compile(r"^(except|else|finally|try)\b[\w. ,()]*:$")


def read(path):
    with open(path, encoding="utf-8") as f:
        return f.read()


class ReleaseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        path = release.build(os.path.join(cls.tmp.name, "starter.tar.gz"))
        with tarfile.open(path) as tar:
            cls.names = tar.getnames()
            cls.texts = {m.name: tar.extractfile(m).read().decode("utf-8", "replace")
                         for m in tar.getmembers() if m.isfile()}

    @classmethod
    def tearDownClass(cls):
        cls.tmp.cleanup()

    def test_no_solutions_selftests_or_instructor_files(self):
        for name in self.names:
            self.assertNotRegex(name, r"/solution/|/selftest/|^starter/(tests|bench|docs|\.ci)/", name)

    def test_no_hidden_test_in_any_suite(self):
        for part in graded_parts():
            suite = os.path.join(ROOT, part, "tests", part + ".bats")
            shipped = self.texts[f"starter/{part}/tests/{part}.bats"]
            for spec in rubric.parse(suite):
                runnable = re.search(rf'^@test "{re.escape(spec.title)}"', shipped, re.M)
                self.assertEqual(bool(runnable), spec.visibility == "public", spec.title)

    def test_shipped_suites_number_and_score_like_the_full_ones(self):
        for part in graded_parts():
            path = os.path.join(self.tmp.name, part + ".bats")
            with open(path, "w") as f:
                f.write(self.texts[f"starter/{part}/tests/{part}.bats"])
            full = rubric.parse(os.path.join(ROOT, part, "tests", part + ".bats"))
            shipped = rubric.parse(path)
            self.assertEqual([(t.title, t.points, t.visibility, t.index) for t in shipped],
                             [(t.title, t.points, t.visibility, t.index) for t in full])

    def test_hidden_checks_are_not_shipped(self):
        for part in graded_parts():
            shipped = self.texts[f"starter/{part}/tests/{part}.bats"]
            self.assertNotIn("$HIDDEN elapsed", shipped)
            self.assertNotIn("$CHECK elapsed", shipped)

    def test_no_hidden_file_is_shipped(self):
        listed = 0
        for part in graded_parts():
            for name in hidden_names(part):
                listed += 1
                self.assertTrue(os.path.isfile(os.path.join(ROOT, part, "tests", name)), name)
                self.assertNotIn(f"starter/{part}/tests/{name}", self.names)
                self.assertFalse([n for n in self.names if os.path.basename(n) == name], name)
        self.assertGreaterEqual(listed, 2)

    def test_no_code_of_a_hidden_file_is_shipped(self):
        """No line of a hidden file (but imports, short generic lines and
        what the part's public helpers share with it, such as the dispatch in
        main) and no definition of its own is in any file of the kit."""
        for part in graded_parts():
            public = {line.strip() for path in public_helpers(part)
                      for line in read(path).splitlines()}
            kit_part = {n: t for n, t in self.texts.items() if n.startswith(f"starter/{part}/")}
            for name in hidden_names(part):
                path = os.path.join(ROOT, part, "tests", name)
                lines = {line.strip() for line in read(path).splitlines()}
                checked = [line for line in lines if len(line) >= 30 and line not in public
                           and not line.startswith(("import ", "from ", "sys.path."))
                           and not GENERIC_CLAUSE.match(line)]
                self.assertGreater(len(checked), 20, name)
                for kit_name, text in self.texts.items():
                    for line in checked:
                        self.assertNotIn(line, text, f"{name}'s line is in {kit_name}")
                # Every helper has a main (and part 2's a CHECKS table).
                own = [n for n in top_level_names(path) if n not in ("main", "CHECKS")]
                self.assertGreater(len(own), 3, name)
                for kit_name, text in kit_part.items():
                    for definition in own:
                        self.assertNotRegex(text, rf"(?m)^\s*((def|class)\s+{definition}\b|"
                                                  rf"{definition}\s*=)", f"{name}: {kit_name}")

    def test_shipped_suites_call_only_shipped_helpers(self):
        """In the kit, the tests that can run call no hidden helper, and
        every $CHECK call works with the kit's own helpers (they compile,
        import without the hidden files and know each subcommand)."""
        if any(os.path.exists(e) for e in PART_ENTRIES):
            self.skipTest("a part's module is loaded on this machine")
        kit = os.path.join(self.tmp.name, "kit")
        with tarfile.open(os.path.join(self.tmp.name, "starter.tar.gz")) as tar:
            # filter= where this Python has it (3.11.4 and later).
            tar.extractall(kit, **({"filter": "data"} if hasattr(tarfile, "data_filter") else {}))
        for part in graded_parts():
            tests_dir = os.path.join(kit, "starter", part, "tests")
            for name in os.listdir(tests_dir):
                if name.endswith(".py"):
                    py_compile.compile(os.path.join(tests_dir, name), doraise=True,
                                       cfile=os.path.join(self.tmp.name, "compiled.pyc"))
            shipped = self.texts[f"starter/{part}/tests/{part}.bats"]
            tests, functions = suite_blocks(shipped)
            for _, title, body in tests:
                self.assertFalse(runs_hidden(body, functions), title)
            if hidden_names(part):
                runnable = "\n".join(body for _, _, body in tests)
                results = helper_calls(shipped, runnable, tests_dir)
                self.assertGreater(len(results), 2, part)
                for call, status, stderr in results:
                    self.assertNotIn("Traceback", stderr, call)
                    self.assertEqual(status, 1, f"{call}: {stderr}")

    def test_gradescope_keeps_the_hidden_files(self):
        paths = [p for part in graded_parts() for p in gradescope.tree(part)]
        for part in graded_parts():
            for name in hidden_names(part):
                self.assertIn(f"{part}/tests/{name}", paths)

    def test_what_students_need_is_there(self):
        for needed in ["starter/Makefile", "starter/README.md", "starter/course.conf",
                       "starter/kit.sha256", "starter/grader/check.sh", "starter/grader/shell.sh",
                       "starter/scripts/submit.py", "starter/vm/prepare.sh",
                       "starter/part2_timer/my_timer.c", "starter/part1_syscalls/part1.c"]:
            self.assertIn(needed, self.names)

    def test_the_handouts_are_rendered_with_every_key_filled(self):
        for part in graded_parts():
            for ext in ("html", "pdf"):
                self.assertIn(f"starter/handouts/{part}.{ext}", self.names)
            self.assertNotRegex(self.texts[f"starter/handouts/{part}.html"], r"\{\{[A-Z0-9_]+\}\}")
        self.assertFalse([n for n in self.names if n.startswith("starter/handouts/") and n.endswith(".md")])

    def test_the_kit_has_the_gitignore_its_parts_refer_to(self):
        self.assertIn("starter/.gitignore", self.names)
        self.assertIn("*.ko", self.texts["starter/.gitignore"].splitlines())
        self.assertIn("top .gitignore", self.texts["starter/part3_chardev/.gitignore"])

    def test_skeleton_not_reference(self):
        skeleton = self.texts["starter/part2_timer/my_timer.c"]
        self.assertIn("TODO", skeleton)
        self.assertNotRegex(skeleton, re.compile(r"simple_read_from_buffer\(ubuf"))


class SuiteHelpersTest(unittest.TestCase):
    """The full suites: public tests never need a hidden helper (the kit has
    none), and every subcommand a suite calls exists in the helper it calls."""

    def test_public_tests_call_no_hidden_helper(self):
        for part in graded_parts():
            tests, functions = suite_blocks(read(os.path.join(ROOT, part, "tests", part + ".bats")))
            for visibility, title, body in tests:
                if visibility == "public":
                    self.assertFalse(runs_hidden(body, functions), title)

    def test_hidden_helpers_are_the_hidden_files(self):
        for part in graded_parts():
            helpers = dict(HELPER_VAR.findall(read(os.path.join(ROOT, part, "tests", part + ".bats"))))
            if "HIDDEN" in helpers:
                self.assertIn(helpers["HIDDEN"], hidden_names(part), part)
            if "CHECK" in helpers:
                self.assertNotIn(helpers["CHECK"], hidden_names(part), part)

    def test_every_called_subcommand_exists(self):
        if any(os.path.exists(e) for e in PART_ENTRIES):
            self.skipTest("a part's module is loaded on this machine")
        for part in graded_parts():
            if not hidden_names(part):
                continue
            suite = read(os.path.join(ROOT, part, "tests", part + ".bats"))
            tests_dir = os.path.join(ROOT, part, "tests")
            results = helper_calls(suite, suite, tests_dir)
            self.assertGreater(len(results), 5, part)
            for call, status, stderr in results:
                self.assertNotIn("Traceback", stderr, call)
                self.assertEqual(status, 1, f"{call}: {stderr}")

    def test_public_helpers_know_no_hidden_subcommand(self):
        """What only hidden tests call is not in the helper the kit ships."""
        if any(os.path.exists(e) for e in PART_ENTRIES):
            self.skipTest("a part's module is loaded on this machine")
        for part in graded_parts():
            suite = read(os.path.join(ROOT, part, "tests", part + ".bats"))
            hidden_calls = "\n".join(m.group(0) for m in HELPER_CALL.finditer(suite)
                                     if m.group(1) == "HIDDEN")
            for call, status, stderr in helper_calls(suite, hidden_calls,
                                                     os.path.join(ROOT, part, "tests"), "CHECK"):
                self.assertEqual(status, 2, f"{call}: {stderr}")


if __name__ == "__main__":
    unittest.main()
