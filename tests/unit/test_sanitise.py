"""Text made safe for where it goes (connector.core.text, connector.core.normalise.clean_text):
property tests over any text, and the hostile strings of issue 13 by name."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from html import escape

from hypothesis import given, settings
from hypothesis import strategies as st
from markdown_it import MarkdownIt

from connector.core.normalise import clean_strings, clean_text
from connector.core.text import (
    BIDI_CONTROLS,
    drop_controls,
    json_safe,
    md_escape,
    terminal_safe,
    xml_safe,
)

# what a terminal acts on: C0 but tab and newline, DEL, C1, bidi embeddings/overrides/isolates
TERMINAL_ACTS_ON = re.compile(f"[\x00-\x08\x0b-\x1f\x7f-\x9f{BIDI_CONTROLS}]")
HOSTILE = [
    "Smith\x00 <Procurement>",
    "President & CEO \x1b[2J",
    "\x1b]8;;https://evil.example\x1b\\click me\x1b]8;;\x1b\\",
    "O'Brien \u202eevil\u202c",
    "[x](javascript:alert(1)) **bold**",
    "\x9b31mred\x9b0m \x9d8;;https://evil.example\x07link",
]
# text with escape sequences and controls mixed in, where hypothesis looks hardest
PIECES = ["\x1b", "[", "]", "8;;", "\x07", "\\", "2J", "\x9b", "\x9d", "\u202e", "a", " ", "\n",
          "\t", "*", "_", "<", "&", "#", "-", "1.", "`", "|", "é"]  # fmt: skip
texts = st.text() | st.lists(st.sampled_from(PIECES)).map("".join)

MARKDOWN = MarkdownIt("commonmark")  # raw HTML allowed, as many Markdown viewers do


def test_hostile_strings_by_name() -> None:
    assert clean_text(HOSTILE[0], 400) == "Smith <Procurement>"
    assert clean_text(HOSTILE[1], 400) == "President & CEO"
    assert terminal_safe(HOSTILE[2]) == "click me"  # the link's text stays, the link goes
    assert terminal_safe(HOSTILE[3]) == "O'Brien evil"
    assert terminal_safe(HOSTILE[5]) == "red link"
    assert md_escape(HOSTILE[4]) == r"\[x\](javascript:alert(1)) \*\*bold\*\*"
    assert md_escape("President & CEO") == "President & CEO"  # never HTML-escaped
    assert md_escape("O'Brien") == "O'Brien"
    assert md_escape("Smith <Procurement>") == r"Smith \<Procurement>"
    assert md_escape("first_last and _x_") == r"first_last and \_x\_"  # intraword stays


@given(texts)
@settings(max_examples=400)
def test_a_terminal_is_never_given_what_it_acts_on(text: str) -> None:
    safe = terminal_safe(text)
    assert not TERMINAL_ACTS_ON.search(safe), repr(safe)
    assert terminal_safe(safe) == safe


@given(st.text())
def test_text_without_controls_is_kept_as_it_is(text: str) -> None:
    plain = TERMINAL_ACTS_ON.sub("", text)
    assert terminal_safe(plain) == plain
    assert drop_controls(plain.replace("\x1b", "")) == plain.replace("\x1b", "")


@given(texts)
@settings(max_examples=400)
def test_xml_safe_text_always_makes_xml_and_comes_back(text: str) -> None:
    safe = xml_safe(text)
    element = ET.fromstring(f'<a t="{escape(safe)}">{escape(safe)}</a>')
    assert (element.text or "") == safe.replace("\r", "\n")
    assert not re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]", safe)


def _shown(text: str) -> str:
    """What a Markdown reader should see of `text`: one line, as given (controls aside)."""
    return re.sub(r"\s+", " ", drop_controls(text)).strip()


def _html_text(text: str) -> str:
    return (
        text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    )


@given(texts)
@settings(max_examples=600)
def test_markdown_escaping_round_trips_plain_text(text: str) -> None:
    """A CommonMark renderer shows the escaped text as exactly the text: one paragraph, no
    emphasis, link, heading, list, code or raw HTML made of it."""
    shown = _shown(text)
    escaped = md_escape(text)
    assert not re.search("[\x00-\x1f\x7f-\x9f]", escaped)  # one line, no control character
    rendered = MARKDOWN.render(escaped)
    assert rendered == (f"<p>{_html_text(shown)}</p>\n" if shown else ""), (text, escaped)


@given(
    st.recursive(
        st.none() | st.integers() | texts,
        lambda kids: st.lists(kids) | st.dictionaries(texts, kids),
    )
)
def test_json_for_a_terminal_is_the_same_json(value: object) -> None:
    document = json_safe(json.dumps(value, ensure_ascii=False))
    assert json.loads(document) == value
    assert not TERMINAL_ACTS_ON.search(document)


@given(texts, st.integers(min_value=1, max_value=50))
def test_clean_text_keeps_text_and_drops_what_is_not(text: str, limit: int) -> None:
    cleaned = clean_text(text, limit)
    if cleaned is None:
        return
    assert len(cleaned) <= limit and cleaned == cleaned.strip()
    assert not re.search("[\x00-\x1f\x7f-\x9f\ud800-\udfff]", cleaned)
    encoded = cleaned.encode("utf-8")  # every database takes it
    assert b"\x00" not in encoded


def test_clean_strings_reaches_lists_and_dicts() -> None:
    value = {"a": ["x\x00y", 3, {"b": "\x1b[31mred"}], "c": None}
    assert clean_strings(value) == {"a": ["xy", 3, {"b": "red"}], "c": None}
