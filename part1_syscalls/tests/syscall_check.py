#!/usr/bin/env python3
"""Checks of part 1 that count and compare system calls; run inside the
grading VM by part1_syscalls.bats on traces it made itself (FRESH_*) and on
the traces the student submitted.

usage:
  syscall_check.py empty-is-empty EMPTY_TRACE REFERENCE_EMPTY_TRACE
  syscall_check.py extra EMPTY_TRACE PART1_TRACE N
  syscall_check.py submitted PROGRAM TRACE
  syscall_check.py consistent SUB_EMPTY SUB_PART1 FRESH_EMPTY FRESH_PART1

Prints what it counted; on failure, why, and exits 1.
"""
import os
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


def extra_calls(empty_names, part1_names):
    """The calls part1 makes that empty does not (+name) and the other way round (-name)."""
    return sorted(f"{mark}{a or b}" for mark, a, b in trace_count.align(empty_names, part1_names)
                  if mark != " ")


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


def check_submitted(program, path):
    text = load(path, f"{os.path.basename(path)} (make it with: strace -o {program}.trace ./{program})")
    calls = trace_count.parse(text)
    if not calls:
        raise CheckFailed(f"{os.path.basename(path)} holds no system calls: is it strace output?")
    first = calls[0]
    if first.name != "execve" or f"{program}\"" not in (first.args or "").split(",")[0]:
        raise CheckFailed(f"{os.path.basename(path)} does not start by running ./{program}: its first "
                          f"call is {first.name}({(first.args or '')[:60]}...). Trace the right program.")
    if calls[-1].name not in ("exit_group", "exit"):
        raise CheckFailed(f"{os.path.basename(path)} does not end with exit_group(): "
                          "the program did not finish normally, or the trace is cut short")
    print(f"{os.path.basename(path)}: {len(calls)} system calls of ./{program}")


def check_consistent(sub_empty, sub_part1, fresh_empty, fresh_part1):
    sub = extra_calls(trace_count.names(load(sub_empty, "empty.trace")),
                      trace_count.names(load(sub_part1, "part1.trace")))
    fresh = extra_calls(trace_count.names(load(fresh_empty, "the fresh trace of empty")),
                        trace_count.names(load(fresh_part1, "the fresh trace of part1")))
    print(f"submitted traces differ by {sub}; fresh traces by {fresh}")
    if sub != fresh:
        raise CheckFailed(
            "the submitted traces do not match the submitted programs: in your traces part1 "
            f"differs from empty by {' '.join(sub) or 'nothing'}, but run now it differs by "
            f"{' '.join(fresh) or 'nothing'}. Make both traces again from the final programs.")


def main(argv):
    commands = {
        "empty-is-empty": (2, check_empty_is_empty),
        "extra": (3, lambda e, p, n: check_extra(e, p, int(n))),
        "submitted": (2, check_submitted),
        "consistent": (4, check_consistent),
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
