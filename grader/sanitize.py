"""Make untrusted text safe to show: student code decides what build logs,
/proc files and kernel log lines say, and all of it reaches test outputs
and notes.

clean(text): every character a terminal, an XML parser or a JSON reader
could trip over becomes a visible escape, written out as plain characters:

    ESC (0x1b)        ->  \\x1b     (so "\\x1b[31m" arrives as the 7 characters \\x1b[31m)
    CR (0x0d)         ->  \\r
    other C0, DEL, C1 ->  \\xNN     (two lowercase hex digits: \\x00, \\x7f, \\x85, \\x9b)
    anything else     ->  \\uNNNN   (U+2028, U+2029, lone surrogates, U+FFFE, U+FFFF,
                                   U+FDD0..U+FDEF, bidirectional overrides and isolates)

Only newline and tab are kept as they are. An ANSI sequence (CSI "ESC [",
OSC "ESC ] ... BEL" or "ESC ] ... ESC \\", or ESC and one character) thus
arrives as inert text: its ESC, and an OSC's BEL, are escaped, the rest is
printable. Backslashes are left alone, so a student who prints the four
characters \\x1b looks the same as one who printed an ESC; nothing in the
output can act on a terminal or break junit.xml either way.

cap(text, limit): at most `limit` characters, cut at a line boundary where
possible, with a last line saying how much was cut:
    [... N more character(s) in M line(s) cut by the grader]
clip(text, limit): clean() then cap(), cleaning only what is shown (N and
M then count the original text).

strip(text): ANSI sequences and the same characters removed rather than
escaped (for comparing text, e.g. grader/leakguard.py).
"""
import re

# Characters that are escaped. C0 but \t and \n; DEL; C1 (includes U+0085
# NEL and U+009B, the one-byte CSI); U+061C, U+200E/F, U+202A..E and
# U+2066..9 (bidirectional marks, embeddings, overrides and isolates, which
# make a line read differently from what it says); the line and paragraph
# separators; surrogates (only lone ones can occur in a str); and the
# noncharacters XML 1.0 forbids (U+FFFE, U+FFFF) or discourages (U+FDD0..EF).
UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029"
                    "\u202a-\u202e\u2066-\u2069\ud800-\udfff\ufdd0-\ufdef\ufffe\uffff]")
# ANSI escape sequences, for strip(): CSI, OSC (ended by BEL or ESC \), and
# ESC followed by any one character.
ANSI = re.compile(r"\x1b\[[0-?]*[ -/]*[@-~]?|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)?|\x1b.?", re.S)

CUT_MARK = "[... {chars} more character(s) in {lines} line(s) cut by the grader]"
_MARK_ROOM = 80      # what cap() keeps free for CUT_MARK


def _escape(match):
    ch = match.group()
    if ch == "\r":
        return "\\r"
    code = ord(ch)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def as_text(value):
    """Any value as a str: bytes are decoded as UTF-8 (undecodable bytes
    become \\xNN), None is empty, anything else goes through str()."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).decode("utf-8", errors="backslashreplace")
    try:
        return str(value)
    except Exception:  # noqa: BLE001 - a junk object must not stop grading
        return f"<unprintable {type(value).__name__}>"


def clean(text):
    """text with every control character but newline and tab (and every
    character XML 1.0 forbids) replaced by a visible escape (see above)."""
    return UNSAFE.sub(_escape, as_text(text))


def strip(text):
    """text without ANSI sequences and without the characters clean() escapes."""
    return UNSAFE.sub("", ANSI.sub("", as_text(text)))


def cap(text, limit=4096):
    """At most `limit` characters of text: the beginning, cut after a newline
    where one falls in the second half of what is kept, then a line saying
    how much was cut (below 80 characters of limit, a plain cut)."""
    text = as_text(text)
    limit = max(0, int(limit))
    if len(text) <= limit:
        return text
    if limit < 2 * _MARK_ROOM:
        return text[:limit]
    budget = limit - _MARK_ROOM
    head = text[:budget]
    newline = head.rfind("\n")
    if newline >= budget // 2:
        head = head[:newline + 1]
    rest = text[len(head):]
    lines = rest.count("\n") + (0 if rest.endswith("\n") else 1)
    if not head.endswith("\n"):
        head += "\n"
    return (head + CUT_MARK.format(chars=len(rest), lines=lines))[:limit]


def clip(text, limit=4096):
    """cap(clean(text), limit), what the reports do with every untrusted
    text, in time bounded by `limit` rather than by the length of text: only
    what is shown is cleaned. The last line counts the characters and lines
    of the original text that were cut."""
    raw = as_text(text)
    limit = max(0, int(limit))
    if len(raw) <= limit:
        out = clean(raw)
        if len(out) <= limit:
            return out
    if limit < 2 * _MARK_ROOM:
        return clean(raw[:limit])[:limit]
    budget = limit - _MARK_ROOM
    shown, size, pos = [], 0, 0
    while pos < len(raw):               # whole lines while they fit
        newline = raw.find("\n", pos, pos + budget + 1)
        end = newline + 1 if newline >= 0 else min(len(raw), pos + budget + 1)
        piece = clean(raw[pos:end])
        if size + len(piece) > budget:
            break
        shown.append(piece)
        size, pos = size + len(piece), end
    if pos < len(raw) and size < budget // 2:
        # No line boundary in the second half: cut inside the line, as many
        # characters as fit once escaped (escapes are never split).
        room, low, high = budget - size, 0, budget - size
        while low < high:
            mid = (low + high + 1) // 2
            if len(clean(raw[pos:pos + mid])) <= room:
                low = mid
            else:
                high = mid - 1
        shown.append(clean(raw[pos:pos + low]))
        pos += low
    head = "".join(shown)
    if pos >= len(raw):
        return head
    rest = len(raw) - pos
    lines = raw.count("\n", pos) + (0 if raw.endswith("\n") else 1)
    if not head.endswith("\n"):
        head += "\n"
    return (head + CUT_MARK.format(chars=rest, lines=lines))[:limit]


def one_line(text, limit=512):
    """clean()ed, newlines and tabs made spaces, capped: for flags and titles."""
    text = clean(text).replace("\n", " ").replace("\t", " ").strip()
    return text if len(text) <= limit else text[:limit - 3] + "..."
