#!/usr/bin/env python3
"""Checks of part 1 that count and compare system calls; run inside the
grading VM by part1_syscalls.bats on traces it made itself (FRESH_*) and on
the traces the student submitted.

usage:
  syscall_check.py empty-is-empty EMPTY_TRACE REFERENCE_EMPTY_TRACE
  syscall_check.py extra EMPTY_TRACE PART1_TRACE N
  syscall_check.py submitted PROGRAM TRACE FRESH_TRACE (or - if there is none)
  syscall_check.py complete TRACE
  syscall_check.py consistent SUB_EMPTY SUB_PART1 FRESH_EMPTY FRESH_PART1

Prints what it counted; on failure, why, and exits 1.
"""
import os
import re
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import trace_count  # noqa: E402


class CheckFailed(Exception):
    pass


def load(path, what):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read()
    except FileNotFoundError:
        raise CheckFailed(f"{what} was not found") from None


def check_empty_is_empty(empty, reference):
    got = trace_count.count(load(empty, "the fresh trace of empty"))
    want = trace_count.count(load(reference, "the trace of the grader's empty program"))
    print(f"empty makes {got} system calls; an empty main() makes {want}")
    if got != want:
        raise CheckFailed(f"empty makes {got} system calls but an empty program "
                          f"(int main(void) {{ return 0; }}) makes {want}: "
                          "empty.c must do nothing")


def check_extra(empty, part1, n):
    e_text = load(empty, "the fresh trace of empty")
    p_text = load(part1, "the fresh trace of part1")
    e_names, p_names = trace_count.names(e_text), trace_count.names(p_text)
    diff = len(p_names) - len(e_names)
    print(f"empty makes {len(e_names)} system calls, part1 makes {len(p_names)}: {diff} more")
    if diff != n:
        raise CheckFailed(
            f"part1 makes {diff} more system calls than empty, expected exactly {n}.\n"
            "The two traces side by side (+ only in part1, - only in empty):\n"
            + trace_count.side_by_side(e_names, p_names, "empty", "part1"))


def traced_path(first_call):
    """The program a trace's execve() ran, if it is a plain path."""
    match = re.match(r'"([A-Za-z0-9_./+-]{1,64})"', first_call.args or "")
    return match.group(1) if match else None


def check_submitted(program, path, fresh_path):
    """PATH (submitted) is a complete trace of one run of PROGRAM: it starts
    with execve(), ends with exit_group(), and after start-up makes the
    calls a fresh trace of PROGRAM makes (trace_count.canonical: another
    C library or a terminal for stdout make no difference). The name of
    the traced file is not judged; a different one is only noted."""
    name = os.path.basename(path)
    calls = trace_count.parse(load(path, f"{name} (make it with: make traces)"))
    if not calls:
        raise CheckFailed(f"{name} holds no system calls: is it strace output?")
    if calls[0].name != "execve":
        raise CheckFailed(f"{name} does not start with execve(): its first call is "
                          f"{calls[0].name}({(calls[0].args or '')[:60]}...). It must be the trace "
                          f"of a whole run: strace -o {name} ./{program}")
    if calls[-1].name not in ("exit_group", "exit"):
        raise CheckFailed(f"{name} does not end with exit_group(): "
                          "the program did not finish normally, or the trace is cut short")
    traced = traced_path(calls[0])
    if fresh_path == "-":
        print(f"{name}: {len(calls)} system calls; not compared with a fresh trace, as "
              f"./{program} could not be traced to its end (see the other tests)")
        return
    fresh = trace_count.parse(load(fresh_path, f"the fresh trace of {program}"))
    unexplained = [d for d in trace_count.differences(fresh, calls)
                   if d[1:] not in trace_count.STARTUP_CALLS]
    if unexplained:
        raise CheckFailed(
            f"{name} is not a trace of your {program}.c: after start-up it differs from a trace "
            f"of ./{program} made now by {' '.join(unexplained)} (+ only in {name}, - only in "
            "the fresh trace). Trace the right program, from your final sources: make traces")
    print(f"{name}: {len(calls)} system calls, the same as ./{program} after start-up")
    if traced is None or os.path.basename(traced) != program:
        shown = traced or "another file"
        print(f"@@info note (no points taken): {name} traces {shown}, not ./{program}; "
              f"its calls are those of ./{program}")


def check_consistent(sub_empty, sub_part1, fresh_empty, fresh_part1):
    """The extra calls of part1 over empty are the same in the submitted
    traces and in fresh ones, up to another C library's renamed calls, its
    optional calls (trace_count.OPTIONAL_CALLS) and where stdout went."""
    def extra(empty, part1, what):
        return sorted(d for d in trace_count.differences(
            trace_count.parse(load(empty, f"{what} empty trace")),
            trace_count.parse(load(part1, f"{what} part1 trace")))
            if d[1:] not in trace_count.OPTIONAL_CALLS)
    sub = extra(sub_empty, sub_part1, "the submitted")
    fresh = extra(fresh_empty, fresh_part1, "the fresh")
    print(f"submitted traces differ by {sub}; fresh traces by {fresh}")
    if sub != fresh:
        raise CheckFailed(
            "the submitted traces do not match the submitted programs: in your traces part1 "
            f"differs from empty by {' '.join(sub) or 'nothing'}, but run now it differs by "
            f"{' '.join(fresh) or 'nothing'}. Make both traces again from the final programs.")


def check_complete(path):
    """The trace ends with exit_group(): the program ran to its end."""
    calls = trace_count.parse(load(path, "the trace"))
    if not calls or calls[-1].name not in ("exit_group", "exit"):
        raise CheckFailed(f"{path} does not end with exit_group()")


def main(argv):
    commands = {
        "empty-is-empty": (2, check_empty_is_empty),
        "extra": (3, lambda e, p, n: check_extra(e, p, int(n))),
        "submitted": (3, check_submitted),
        "consistent": (4, check_consistent),
        "complete": (1, check_complete),
    }
    if len(argv) < 2 or argv[1] not in commands or len(argv) - 2 != commands[argv[1]][0]:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    try:
        commands[argv[1]][1](*argv[2:])
    except CheckFailed as e:
        print(e, file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
