"""The record format of the results stream, for both ends: the guest agent
(vm/guest/guest-agent.py, which imports it from /job/lib) writes records,
the host (grader/tap.py) reads them. One place for the format.

A record is one line, ended by "\\n" and by nothing else:

    TAG SEQ CHANNEL TEXT

- TAG: HMAC-SHA256 (hex, first 32 digits) of "SEQ CHANNEL TEXT" under the
  per-boot secret the host put in the job folder (readable by root only).
- SEQ: 0, 1, 2, ... with no gap: a record the host did not expect in that
  place was not written by the agent.
- CHANNEL: which source the agent read TEXT from (CHANNELS below). The
  channel is decided by the agent, never by the text.
- TEXT: one line of that source with every control character (and the
  Unicode line separators) escaped as \\xNN / \\uNNNN, so nothing relayed
  can end a record or start a new one.

The tag is defence in depth: kernel code can do anything inside the VM,
including reading the secret. The main walls are the host's strict state
machine (grader/tap.py) and the checks before boot (grader/symbols.py).
The guest's Python has no hmac module, hence the few lines below.
"""
import functools
import hashlib
import re

CHANNELS = {
    "A": "the agent's own events (boot, bats-start, bats-exit, tainted, done)",
    "T": "bats' TAP output (stdout and stderr of bats --tap)",
    "K": "the kernel log (dmesg), data only",
}
TAG_DIGITS = 32
MAX_TEXT = 4096          # characters of one relayed line; the rest is cut
# C0 and C1 controls (tab kept), DEL, and what Python or a terminal treats
# as a line end: NEL, LS, PS.
_UNSAFE = re.compile("[\x00-\x08\x0a-\x1f\x7f-\x9f\u2028\u2029]")
RECORD = re.compile(r"^([0-9a-f]{%d}) (\d{1,12}) ([A-Z]) (.*)$" % TAG_DIGITS)


def _escape_char(match):
    code = ord(match.group(0))
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def escape(text):
    """TEXT made safe to relay: one line, no control character."""
    if len(text) > MAX_TEXT:
        text = text[:MAX_TEXT] + f" [cut: {len(text) - MAX_TEXT} more characters]"
    return _UNSAFE.sub(_escape_char, text)


@functools.lru_cache(maxsize=8)
def _pads(key):
    """The inner and outer hash states of HMAC for one key, computed once."""
    block = 64
    if len(key) > block:
        key = hashlib.sha256(key).digest()
    key = key.ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))
    return inner, outer


def hmac_sha256(key, message):
    """RFC 2104 HMAC with SHA-256 (tests/test_records.py checks it against
    the standard library's hmac)."""
    inner, outer = (h.copy() for h in _pads(key))
    inner.update(message)
    outer.update(inner.digest())
    return outer.hexdigest()


def tag(key, seq, channel, text):
    return hmac_sha256(key, f"{seq} {channel} {text}".encode())[:TAG_DIGITS]


def encode(key, seq, channel, text):
    """One record, as bytes ready for the port. text must already be escaped."""
    return f"{tag(key, seq, channel, text)} {seq} {channel} {text}\n".encode()


def decode(key, line):
    """(seq, channel, text) of one record line (str, without its "\\n"), or
    raise ValueError saying why it is not a record of the agent."""
    match = RECORD.match(line)
    if not match:
        raise ValueError("a line that is not a record")
    digest, seq, channel, text = match.groups()
    if channel not in CHANNELS:
        raise ValueError(f"a record on an unknown channel {channel!r}")
    if _UNSAFE.search(text):
        raise ValueError("a record with an unescaped control character")
    if tag(key, int(seq), channel, text) != digest:
        raise ValueError("a record whose tag does not match (not written by the agent)")
    return int(seq), channel, text
