"""make lint's C and Python linters (scripts/lint.sh) fail on a real
problem: a leak on an error path, an unused import, an undefined name.
(make lint itself proves today's files pass.)"""
import os
import subprocess
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
LINT = os.path.join(ROOT, "scripts", "lint.sh")

LEAK = """#include <stdlib.h>
int main(int argc, char **argv)
{
	char *buf = malloc(64);

	if (!buf)
		return 1;
	if (argc > 1)
		return 2;	/* buf leaks here */
	free(buf);
	return 0;
}
"""
# A module with an out-of-bounds write inside a kernel list loop: cppcheck
# sees it only if it reads the loop macro (scripts/cppcheck-kernel.cfg).
MODULE_OVERRUN = """#include <linux/module.h>
#include <linux/slab.h>
#include <linux/list.h>
struct item { struct list_head node; };
static LIST_HEAD(items);
static int __init overrun_init(void)
{
	struct item *it;
	int a[4];

	list_for_each_entry(it, &items, node)
		a[4] = 1;
	return 0;
}
module_init(overrun_init);
MODULE_LICENSE("GPL");
"""
UNUSED = "import os\nimport sys\n\nprint(sys.argv)\n"
UNDEFINED = "def f():\n    return undefined_name\n"


def lint(kind, name, text):
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, name)
        with open(path, "w") as f:
            f.write(text)
        return subprocess.run(["bash", LINT, kind, path], capture_output=True, text=True)


class LintTest(unittest.TestCase):
    def test_a_leak_on_an_error_path_fails(self):
        proc = lint("--c", "leak.c", LEAK)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("leak", proc.stdout + proc.stderr)

    def test_a_module_is_read_through_its_kernel_macros(self):
        proc = lint("--c", "overrun.c", MODULE_OVERRUN)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("out of bounds", proc.stdout + proc.stderr)

    def test_clean_c_passes(self):
        proc = lint("--c", "ok.c", LEAK.replace("return 2;\t/* buf leaks here */",
                                                 "{ free(buf); return 2; }"))
        self.assertEqual(proc.returncode, 0, proc.stdout + proc.stderr)

    def test_an_unused_import_fails(self):
        proc = lint("--python", "unused.py", UNUSED)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("'os' imported but unused", proc.stdout)

    def test_an_undefined_name_fails(self):
        proc = lint("--python", "undefined.py", UNDEFINED)
        self.assertNotEqual(proc.returncode, 0)
        self.assertIn("undefined name", proc.stdout)


if __name__ == "__main__":
    unittest.main()
