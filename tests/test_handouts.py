"""Unit tests of scripts/handouts.py: course.conf reading, {{KEY}}
substitution, rubric tables and titles. Pandoc is not needed."""
import os
import re
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "scripts"))
sys.path.insert(0, os.path.join(HERE, "..", "grader"))
import handouts  # noqa: E402
import rubric  # noqa: E402
from handouts import HandoutError  # noqa: E402


def spec(title, points, visibility):
    return rubric.TestSpec(title, points, visibility)


SPECS = [spec("module builds", 10, "public"),
         spec("second read adds 'elapsed time: S.N'", 5, "public"),
         spec("dd bs=1 gives the whole text", 20, "hidden")]


def table_rows(table):
    """The cells of each row of a pipe table, header and separator included."""
    return [[cell.strip() for cell in re.split(r"(?<!\\)\|", line.strip()[1:-1])]
            for line in table.strip().splitlines()]


class ConfTest(unittest.TestCase):
    def test_reads_pairs_and_skips_comments_and_blank_lines(self):
        conf = handouts.read_conf("# a comment\n\nPART1_EXTRA_SYSCALLS=5\n"
                                  "  # indented comment\nCOURSE_NAME=\"CS 423\"\n"
                                  "COURSE_TERM='Fall 2025'\nEMPTY=\n")
        self.assertEqual(conf, {"PART1_EXTRA_SYSCALLS": "5", "COURSE_NAME": "CS 423",
                                "COURSE_TERM": "Fall 2025", "EMPTY": ""})

    def test_a_hash_after_a_value_is_part_of_it(self):
        # course.conf's rule: comments are lines of their own (as in make)
        self.assertEqual(handouts.read_conf("COURSE_NAME=CS#101\n"), {"COURSE_NAME": "CS#101"})

    def test_a_line_that_is_not_key_value_names_file_and_line(self):
        with self.assertRaisesRegex(HandoutError, r"^course\.conf:2: not a KEY=value line"):
            handouts.read_conf("A=1\njust words\n")

    def test_the_repository_course_conf_parses(self):
        conf = handouts.load_conf()
        self.assertIn("PART1_EXTRA_SYSCALLS", conf)


class FillTemplateTest(unittest.TestCase):
    CONF = {"PART1_EXTRA_SYSCALLS": "5", "COURSE_NAME": "CS 423"}

    def test_replaces_every_known_key(self):
        text = ("Make exactly {{PART1_EXTRA_SYSCALLS}} more calls.\n"
                "```c\n#define EXTRA_SYSCALLS {{ PART1_EXTRA_SYSCALLS }}\n```\n"
                "{{COURSE_NAME}}: {{PART1_EXTRA_SYSCALLS}}{{PART1_EXTRA_SYSCALLS}}\n")
        self.assertEqual(handouts.fill_template(text, self.CONF),
                         "Make exactly 5 more calls.\n"
                         "```c\n#define EXTRA_SYSCALLS 5\n```\n"
                         "CS 423: 55\n")

    def test_text_without_placeholders_is_unchanged(self):
        text = "struct a x = {{0}};\n{ {NOT_A_KEY} }\n{{ }}\nno newline at the end"
        self.assertEqual(handouts.fill_template(text, self.CONF), text)

    def test_unknown_key_names_file_line_and_known_keys(self):
        text = "line one\nline two\nhas {{PART1_EXTRA_SYSCALL}} typo\n"
        with self.assertRaises(HandoutError) as cm:
            handouts.fill_template(text, self.CONF, "assignments/part1_syscalls.md")
        message = str(cm.exception)
        self.assertTrue(message.startswith("assignments/part1_syscalls.md:3: "), message)
        self.assertIn("{{PART1_EXTRA_SYSCALL}}", message)
        self.assertIn("PART1_EXTRA_SYSCALLS", message)

    def test_values_are_not_filled_again(self):
        conf = {"A": "{{B}}", "B": "b"}
        self.assertEqual(handouts.fill_template("{{A}}", conf), "{{B}}")


class RubricTableTest(unittest.TestCase):
    def test_columns_numbers_points_visibility_and_total(self):
        rows = table_rows(handouts.rubric_table("part2_timer", SPECS, 2))
        self.assertEqual(rows[0], ["#", "Test", "Points", "Visibility"])
        self.assertTrue(all(set(cell) <= set(":-") for cell in rows[1]), rows[1])
        self.assertTrue(rows[1][2].endswith(":"), "points are right-aligned")
        self.assertEqual([r[0] for r in rows[2:5]], ["2.1", "2.2", "2.3"])
        self.assertEqual([r[2] for r in rows[2:5]], ["10", "5", "20"])
        self.assertEqual([r[3] for r in rows[2:5]], ["public", "public", "hidden"])
        self.assertEqual(rows[5][:3], ["", "**Total**", "**35**"])
        self.assertEqual(rows[5][3], "15 public, 20 hidden")
        self.assertEqual(len(rows), 6)
        self.assertTrue(all(len(r) == 4 for r in rows))

    def test_hidden_tests_are_listed_with_their_title(self):
        table = handouts.rubric_table("part2_timer", SPECS, 2)
        self.assertIn("| 2.3 | dd bs=1 gives the whole text | 20 | hidden |", table)

    def test_part_number_comes_from_the_name_by_default(self):
        rows = table_rows(handouts.rubric_table("part3_chardev", SPECS[:1]))
        self.assertEqual(rows[2][0], "3.1")
        self.assertEqual(rows[3][3], "10 public")

    def test_numbers_go_past_nine(self):
        specs = [spec(f"test {i}", 1, "public") for i in range(12)]
        rows = table_rows(handouts.rubric_table("part1_syscalls", specs, 1))
        self.assertEqual(rows[-2][0], "1.12")
        self.assertEqual(rows[-1][2], "**12**")

    def test_markdown_characters_in_titles_are_escaped(self):
        specs = [spec("reads <tiny> buffers", 5, "public"),
                 spec("a|b *c* _d_ `e` $f$ @g [h]", 5, "hidden")]
        table = handouts.rubric_table("part2_timer", specs, 2)
        self.assertIn(r"reads \<tiny\> buffers", table)
        self.assertIn(r"a\|b \*c\* \_d\_ \`e\` \$f\$ \@g \[h\]", table)
        self.assertTrue(all(len(r) == 4 for r in table_rows(table)))

    def test_titles_the_grader_accepts_survive_escaping(self):
        # every character rubric.TITLE_OK allows, unescaped, gives the title back
        title = "Az09 /._:,()'<>=+-"
        self.assertTrue(rubric.TITLE_OK.match(title))
        escaped = handouts.escape_markdown(title)
        self.assertEqual(escaped.replace("\\", ""), title)

    def test_a_name_that_is_not_a_part_is_an_error(self):
        with self.assertRaises(HandoutError):
            handouts.rubric_table("timer", SPECS)


class FillRubricsTest(unittest.TestCase):
    TEXT = ("# Grading\n\nIntro.\n\n<!-- RUBRIC:part2_timer -->\n\n# Next\n")

    def test_placeholder_becomes_the_table(self):
        asked = []

        def load(name):
            asked.append(name)
            return SPECS
        out = handouts.fill_rubrics(self.TEXT, load)
        self.assertEqual(asked, ["part2_timer"])
        self.assertNotIn("RUBRIC", out)
        self.assertIn(handouts.rubric_table("part2_timer", SPECS, 2), out)
        self.assertTrue(out.startswith("# Grading\n\nIntro.\n\n"))
        self.assertTrue(out.endswith("\n# Next\n"))
        # the table is a block of its own: blank line before its header row
        self.assertIn("\n\n| # | Test |", out.replace("::: {.rubric}\n", "\n"))

    def test_part_without_a_suite_gets_a_sentence(self):
        out = handouts.fill_rubrics(self.TEXT.replace("part2_timer", "part3_chardev"),
                                    lambda name: None)
        self.assertIn("not published yet", out)
        self.assertIn(r"part3\_chardev", out)
        self.assertNotIn("| # |", out)

    def test_placeholder_with_spaces_and_crlf(self):
        out = handouts.fill_rubrics("a\r\n  <!--  RUBRIC:part2_timer  -->  \r\nb\r\n",
                                    lambda name: SPECS)
        self.assertIn("| 2.3 |", out)

    def test_inline_placeholder_is_an_error_naming_the_line(self):
        with self.assertRaisesRegex(HandoutError, r"^x\.md:2: .*line of its own"):
            handouts.fill_rubrics("a\nsee <!-- RUBRIC:part2_timer --> here\n",
                                  lambda name: SPECS, "x.md")

    def test_bad_part_name_is_an_error_naming_the_line(self):
        with self.assertRaisesRegex(HandoutError, r"^x\.md:1: "):
            handouts.fill_rubrics("<!-- RUBRIC:timer -->\n", lambda name: SPECS, "x.md")

    def test_real_suites_load(self):
        for part in ("part1_syscalls", "part2_timer"):
            if os.path.isfile(handouts.suite_path(part)):
                specs = handouts.suite_specs(part)
                self.assertTrue(specs)
        self.assertIsNone(handouts.suite_specs("part99_nothing"))

    def test_a_broken_suite_is_reported(self):
        with tempfile.TemporaryDirectory() as root:
            os.makedirs(os.path.join(root, "part9_x", "tests"))
            with open(os.path.join(root, "part9_x", "tests", "part9_x.bats"), "w") as f:
                f.write('@test "no grade line" {\n}\n')
            with self.assertRaisesRegex(HandoutError, "part9_x"):
                handouts.suite_specs("part9_x", root)


class TitleTest(unittest.TestCase):
    def test_yaml_title_wins(self):
        text = '---\ntitle: "Part 2"\nlang: en\n---\n\n# Goal\n'
        self.assertEqual(handouts.find_title(text), (None, text))

    def test_first_h1_becomes_the_title_and_leaves_the_body(self):
        text = "Intro.\n\n```sh\n# not a heading\n```\n\n# Part 3: chardev {#top}\n\n# Goal\n"
        title, body = handouts.find_title(text)
        self.assertEqual(title, "Part 3: chardev")
        self.assertEqual(body, "Intro.\n\n```sh\n# not a heading\n```\n\n\n# Goal\n")

    def test_yaml_without_title_and_setext_heading(self):
        text = "---\nlang: en\n---\n\nPart 3\n======\n\nText.\n"
        title, body = handouts.find_title(text)
        self.assertEqual(title, "Part 3")
        self.assertNotIn("Part 3", body)

    def test_no_title_at_all(self):
        text = "## only a level 2 heading\n\ntext\n"
        self.assertEqual(handouts.find_title(text), (None, text))

    def test_course_banner(self):
        self.assertEqual(handouts.course_banner({}), "")
        self.assertEqual(handouts.course_banner({"COURSE_NAME": "OS <1>"}),
                         '<p class="course">OS &lt;1&gt;</p>\n')
        self.assertIn("CS 423 · Fall 2025",
                      handouts.course_banner({"COURSE_NAME": "CS 423",
                                              "COURSE_TERM": "Fall 2025"}))


class PrepareTest(unittest.TestCase):
    def prepare(self, text, conf, specs=SPECS):
        with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as f:
            f.write(text)
        try:
            return handouts.prepare(f.name, conf, lambda name: specs)
        finally:
            os.unlink(f.name)

    def test_whole_source(self):
        text, args = self.prepare("# Part 2: {{NAME}}\n\n<!-- RUBRIC:part2_timer -->\n",
                                  {"NAME": "timer", "COURSE_NAME": "CS 423"})
        self.assertTrue(text.startswith('---\ntitle: "Part 2: timer"\n---\n'), text)
        self.assertIn("| **Total** | **35** |", text)
        self.assertEqual(args, ["--title-prefix", "CS 423"])

    def test_source_without_title_gets_a_page_title(self):
        text, args = self.prepare("text\n", {})
        self.assertEqual(text, "text\n")
        self.assertEqual(args[0], "--metadata")
        self.assertTrue(args[1].startswith("pagetitle="))

    def test_unknown_key_names_the_source(self):
        with self.assertRaisesRegex(HandoutError, r"\.md:2: unknown course\.conf key"):
            self.prepare("ok\n{{NOPE}}\n", {})


class GradingFactsTest(unittest.TestCase):
    """What the handouts say about the grading VM is what the grader does."""

    def test_facts_come_from_the_grader(self):
        import vm
        facts = handouts.grading_facts()
        for flag in facts["GRADING_KERNEL_FLAGS"].split():
            name = flag.split("=", 1)[0]
            if name == "hung_task_timeout_secs":
                self.assertIn(f"sysctl.kernel.{flag}", vm.KERNEL_CMDLINE.split())
            else:
                self.assertIn(flag, vm.KERNEL_CMDLINE.split())
        self.assertEqual(facts["GRADING_VM_CPUS"], str(vm.VMConfig.cpus))
        with open(os.path.join(HERE, "..", "grader", "guest-lib", "kmod.bash")) as f:
            self.assertIn(f"KMOD_LOG_FLOOD:-{facts['GRADING_LOG_FLOOD']}}}", f.read())

    def test_real_handouts_fill_completely(self):
        conf = handouts.load_conf()
        for name in ("part1_syscalls", "part2_timer", "part3_chardev"):
            source = os.path.join(HERE, "..", "assignments", name + ".md")
            text, _ = handouts.prepare(source, conf)
            self.assertNotIn("{{", text, name)
        self.assertIn("preempt=full", handouts.prepare(
            os.path.join(HERE, "..", "assignments", "part2_timer.md"), conf)[0])


if __name__ == "__main__":
    unittest.main()


class RenderedHandoutsTest(unittest.TestCase):
    """handouts/ in the repository holds what make release ships."""

    def test_the_repository_handouts_are_rendered_from_the_current_sources(self):
        self.assertEqual(handouts.stale(os.path.join(HERE, "..", "handouts")), [],
                         "run make handouts and commit handouts/")

    def test_a_changed_course_conf_makes_its_handouts_stale(self):
        conf = dict(handouts.load_conf(), PART1_EXTRA_SYSCALLS="9")
        self.assertEqual(handouts.stale(os.path.join(HERE, "..", "handouts"), conf), ["part1_syscalls"])

    def test_a_handout_without_its_pdf_is_stale(self):
        with tempfile.TemporaryDirectory() as out:
            conf = handouts.load_conf()
            source = handouts.sources("part2_timer")[0]
            handouts.write_stamp(out, {"part2_timer": handouts.input_digest(source, conf)})
            open(os.path.join(out, "part2_timer.html"), "w").close()
            self.assertIn("part2_timer", handouts.stale(out, conf))
            open(os.path.join(out, "part2_timer.pdf"), "w").close()
            self.assertNotIn("part2_timer", handouts.stale(out, conf))
