"""Parse what the guest streamed back: bats TAP lines plus "@@" markers
(see vm/guest/guest-init.sh)."""
import re
from dataclasses import dataclass, field

# bats' own stack trace of a failing test: noise next to our messages.
TRACE = re.compile(r"^\s*\(?(from function|in test file) |^\s*`.*' failed$")
RESULT = re.compile(r"^(not )?ok (\d+) (.*?)(?: in (\d+)ms)?$")
SKIP = re.compile(r"^(.*?) # skip\b ?(.*)$")


@dataclass
class TestOutcome:
    title: str
    passed: bool
    output: str = ""
    ms: int = 0
    skipped: bool = False


@dataclass
class Stream:
    outcomes: list = field(default_factory=list)   # TestOutcomes in run order
    finished: bool = False      # bats ran to the end and the guest said @@done
    dmesg: str = ""
    tainted: int = 0
    noise: str = ""             # anything bats printed outside a test
    restart: str = ""           # why the guest asked for a fresh VM, if it did
    uptimes: dict = field(default_factory=dict)  # guest uptime at boot, bats start/end
    info: list = field(default_factory=list)     # "@@info TEXT" lines: no points, for the report


def parse(text):
    stream = Stream()
    current, in_dmesg, dmesg = None, False, []
    for line in text.splitlines():
        if in_dmesg:
            if line == "@@dmesg-end":
                in_dmesg = False
            else:
                dmesg.append(line)
            continue
        if line.startswith("@@"):
            word, _, rest = line[2:].partition(" ")
            last = rest.split()[-1] if rest.split() else ""
            if word in ("boot", "bats-start", "bats-exit") and re.match(r"^\d+\.\d+$", last):
                stream.uptimes[word] = float(last)
            if word == "dmesg-begin":
                in_dmesg = True
            elif word == "tainted" and rest.strip().isdigit():
                stream.tainted = int(rest)
            elif word == "restart":
                stream.restart = rest.strip() or "a test left the kernel dirty"
            elif word == "done":
                stream.finished = True
            elif word == "info" and rest.strip():
                stream.info.append(rest.strip())
            current = None
            continue
        match = RESULT.match(line)
        if match:
            title, skipped = match.group(3), False
            skip = SKIP.match(title)
            if skip:
                title, skipped = skip.group(1), True
            current = TestOutcome(title=title, passed=not match.group(1) and not skipped,
                                  ms=int(match.group(4) or 0), skipped=skipped)
            if skipped:
                current.output = "the test was skipped: " + (skip.group(2) or "no reason given")
            stream.outcomes.append(current)
        elif line.startswith("#") and current is not None:
            text = line[2:] if line.startswith("# ") else line[1:]
            if not TRACE.match(text):
                current.output += text + "\n"
        elif not re.match(r"^1\.\.\d+$", line):
            stream.noise += line + "\n"
    stream.dmesg = "\n".join(dmesg)
    return stream
