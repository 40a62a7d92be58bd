"""Unit tests of grader/symbols.py: the undefined symbols of a module, the
DENY list, the allowlist verdict, check_part's flags and the source scan.

The objects are small C files compiled with `cc -c`: a relocatable ELF has
the same undefined-symbol table as a .ko, and needs no kernel headers.
That the course's own references, skeletons and variants come out clean
against the real allowlists is checked by building them against the VM's
kernel headers: `python3 scripts/symbol_allowlist.py --verify`.
"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import unittest

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "grader"))
import symbols  # noqa: E402

CC = shutil.which("cc") or shutil.which("gcc")


def compile_c(directory, name, code):
    """name.o (renamed to whatever name says, e.g. x.ko) compiled from code."""
    src = os.path.join(directory, name + ".c")
    with open(src, "w") as f:
        f.write(code)
    out = os.path.join(directory, name)
    subprocess.run([CC, "-c", "-O1", "-fno-stack-protector", "-fno-pie", "-o", out, src], check=True)
    os.remove(src)
    return out


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def rebind_local(path, name):
    """Set the binding of the symbol called name to LOCAL, in place."""
    data = bytearray(read_bytes(path))
    shoff, = struct.unpack_from("<Q", data, 0x28)
    shnum, = struct.unpack_from("<H", data, 0x3C)
    headers = [struct.unpack_from("<IIQQQQIIQQ", data, shoff + 64 * i) for i in range(shnum)]
    for sh in headers:
        if sh[1] != 2:                   # SHT_SYMTAB
            continue
        strtab = headers[sh[6]]
        for off in range(sh[4], sh[4] + sh[5], 24):
            st_name, = struct.unpack_from("<I", data, off)
            start = strtab[4] + st_name
            if data[start:start + len(name) + 1] == name + b"\0":
                data[off + 4] &= 0x0F     # binding 0: LOCAL
    with open(path, "wb") as f:
        f.write(data)


def calls(*names, weak=(), data=()):
    """C code that calls each name (an undefined function), references weak
    ones weakly, reads data ones (undefined variables), and defines a few
    symbols of its own."""
    decls = "".join(f"extern void {n}(void);\n" for n in names)
    decls += "".join(f"extern void {n}(void) __attribute__((weak));\n" for n in weak)
    decls += "".join(f"extern int {n};\n" for n in data)
    body = "".join(f"  {n}();\n" for n in names)
    body += "".join(f"  if ({n}) {n}();\n" for n in weak)
    body += "".join(f"  sum += {n};\n" for n in data)
    return (decls + "int defined_global = 1;\nstatic int defined_local(void) { return 2; }\n"
            f"int entry(void) {{\n  int sum = defined_local();\n{body}  return sum;\n}}\n")


@unittest.skipUnless(CC, "needs a C compiler")
class UndefinedSymbolsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def test_lists_undefined_global_and_weak_only(self):
        ko = compile_c(self.tmp, "m.ko", calls("filp_open", "_printk", weak=["maybe_there"],
                                                data=["jiffies"]))
        self.assertEqual(symbols.undefined_symbols(ko),
                         {"filp_open", "_printk", "maybe_there", "jiffies"})

    def test_undefined_symbols_rebound_local_still_count(self):
        # A Makefile can rebind an import to LOCAL after the link; the
        # kernel's loader resolves it all the same.
        ko = compile_c(self.tmp, "m.ko", calls("filp_open", "kfree"))
        rebind_local(ko, b"filp_open")
        out = subprocess.run(["readelf", "-s", ko], stdout=subprocess.PIPE, text=True).stdout
        self.assertRegex(out, r"LOCAL\s+DEFAULT\s+UND filp_open")
        self.assertIn("filp_open", symbols.undefined_symbols(ko))

    def test_names_in_the_versions_section_count(self):
        # modpost's __versions: 64-byte entries, a crc then the name.
        entry = struct.pack("<Q", 0x1234) + b"kernel_read".ljust(56, b"\0")
        code = ('__attribute__((section("__versions"), used)) static const char v[] = "'
                + "".join(f"\\x{b:02x}" for b in entry) + '";\nint f(void) { return 0; }\n')
        ko = compile_c(self.tmp, "v.ko", code)
        self.assertIn("kernel_read", symbols.undefined_symbols(ko))

    def test_object_without_imports(self):
        ko = compile_c(self.tmp, "empty.o", "int x = 3;\nint f(void) { return x; }\n")
        self.assertEqual(symbols.undefined_symbols(ko), set())

    def write(self, name, data):
        path = os.path.join(self.tmp, name)
        with open(path, "wb") as f:
            f.write(data)
        return path

    def test_garbage_and_truncated_files_raise_symbol_error(self):
        good = read_bytes(compile_c(self.tmp, "m.ko", calls("kfree", "vfree")))
        bad = {
            "empty": b"",
            "text": b"obj-m := my_timer.o\n" * 10,
            "zeros": bytes(4096),
            "magic only": b"\x7fELF",
            "32-bit": good[:4] + b"\x01" + good[5:],
            "big-endian": good[:5] + b"\x02" + good[6:],
            "not relocatable": good[:16] + struct.pack("<H", 3) + good[18:],
            "header only": good[:64],
            "no section headers": good[:40] + struct.pack("<Q", 0) + good[48:],
            "section headers past the end": good[:40] + struct.pack("<Q", len(good) - 10) + good[48:],
            "huge section count": good[:60] + struct.pack("<H", 0xfff0) + good[62:],
            "cut in half": good[:len(good) // 2],
            "cut near the end": good[:len(good) - 100],
            "bad section entry size": good[:58] + struct.pack("<H", 40) + good[60:],
        }
        for what, data in bad.items():
            with self.subTest(what):
                with self.assertRaises(symbols.SymbolError):
                    symbols.undefined_symbols(self.write("bad.ko", data))
        # every truncation: a SymbolError or a subset of the names, never a crash
        for cut in range(0, len(good), 97):
            try:
                symbols.undefined_symbols(self.write("cut.ko", good[:cut]))
            except symbols.SymbolError:
                pass

    def test_corrupted_symbol_tables(self):
        good = bytearray(read_bytes(compile_c(self.tmp, "m.ko", calls("kfree"))))
        shoff, = struct.unpack_from("<Q", good, 40)
        shnum, = struct.unpack_from("<H", good, 60)
        for i in range(shnum):
            off = shoff + 64 * i
            if struct.unpack_from("<I", good, off + 4)[0] == symbols.SHT_SYMTAB:
                symtab_off = off
        for field, offset, value in (("size past the end", 32, 1 << 40),
                                     ("offset past the end", 24, 1 << 40),
                                     ("link to no section", 40, 0xffff),
                                     ("link to itself", 40, (symtab_off - shoff) // 64),
                                     ("odd entry size", 56, 7)):
            with self.subTest(field):
                data = bytearray(good)
                fmt = "<I" if offset == 40 else "<Q"
                struct.pack_into(fmt, data, symtab_off + offset, value)
                with self.assertRaises(symbols.SymbolError):
                    symbols.undefined_symbols(self.write("bad.ko", bytes(data)))

    def test_not_a_regular_file_and_too_big(self):
        with self.assertRaises(symbols.SymbolError):
            symbols.undefined_symbols(self.tmp)
        with self.assertRaises(symbols.SymbolError):
            symbols.undefined_symbols(os.path.join(self.tmp, "missing.ko"))
        big = os.path.join(self.tmp, "big.ko")
        with open(big, "wb") as f:
            f.truncate(symbols.ELF_CAP + 1)
        with self.assertRaisesRegex(symbols.SymbolError, "larger than"):
            symbols.undefined_symbols(big)


class DenyListTest(unittest.TestCase):
    DENIED = """filp_open file_open_root filp_close kernel_read kernel_write __kernel_write
        kernel_read_file kernel_read_file_from_path kern_path kern_path_create vfs_read vfs_write
        vfs_getattr d_path file_path iterate_dir lookup_one_len lookup_one_unlocked do_sys_open
        ksys_write __x64_sys_openat __ia32_sys_read
        fget fget_raw fget_task fdget __fdget __fdget_pos fd_install iterate_fd
        task_lookup_fd_rcu task_lookup_next_fd_rcu files_lookup_fd_rcu get_files_struct
        put_files_struct close_fd receive_fd receive_fd_replace
        find_vpid find_pid_ns find_get_pid pid_task get_pid_task find_task_by_vpid
        find_task_by_pid_ns init_task get_task_mm access_process_vm get_user_pages
        get_user_pages_remote pin_user_pages pin_user_pages_fast kthread_use_mm
        vm_mmap vm_munmap call_usermodehelper call_usermodehelper_exec
        kallsyms_lookup_name kallsyms_on_each_symbol register_kprobe register_kprobes
        register_kretprobe unregister_kprobe register_ftrace_function ftrace_set_filter_ip
        kernel_power_off kernel_halt kernel_restart orderly_poweroff orderly_reboot
        emergency_restart machine_power_off machine_restart handle_sysrq
        kill_pid kill_pid_info send_sig send_sig_info force_sig force_sig_info
        group_send_sig_info set_memory_rw set_memory_x text_poke text_poke_bp native_write_cr0
        sys_call_table virtio_config_changed register_virtio_driver register_virtio_device
        __virtio_unbreak_device tty_write_room tty_register_driver hvc_alloc hvc_poll""".split()
    ALLOWED = """simple_read_from_buffer simple_write_to_buffer seq_read seq_read_iter seq_lseek
        seq_printf noop_llseek default_llseek no_llseek vfree vmalloc vzalloc kfree kvfree
        kmalloc_trace __kmalloc proc_create proc_remove _copy_to_user _copy_from_user
        __get_user_4 __put_user_8 strncpy_from_user kthread_create_on_node kthread_stop
        kthread_should_stop wake_up_process _printk __fentry__ __x86_return_thunk
        __stack_chk_fail mutex_lock _raw_spin_lock ktime_get_real_ts64 jiffies msleep
        schedule_timeout __wake_up prepare_to_wait_event finish_wait init_wait_entry
        __register_chrdev __unregister_chrdev alloc_chrdev_region cdev_add class_destroy
        device_create misc_register nonseekable_open stream_open filemap_fault
        generic_file_llseek kernel_param_lock param_ops_int fixed_size_llseek
        simple_open kasprintf sysfs_streq kstrtoint panic""".split()

    def test_denied(self):
        for name in self.DENIED:
            with self.subTest(name):
                self.assertTrue(symbols.is_denied(name))

    def test_allowed_helpers_are_not_denied(self):
        for name in self.ALLOWED:
            with self.subTest(name):
                self.assertFalse(symbols.is_denied(name))

    def test_allowlists_hold_no_denied_name(self):
        for part in ("part2_timer", "part3_chardev"):
            conf = symbols.load_part_conf(part)
            allow = conf.get("symbols", {}).get("allow", [])
            with self.subTest(part):
                self.assertTrue(allow, "part.json has no symbols.allow")
                self.assertEqual(allow, sorted(set(allow)))
                self.assertEqual([n for n in allow if symbols.is_denied(n)], [])


@unittest.skipUnless(CC, "needs a C compiler")
class CheckTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)
        self.build = os.path.join(self.tmp, "build")
        self.src = os.path.join(self.tmp, "src")
        os.makedirs(self.build)
        os.makedirs(self.src)
        self.conf = {"outputs": ["a.ko", "b.ko", "tool"],
                     "symbols": {"allow": ["_printk", "kfree", "vfree"]}}

    def test_check_modules(self):
        a = compile_c(self.build, "a.ko", calls("_printk", "filp_open", "zzz_unknown", "kfree"))
        b = compile_c(self.build, "b.ko", calls("kallsyms_lookup_name", "filp_open", "aaa_unknown"))
        forbidden, review = symbols.check_modules([a, b], ["_printk", "kfree"])
        self.assertEqual(forbidden, [("filp_open", "a.ko"), ("filp_open", "b.ko"),
                                     ("kallsyms_lookup_name", "b.ko")])
        self.assertEqual(review, ["aaa_unknown", "zzz_unknown"])
        self.assertEqual(symbols.check_modules([a], ["_printk", "kfree", "zzz_unknown"]),
                         ([("filp_open", "a.ko")], []))

    def test_check_part_flags(self):
        compile_c(self.build, "a.ko", calls("_printk", "filp_open", "kthread_create_on_node", "kfree"))
        compile_c(self.build, "b.ko", calls("vfree", "register_kprobe", "msleep"))
        with open(os.path.join(self.build, "tool"), "w") as f:
            f.write("not an ELF, and not a module: never read")
        self.assertEqual(symbols.check_part(self.build, self.src, self.conf), [
            "forbidden kernel function filp_open (in a.ko)",
            "forbidden kernel function register_kprobe (in b.ko)",
            "review: uses kernel functions outside the allowlist: kthread_create_on_node, msleep",
        ])

    def test_extra_allow(self):
        compile_c(self.build, "a.ko", calls("_printk", "msleep", "filp_open"))
        self.conf["symbols"]["extra_allow"] = ["msleep", "filp_open"]
        self.assertEqual(symbols.check_part(self.build, self.src, self.conf),
                         ["forbidden kernel function filp_open (in a.ko)"])   # DENY wins

    def test_clean_part_missing_module_and_part_without_modules(self):
        compile_c(self.build, "a.ko", calls("_printk", "kfree"))     # b.ko not built
        self.assertEqual(symbols.check_part(self.build, self.src, self.conf), [])
        self.assertEqual(symbols.check_part(self.build, self.src,
                                            {"outputs": ["part1", "empty"], "build": [["cc"]]}), [])

    def test_unreadable_module_and_source_hits(self):
        with open(os.path.join(self.build, "a.ko"), "wb") as f:
            f.write(b"\x7fELF\x01" + b"garbage" * 10)
        with open(os.path.join(self.src, "a.c"), "w") as f:
            f.write("int f(void)\n{\n\treturn current->comm[0];\n}\n")
        self.assertEqual(symbols.check_part(self.build, self.src, self.conf), [
            "unreadable module: a.ko is not a kernel module the grader can check (not a 64-bit ELF file), so it was not loaded",
            "review: a.c:3: reads current->comm (code that behaves differently depending on who reads it)",
        ])

    def test_grader_files_are_not_scanned(self):
        with open(os.path.join(self.src, "tool.c"), "w") as f:
            f.write("void f(void) { asm(\"nop\"); }\n")
        self.conf["grader_files"] = ["tools/tool.c"]
        self.assertEqual(symbols.check_part(self.build, self.src, self.conf), [])

    def test_command_line(self):
        a = compile_c(self.build, "a.ko", calls("_printk", "filp_open"))
        out = subprocess.run([sys.executable, os.path.join(ROOT, "grader", "symbols.py"), a],
                             stdout=subprocess.PIPE, text=True, check=True).stdout
        self.assertEqual(out.split(), ["_printk", "filp_open"])
        proc = subprocess.run([sys.executable, os.path.join(ROOT, "grader", "symbols.py"),
                               "--part", "part2_timer", a], stdout=subprocess.PIPE, text=True)
        self.assertEqual(proc.returncode, 1)
        self.assertIn("forbidden kernel function filp_open (in a.ko)", proc.stdout)


class SourceScanTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.tmp)

    def scan(self, code, name="m.c", mode="w"):
        with open(os.path.join(self.tmp, name), mode) as f:
            f.write(code)
        return symbols.scan_sources(self.tmp)

    def test_each_kind_of_hit(self):
        cases = {
            "current->comm": "reads current->comm",
            "current -> comm": "reads current->comm",
            "p->comm": "reads a task's name (p->comm)",
            "get_task_comm(buf, p)": "calls get_task_comm",
            "__get_task_comm(buf, 16, p)": "calls __get_task_comm",
            "current->real_parent": "reads ->real_parent",
            "t->parent": "reads ->parent",
            "(*t).real_parent": "names real_parent",
            "list_for_each_entry(p, &t->tasks, tasks)": "walks the task list (->tasks",
            "current->mm": "reads current->mm",
            "#define CAT(a, b) a##b": "pastes tokens with ##",
            "mm->arg_start": "command line or environment (mm->arg_start)",
            "mm->env_start": "command line or environment (mm->env_start)",
            "utsname()->nodename": "calls utsname()",
            "init_uts_ns.name.nodename": "uses init_uts_ns",
            "u->nodename": "reads ->nodename",
            "asm volatile(\"nop\")": "uses inline assembly (asm)",
            "__asm__(\"nop\")": "uses inline assembly (__asm__)",
            "current->files": "reads a task's open files (->files)",
            "struct fdtable *t": "walks a file table (fdtable)",
            "files_fdtable(f)": "walks a file table (files_fdtable)",
            "f->fdt": "walks a file table (->fdt)",
            "file->f_op->write(file, b, n, &pos)": "calls a file's operations directly (->f_op->write)",
            "file->f_op->read_iter": "calls a file's operations directly (->f_op->read_iter)",
            "for_each_process(p)": "walks every process (for_each_process)",
            "for_each_thread(p, t)": "walks every process (for_each_thread)",
            "&init_task": "uses init_task",
            "sys_call_table[0]": "uses sys_call_table",
            "kallsyms_lookup_name(n)": "uses kallsyms_lookup_name",
            "write_cr0(read_cr0() & ~X86_CR0_WP)": "touches control register cr0 (write_cr0",
            "native_read_msr(MSR_LSTAR)": "uses MSR_LSTAR",
            "rdmsrl(0xc0000082, x)": "reads or writes a CPU register (rdmsrl)",
            "wrmsr(a, b, c)": "reads or writes a CPU register (wrmsr)",
        }
        for code, expected in cases.items():
            with self.subTest(code):
                hits = self.scan(f"/* line 1 */\nint f(void)\n{{\n\tx = {code};\n}}\n")
                self.assertTrue(hits, "no hit")
                self.assertTrue(all(h.startswith("m.c:4: ") for h in hits), hits)
                self.assertTrue(any(expected in h for h in hits), hits)

    def test_exact_reason(self):
        text = "\n" * 41 + "\tpr_info(\"%s\\n\", current->comm);\n"
        self.assertEqual(self.scan(text, "my_timer.c"), [
            "my_timer.c:42: reads current->comm (code that behaves differently depending on who reads it)"])

    def test_comments_strings_and_includes_do_not_count(self):
        code = """// SPDX: current->comm
#include <asm/uaccess.h>
#include <linux/kallsyms.h>
/*
 * Reads current->comm, asm, init_task, ->files, for_each_process, cr0,
 * sys_call_table, kallsyms_lookup_name: none of this is code.
 */
static const char *s = "current->comm asm volatile init_task \\" ->files";
static char q = '"', r = '\\'';
int current_time; /* "current time: " */
static int not_asm_ops, comment, parents, nodenames, files_open;
int f(struct timer *t) { return t->committed + t->parents + t->filesize; }
"""
        self.assertEqual(self.scan(code), [])

    def test_line_continuations_and_lines_after_comments(self):
        code = "/* a\n * b\n */\nint x = cur\\\nrent->comm[0];\n// x\nint y = 0; asm(\"\");\n"
        self.assertEqual([h.split(": ")[0] for h in self.scan(code)], ["m.c:4", "m.c:7"])

    def test_invalid_utf8_and_crlf(self):
        hits = self.scan(b"/* \xff\xfe caf\xe9 */\r\nint x;\r\n\xc3\x28 y = current->comm[0];\r\n",
                         mode="wb")
        self.assertEqual([h.split(": ")[0] for h in hits], ["m.c:3"])

    def test_huge_file_is_capped(self):
        big = "int x;\n" * (symbols.SOURCE_CAP // 7 + 10) + "int y = current->comm[0];\n"
        self.assertEqual(self.scan(big), [])
        self.assertEqual(len(self.scan("int z = current->comm[0];\n", "small.h")), 1)

    def test_local_includes_are_scanned_but_not_outside_the_folder(self):
        with open(os.path.join(self.tmp, "helper.inc"), "w") as f:
            f.write("int h = utsname()->nodename[0];\n")
        with open(os.path.join(self.tmp, "notes.txt"), "w") as f:
            f.write("current->comm\n")
        hits = self.scan('#include "helper.inc"\n#include "../etc/passwd"\n#include "/etc/hosts"\n')
        self.assertTrue(hits)
        self.assertTrue(all(h.startswith("helper.inc:1: ") for h in hits), hits)

    def test_only_c_and_h_files_and_no_links(self):
        with open(os.path.join(self.tmp, "Makefile"), "w") as f:
            f.write("# current->comm asm\n")
        os.symlink("/etc/hostname", os.path.join(self.tmp, "link.c"))
        self.assertEqual(symbols.scan_sources(self.tmp), [])
        self.assertEqual(symbols.scan_sources(os.path.join(self.tmp, "missing")), [])


if __name__ == "__main__":
    unittest.main()
