#!/usr/bin/env python3
"""Generate and verify the kernel-symbol allowlists of the parts' part.json.

For every part with a kernel module, builds with kbuild (make -C KDIR M=DIR
modules, in a temporary folder, assembled as the grader assembles a
submission) its reference solution, its skeleton and every self-test
variant (selftest/PART/variants/*.patch) that builds, and prints the
undefined symbols of each, and their union.

  --write    merges into PART/tests/part.json's "symbols": {"allow": [...]}:
             what is already there (hand-reviewed names are never removed),
             the union of what was built (less the DENY list of
             grader/symbols.py), and the reviewed alternatives below that this
             kernel exports (Module.symvers in KDIR).
  --verify   runs grader/symbols.py's check_part, exactly as the grader does,
             on every build: each must come out without any flag. Also checks
             that every allowed name is exported by a course kernel (any
             environment in the cache: the matrix), none is
             denied, and the list is sorted. Exits 1 on any problem.

The builds run as the grader's do, in its sandbox (grader/build.py) inside
the course environment, with its limits (some variants are broken builds on
purpose: an endless file, an endless make). KDIR is the environment's
kernel headers (vm/prepare.sh).
"""
import argparse
import glob
import json
import os
import re
import shutil
import sys
import tempfile
import textwrap

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "grader"))
sys.path.insert(0, os.path.join(ROOT, "selftest"))
import build as buildbox  # noqa: E402
import vm  # noqa: E402
import symbols  # noqa: E402
import check_grader  # noqa: E402

# Expect-flag texts of selftest variants that this check (not another) produces.
OUR_FLAGS = re.compile(r"forbidden kernel function |review: (uses kernel functions outside"
                       r"|\S+\.ko is not a kernel module|[^\s:]+:\d+: )")

# ---------------------------------------------------------------------------
# Alternatives a student may legitimately use instead of what the references
# import, reviewed against the kernel's API. Names this kernel does not export
# (other kernel versions spell some differently) are left out, and printed.

COMMON = {
    "seq_file": """
        seq_printf seq_vprintf seq_puts seq_putc seq_write seq_pad
        seq_put_decimal_ll seq_put_decimal_ull seq_read seq_read_iter seq_lseek
        single_open single_open_size single_release seq_open seq_open_private
        __seq_open_private seq_release seq_release_private
        seq_list_start seq_list_start_head seq_list_next""",
    "calendar time": """
        rtc_time64_to_tm time64_to_tm""",
    "procfs": """
        proc_create proc_create_data proc_create_single_data proc_create_seq_private
        proc_mkdir proc_mkdir_mode proc_mkdir_data proc_remove remove_proc_entry
        remove_proc_subtree proc_set_size proc_set_user pde_data PDE_DATA""",
    "file operations": """
        default_llseek generic_file_llseek fixed_size_llseek no_seek_end_llseek
        noop_llseek no_llseek nonseekable_open stream_open simple_open""",
    "time": """
        ktime_get ktime_get_real ktime_get_with_offset ktime_get_coarse_with_offset
        ktime_get_ts64 ktime_get_real_ts64 ktime_get_coarse_ts64
        ktime_get_coarse_real_ts64 ktime_get_raw ktime_get_raw_ts64
        ktime_get_real_seconds ktime_get_seconds ktime_get_boottime
        ktime_get_boottime_ts64 ktime_get_mono_fast_ns ktime_get_boot_fast_ns
        ktime_get_real_fast_ns ktime_get_raw_fast_ns
        ns_to_timespec64 set_normalized_timespec64 time64_to_tm mktime64
        jiffies jiffies_64 get_jiffies_64 jiffies_to_msecs jiffies_to_usecs
        jiffies64_to_msecs jiffies64_to_nsecs __msecs_to_jiffies __usecs_to_jiffies
        nsecs_to_jiffies nsecs_to_jiffies64 jiffies_to_timespec64 timespec64_to_jiffies""",
    "user copies": """
        _copy_to_user _copy_from_user copy_user_enhanced_fast_string
        copy_user_generic_string copy_user_generic_unrolled rep_movs_alternative
        simple_read_from_buffer simple_write_to_buffer
        __put_user_1 __put_user_2 __put_user_4 __put_user_8
        __put_user_nocheck_1 __put_user_nocheck_2 __put_user_nocheck_4 __put_user_nocheck_8
        __get_user_1 __get_user_2 __get_user_4 __get_user_8
        __get_user_nocheck_1 __get_user_nocheck_2 __get_user_nocheck_4 __get_user_nocheck_8
        strncpy_from_user strnlen_user clear_user __clear_user
        clear_user_erms clear_user_original clear_user_rep_good
        memdup_user memdup_user_nul vmemdup_user strndup_user
        kstrtoint_from_user kstrtouint_from_user kstrtol_from_user kstrtoul_from_user
        kstrtoll_from_user kstrtoull_from_user kstrtobool_from_user""",
    "allocation": """
        __kmalloc __kmalloc_node kmalloc_trace kmalloc_node_trace kmalloc_caches
        kmalloc_large kmalloc_large_node kfree kfree_sensitive krealloc ksize
        kvmalloc_node kvfree kvfree_sensitive kvrealloc kvfree_call_rcu
        vmalloc vzalloc vfree
        kmem_cache_create kmem_cache_create_usercopy kmem_cache_destroy
        kmem_cache_alloc kmem_cache_alloc_lru kmem_cache_free
        kstrdup kstrndup kstrdup_const kfree_const kmemdup kmemdup_nul
        kasprintf kvasprintf""",
    "strings": """
        snprintf scnprintf sprintf vsnprintf vscnprintf vsprintf
        memcpy memset memmove memcmp bcmp memchr
        strlen strnlen strscpy strscpy_pad strcpy strncpy strcat strncat strlcpy strlcat
        strcmp strncmp strcasecmp strncasecmp strchr strrchr strnchr strstr strnstr
        strsep strspn strcspn strpbrk strim skip_spaces sysfs_streq match_string
        kstrtoint kstrtouint _kstrtol _kstrtoul kstrtoll kstrtoull kstrtos8 kstrtou8
        kstrtos16 kstrtou16 kstrtobool sscanf vsscanf
        simple_strtol simple_strtoul simple_strtoll simple_strtoull
        get_random_bytes get_random_u32 list_sort""",
    "locks": """
        __mutex_init mutex_lock mutex_unlock mutex_trylock mutex_lock_interruptible
        mutex_lock_killable mutex_is_locked
        _raw_spin_lock _raw_spin_unlock _raw_spin_trylock
        _raw_spin_lock_irq _raw_spin_unlock_irq _raw_spin_lock_irqsave
        _raw_spin_unlock_irqrestore _raw_spin_lock_bh _raw_spin_unlock_bh
        _raw_read_lock _raw_read_unlock _raw_write_lock _raw_write_unlock
        _raw_read_lock_irqsave _raw_read_unlock_irqrestore
        _raw_write_lock_irqsave _raw_write_unlock_irqrestore
        _raw_read_lock_bh _raw_read_unlock_bh _raw_write_lock_bh _raw_write_unlock_bh
        __init_rwsem down_read up_read down_write up_write down_read_trylock
        down_write_trylock down_read_interruptible down_read_killable
        down_write_killable downgrade_write
        down up down_interruptible down_killable down_trylock down_timeout
        __rcu_read_lock __rcu_read_unlock synchronize_rcu call_rcu rcu_barrier""",
    "waiting": """
        __init_waitqueue_head __wake_up prepare_to_wait prepare_to_wait_exclusive
        prepare_to_wait_event finish_wait init_wait_entry autoremove_wake_function
        default_wake_function woken_wake_function wait_woken
        add_wait_queue add_wait_queue_exclusive remove_wait_queue
        schedule schedule_timeout schedule_timeout_interruptible
        schedule_timeout_uninterruptible schedule_timeout_killable schedule_timeout_idle
        schedule_hrtimeout schedule_hrtimeout_range
        msleep msleep_interruptible usleep_range_state __udelay __const_udelay __ndelay
        __init_swait_queue_head wait_for_completion wait_for_completion_interruptible
        wait_for_completion_timeout wait_for_completion_interruptible_timeout
        wait_for_completion_killable complete complete_all try_wait_for_completion
        completion_done
        init_timer_key add_timer mod_timer del_timer del_timer_sync
        timer_delete timer_delete_sync
        hrtimer_init hrtimer_start_range_ns hrtimer_cancel hrtimer_try_to_cancel
        hrtimer_forward
        alloc_workqueue destroy_workqueue __flush_workqueue flush_work flush_delayed_work
        queue_work_on queue_delayed_work_on mod_delayed_work_on cancel_work_sync
        cancel_delayed_work cancel_delayed_work_sync delayed_work_timer_fn
        system_wq system_unbound_wq system_long_wq""",
    "printk": """
        _printk __dynamic_pr_debug __warn_printk __printk_ratelimit ___ratelimit
        dump_stack print_hex_dump""",
    "module parameters": """
        param_ops_int param_ops_uint param_ops_long param_ops_ulong param_ops_short
        param_ops_ushort param_ops_byte param_ops_bool param_ops_bint param_ops_invbool
        param_ops_charp param_ops_string param_ops_ullong param_ops_llong param_ops_hexint
        param_array_ops""",
    "list debugging": """
        __list_add_valid __list_del_entry_valid
        __list_add_valid_or_report __list_del_entry_valid_or_report""",
    "compiler and kernel configuration": """
        __fentry__ __x86_return_thunk
        __x86_indirect_thunk_rax __x86_indirect_thunk_rbx __x86_indirect_thunk_rcx
        __x86_indirect_thunk_rdx __x86_indirect_thunk_rsi __x86_indirect_thunk_rdi
        __x86_indirect_thunk_rbp __x86_indirect_thunk_r8 __x86_indirect_thunk_r9
        __x86_indirect_thunk_r10 __x86_indirect_thunk_r11 __x86_indirect_thunk_r12
        __x86_indirect_thunk_r13 __x86_indirect_thunk_r14 __x86_indirect_thunk_r15
        __stack_chk_fail module_layout __cond_resched __might_sleep __might_fault
        __might_resched __check_object_size
        preempt_schedule preempt_schedule_notrace preempt_schedule_thunk
        preempt_schedule_notrace_thunk __preempt_count current_task pcpu_hot
        __SCT__cond_resched __SCT__might_resched __SCT__preempt_schedule
        __SCT__preempt_schedule_notrace
        fortify_panic __fortify_panic refcount_warn_saturate debug_smp_processor_id
        __this_cpu_preempt_check""",
}

CHARDEV_KTHREAD = {
    "character devices": """
        __register_chrdev __unregister_chrdev alloc_chrdev_region register_chrdev_region
        unregister_chrdev_region cdev_init cdev_alloc cdev_add cdev_del
        cdev_device_add cdev_device_del class_create __class_create class_destroy
        device_create device_destroy misc_register misc_deregister compat_ptr_ioctl
        _dev_info _dev_notice _dev_warn _dev_err __dynamic_dev_dbg""",
    "kernel threads": """
        kthread_create_on_node kthread_stop kthread_should_stop wake_up_process
        kthread_park kthread_unpark kthread_should_park __kthread_should_park kthread_parkme
        __put_task_struct yield""",
    "ids": """
        ida_alloc_range ida_free ida_destroy""",
}

ALTERNATIVES = {"part2_timer": COMMON, "part3_chardev": {**COMMON, **CHARDEV_KTHREAD}}


def alternatives(part):
    groups = ALTERNATIVES.get(part, {**COMMON, **CHARDEV_KTHREAD})
    return {name for text in groups.values() for name in text.split()}


# ---------------------------------------------------------------------------

def course_kernel():
    """(build root, KDIR inside it) of the course environment."""
    assets = vm.read_assets()
    return assets["BUILD_ROOT"], assets["KDIR"]


def every_kernels_exports(root):
    """{name: module} exported by any kernel of the course environments in the
    cache beside root (the kernel matrix: an allowlist serves every kernel)."""
    exports = {}
    for symvers in sorted(glob.glob(os.path.join(os.path.dirname(os.path.dirname(root)), "*", "root",
                                                 "usr", "src", "linux-headers-*", "Module.symvers"))):
        for name, module in read_symvers(os.path.dirname(symvers)).items():
            exports.setdefault(name, module)
    return exports


def read_symvers(kdir):
    """{name: module} of every symbol the kernel (and its modules) export."""
    exports = {}
    with open(os.path.join(kdir, "Module.symvers"), encoding="utf-8") as f:
        for line in f:
            fields = line.rstrip("\n").split("\t")
            if len(fields) >= 4:
                exports[fields[1]] = fields[2]
    return exports


def module_parts():
    parts = []
    for entry in sorted(os.listdir(ROOT)):
        conf_path = os.path.join(ROOT, entry, "tests", "part.json")
        if entry.startswith("part") and os.path.isfile(conf_path):
            with open(conf_path, encoding="utf-8") as f:
                if any(o.endswith(".ko") for o in json.load(f).get("outputs", [])):
                    parts.append(entry)
    return parts


def read_conf(part):
    with open(os.path.join(ROOT, part, "tests", "part.json"), encoding="utf-8") as f:
        return json.load(f)


def sources(part):
    """[(name, kind, patch or None, expectation)] for the reference, the
    skeleton and each variant; expectation: "builds" (expected to build),
    "broken build" (Expect-fail: *), and for a hostile variant (its Breaks:
    says "hostile", or it expects flags) also "hostile", with its flags."""
    found = [("reference", "reference", None, {"builds": True, "hostile": False, "flags": []}),
             ("skeleton", "skeleton", None, {"builds": True, "hostile": False, "flags": []})]
    variants = os.path.join(ROOT, "selftest", part, "variants")
    if os.path.isdir(variants):
        for patch in sorted(os.listdir(variants)):
            if patch.endswith(".patch"):
                path = os.path.join(variants, patch)
                e = check_grader.read_expectations(path)
                found.append((patch[:-len(".patch")], "variant", path, {
                    "builds": "*" not in e.fails, "flags": e.flags,
                    "hostile": bool(e.flags) or e.breaks.lower().startswith("hostile")}))
    return found


def assemble(part, kind, patch, dest, conf):
    """The part's sources as the grader has them before a build: the part
    folder (plus solution/ for the reference, plus a patch for a variant),
    the grader's own files and course.conf."""
    src = os.path.join(ROOT, part)
    if kind == "variant":
        check_grader.make_variant(part, patch, dest)
    else:
        os.makedirs(dest)
        folders = [src] + ([os.path.join(src, "solution")] if kind == "reference" else [])
        for folder in folders:
            for name in os.listdir(folder):
                if os.path.isfile(os.path.join(folder, name)):
                    shutil.copy(os.path.join(folder, name), dest)
    for rel in conf.get("grader_files", []):
        shutil.copy(os.path.join(src, rel), dest)
    shutil.copy(os.path.join(ROOT, "course.conf"), os.path.join(dest, "course.conf"))


def kbuild(src_dir, build_dir, kdir, timeout, kos):
    """Build src_dir at build_dir in the sandbox; (ok, last lines of the log)."""
    status, log = buildbox.run(src_dir, build_dir, build_dir,
                               [["make", "-C", kdir, f"M={build_dir}", "modules"]], kos, timeout)
    why = f"exit status {status}"
    return status == 0, why + ": " + " | ".join(log.strip().splitlines()[-3:])


def build_part(part, kdir, timeout, work):
    """[(name, expectation, result)] where result is
    {"built": bool, "why": str, "imports": {ko: names}, "src": dir, "build": dir}."""
    conf = read_conf(part)
    kos = [o for o in conf["outputs"] if o.endswith(".ko")]
    timeout = timeout or conf.get("build_timeout", 120)
    results = []
    for name, kind, patch, expected in sources(part):
        src = os.path.join(work, part, name, "src")
        build = os.path.join(work, part, name, "build")
        assemble(part, kind, patch, src, conf)
        os.makedirs(build)
        for path in (work, os.path.join(work, part), os.path.dirname(src)):
            os.chmod(path, 0o755)   # the sandbox's build user reads the sources
        ok, why = kbuild(src, build, kdir, timeout, kos)
        result = {"built": ok, "why": why, "imports": {}, "src": src, "build": build}
        if ok:
            for ko in kos:
                path = os.path.join(build, ko)
                if os.path.isfile(path):
                    result["imports"][ko] = symbols.undefined_symbols(path)
            result["built"] = bool(result["imports"])
        results.append((name, expected, result))
        print(f"  built {part} {name}: {'ok' if result['built'] else why}", file=sys.stderr)
    return results


def wrap(names, indent):
    return textwrap.fill(" ".join(sorted(names)), width=100, initial_indent=indent,
                         subsequent_indent=indent, break_on_hyphens=False)


# ---------------------------------------------------------------------------
# part.json, edited in place: only the "symbols" key is touched

def top_level_spans(text):
    """{key: (start, end)} of each top-level value of the JSON object in text."""
    dec = json.JSONDecoder()
    spans = {}
    i = text.index("{") + 1

    def skip(i):
        while text[i] in " \t\r\n":
            i += 1
        return i
    i = skip(i)
    if text[i] == "}":
        return spans, i
    while True:
        key, i = dec.raw_decode(text, skip(i))
        i = skip(i)
        assert text[i] == ":"
        start = skip(i + 1)
        _, end = dec.raw_decode(text, start)
        spans[key] = (start, end)
        i = skip(end)
        if text[i] == "}":
            return spans, i
        assert text[i] == ","
        i += 1


def render_symbols(value):
    lines = ["{"]
    keys = ["allow"] + [k for k in value if k != "allow"]
    for n, key in enumerate(keys):
        item = value.get(key, [])
        comma = "," if n < len(keys) - 1 else ""
        if isinstance(item, list) and all(isinstance(s, str) for s in item):
            if item:
                body = ",\n".join(f"      {json.dumps(s)}" for s in item)
                lines.append(f"    {json.dumps(key)}: [\n{body}\n    ]{comma}")
            else:
                lines.append(f"    {json.dumps(key)}: []{comma}")
        else:
            lines.append(f"    {json.dumps(key)}: {json.dumps(item)}{comma}")
    lines.append("  }")
    return "\n".join(lines)


def write_allow(part, allow):
    path = os.path.join(ROOT, part, "tests", "part.json")
    with open(path, encoding="utf-8") as f:       # re-read: others edit this file too
        text = f.read()
    data = json.loads(text)
    value = dict(data.get("symbols") or {})
    value["allow"] = sorted(allow)
    rendered = render_symbols(value)
    spans, close = top_level_spans(text)
    if "symbols" in spans:
        start, end = spans["symbols"]
        text = text[:start] + rendered + text[end:]
    else:
        last = text.rstrip()[:-1].rstrip()       # up to the last value
        sep = "," if spans else ""
        text = last + f'{sep}\n  "symbols": ' + rendered + "\n" + text[len(text.rstrip()) - 1:]
    json.loads(text)                              # still valid JSON
    with open(path + ".tmp", "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(path + ".tmp", path)


# ---------------------------------------------------------------------------

def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("parts", nargs="*", help="part folders (default: every part with a kernel module)")
    ap.add_argument("--timeout", type=int, default=0, help="seconds per build (default: the part's build_timeout)")
    ap.add_argument("--write", action="store_true", help="merge into part.json's symbols.allow")
    ap.add_argument("--verify", action="store_true", help="check_part on every build: all must be clean")
    args = ap.parse_args(argv)
    root, kdir = course_kernel()
    exports = read_symvers(root + kdir)
    parts = args.parts or module_parts()
    problems = []
    with tempfile.TemporaryDirectory(prefix="symbol-allowlist.") as work:
        for part in parts:
            results = build_part(part, kdir, args.timeout, work)
            print(f"{part} (KDIR={kdir})")
            union = set()
            for name, expect, r in results:
                if not r["built"]:
                    note = "  <-- expected to build" if expect["builds"] else ""
                    print(f"  {name}: does not build ({r['why']}){note}")
                    if expect["builds"]:
                        problems.append(f"{part} {name}: does not build ({r['why']})")
                    continue
                names = set().union(*r["imports"].values())
                if expect["hostile"]:
                    # Hostile code does not shape the allowlist; --verify shows its flags.
                    print(f"  {name} ({len(names)}, hostile: left out of the union):")
                else:
                    union |= names
                    print(f"  {name} ({len(names)}):")
                print(wrap(names, "      "))
            denied = {n for n in union if symbols.is_denied(n)}
            print(f"  union ({len(union)}):")
            print(wrap(union, "      "))
            if denied:
                print(f"  DENIED, left out: {' '.join(sorted(denied))}")
                problems.append(f"{part}: the builds import denied names {sorted(denied)}")
            alts = alternatives(part)
            missing = alts - set(exports)
            print(f"  reviewed alternatives: {len(alts - missing)} exported by this kernel;"
                  f" {len(missing)} not, left out:")
            print(wrap(missing, "      "))

            if args.write:
                current = set((read_conf(part).get("symbols") or {}).get("allow", []))
                new = current | (union - denied) | (alts - missing)
                write_allow(part, new)
                print(f"  wrote {part}/tests/part.json: {len(new)} allowed names"
                      f" ({len(new - current)} new)")

            if args.verify:
                conf = read_conf(part)
                allow = conf.get("symbols", {}).get("allow", [])
                if allow != sorted(set(allow)):
                    problems.append(f"{part}: symbols.allow is not sorted or has duplicates")
                every = every_kernels_exports(root)
                for n in allow:
                    if n not in every:
                        problems.append(f"{part}: {n} is allowed but no course kernel exports it")
                    elif every[n] != "vmlinux":
                        problems.append(f"{part}: {n} is exported by {every[n]}, not vmlinux")
                    if symbols.is_denied(n):
                        problems.append(f"{part}: {n} is allowed but on the DENY list")
                print(f"  verify {part}: {len(allow)} allowed names"
                      f" ({len(conf.get('symbols', {}).get('extra_allow', []))} extra)")
                for name, expect, r in results:
                    if not r["built"]:
                        print(f"    {name:32} not built (a broken build on purpose)" if not expect["builds"]
                              else f"    {name:32} NOT BUILT")
                        continue
                    flags = symbols.check_part(r["build"], r["src"], conf)
                    count = len(set().union(*r["imports"].values()))
                    mine = [t for t in expect["flags"] if OUR_FLAGS.match(t)]
                    if not expect["flags"]:
                        verdict = "clean" if not flags else "FLAGGED"
                        problems += [f"{part} {name}: {flag}" for flag in flags]
                    else:
                        # A variant that expects flags: ours must include those of this
                        # check; other flags (from other checks) it may expect are not ours.
                        unmet = [t for t in mine if not any(t in flag for flag in flags)]
                        verdict = (f"flagged as expected ({len(flags)} flags)" if not unmet
                                   else f"NOT FLAGGED {unmet}")
                        problems += [f"{part} {name}: expected flag missing: {t}" for t in unmet]
                    print(f"    {name:32} {verdict} ({count} symbols)")
                    for flag in flags:
                        print(f"      {flag}")
    if args.verify or problems:
        print("\n" + ("\n".join("PROBLEM: " + p for p in problems) if problems
                      else "verify: every reference, skeleton and variant that builds is clean,"
                           " and every variant that expects flags of this check gets them"))
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
