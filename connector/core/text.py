"""Text from a CRM or a user, made safe for where it goes: the store (no control characters), a
terminal (no escape sequences, no bidi overrides), XML (only characters XML allows), Markdown
(its syntax escaped, nothing HTML-escaped) and JSON printed on a terminal.

Every output escapes at its own edge; ingest only drops what is not text (connector.core.normalise).
"""

from __future__ import annotations

import re

# Terminal escape sequences, whole: CSI (ESC [ ... final), OSC (ESC ] ... BEL or ST, e.g. OSC-8
# links), DCS / SOS / PM / APC strings (ESC P|X|^|_ ... ST), the two-character ESC sequences, and
# the 8-bit forms of CSI and OSC. An unterminated string runs to the end of the text.
_ESCAPES = re.compile(
    r"\x1b\[[0-?]*[ -/]*[@-~]"
    r"|\x1b\][^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c|$)"
    r"|\x1b[PX^_][^\x1b\x9c]*(?:\x1b\\|\x9c|$)"
    r"|\x1b[ -/]*[0-~]"
    r"|\x9b[0-?]*[ -/]*[@-~]"
    r"|\x9d[^\x07\x1b\x9c]*(?:\x07|\x1b\\|\x9c|$)"
)
# C0 controls but tab and newline, DEL, C1 controls, and lone surrogates (not characters: no
# encoding can store them)
_CONTROLS = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\ud800-\udfff]")
# the bidi embeddings, overrides and isolates that make text show in another order than it is
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_BIDI = re.compile(f"[{BIDI_CONTROLS}]")
_NOT_XML = re.compile("[\ufffe\uffff]")  # the non-characters XML 1.0 refuses (controls go before)


def drop_controls(text: str) -> str:
    """`text` without escape sequences (whole) and control characters, tab and newline kept."""
    if text.isprintable():  # the usual case, answered in C
        return text
    if "\x1b" in text or "\x9b" in text or "\x9d" in text:
        text = _ESCAPES.sub("", text)
    return _CONTROLS.sub("", text)


def terminal_safe(value: object) -> str:
    """What a terminal may be given of a CRM's or a user's text: no escape sequence (a name must
    not clear the screen or hide a link), no control character, no bidi override or isolate."""
    text = drop_controls(str(value))
    return text if text.isprintable() else _BIDI.sub("", text)


def xml_safe(text: str) -> str:
    """Only characters XML 1.0 allows (and no escape sequence); escaping is the caller's."""
    text = drop_controls(text)
    return text if text.isascii() else _NOT_XML.sub("", text)


# -- Markdown ------------------------------------------------------------------------------------

# always a backslash: emphasis, code, links and images, tables, strikethrough, and the backslash
_MD_INLINE = re.compile(r"([\\`*\[\]|~])")
# `_` opens or closes emphasis except between two letters or digits (snake_case stays readable)
_MD_UNDERSCORE = re.compile(r"(?<![^\W_])_|_(?![^\W_])")
# `<` that starts a tag, an autolink or a comment; `&` that starts an entity
_MD_ANGLE = re.compile(r"<(?=[A-Za-z/!?])")
_MD_ENTITY = re.compile(r"&(?=#?[A-Za-z0-9]+;)")
# what starts a block at the start of a line: heading, quote, list item, thematic break
_MD_BLOCK = re.compile(r"^(?:#{1,6}(?=\s|$)|>|[-+](?=\s|$)|-(?=-)|\d{1,9}(?=[.)](?:\s|$)))")
_SPACE = re.compile(r"\s+")


def md_escape(value: object) -> str:
    """Text as Markdown shows it, literally: one line (whitespace runs are one space), control
    characters dropped, every piece of Markdown syntax escaped with a backslash — and nothing
    HTML-escaped (a plain-text reader sees `President & CEO`, `O'Brien`)."""
    text = _SPACE.sub(" ", drop_controls(str(value))).strip()
    text = _MD_INLINE.sub(r"\\\1", text)
    text = _MD_UNDERSCORE.sub(r"\\_", text)
    text = _MD_ANGLE.sub(r"\\<", text)
    text = _MD_ENTITY.sub(r"\\&", text)
    return _MD_BLOCK.sub(_block_escaped, text, count=1)


def _block_escaped(m: re.Match[str]) -> str:
    """A block marker taken literally: `\\#`, `\\-`, `\\>`; a list number keeps its digits and
    escapes its `.` or `)` (a backslash before a digit is no escape)."""
    mark = m.group()
    return mark + "\\" if mark.isdigit() else "\\" + mark


# -- JSON on a terminal --------------------------------------------------------------------------

_JSON_UNSAFE = re.compile(f"[\x7f-\x9f\u2028\u2029{BIDI_CONTROLS}]")


def json_safe(document: str) -> str:
    """A JSON document (from json.dumps, which escapes C0 itself) with the characters a terminal
    would act on written as \\u escapes: the same JSON value, nothing lost."""
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", document)
