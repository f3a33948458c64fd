"""The account plan drawn as Markdown, HTML and SVG: content, tree order, well-formed SVG, and
every user or CRM text escaped (`<script>`, quotes and ampersands in strategy, actions, names)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from html.parser import HTMLParser
from typing import Any

import pytest
from markdown_it import MarkdownIt
from sqlalchemy.orm import Session

from connector.plans.plan import show_plan
from connector.plans.plan_edit import set_plan
from connector.plans.render import RENDERERS, to_html, to_markdown
from connector.plans.render_base import tree
from connector.plans.render_svg import to_svg
from tests import governance_world as w
from tests.store.test_plans import RELS, SHARING, build_world

EVIL = "<script>alert(\"x\")</script> & 'quoted'"


def test_markdown_has_coverage_risk_tree_and_actions(session: Session) -> None:
    build_world(session)
    set_plan(session, "Globex", None, strategy="Win the CFO", action="Kick-off call")
    md = to_markdown(show_plan(session, "Globex", None, SHARING))
    assert md.startswith("# Account plan: Globex\n")
    assert "| Director | 2 | 1 | 50% |" in md
    assert "| US | 3 | 1 | 33% |" in md
    assert "Key stakeholders: 6; known: 5; known well (strength 3+): 3 (50%)." in md
    assert "- Felix Finanz: only Ann (4) knows them" in md
    assert "Win the CFO" in md and "Kick-off call" in md
    lines = md.splitlines()
    clara = next(i for i, ln in enumerate(lines) if ln.startswith("- **Clara Chef**"))
    assert lines[clara + 1].startswith("  - **Felix Finanz**")  # VP before VP, by name
    assert lines[clara + 2].startswith("    - **Dieter Dir**")
    assert lines[clara + 3].startswith("      - **Max Manager**")
    assert lines[clara + 4].startswith("        - **Ned Staff**")


def test_tree_survives_a_reports_to_cycle(session: Session) -> None:
    world = build_world(session)
    p = world["people"]
    p["Clara Chef"].reports_to_id = p["Sam Staff"].id  # CRM data with a loop
    session.flush()
    doc = show_plan(session, "Globex", None, SHARING)
    assert sorted(s["name"] for s, _ in tree(doc)) == sorted(s["name"] for s in doc["stakeholders"])


class _Collect(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _evil_world(session: Session) -> dict[str, Any]:
    ann = w.member(session, "ann@us.example", "east", name='Ann "the <b>broker</b>" & Co')
    org = w.org(session, 'Acme <script>alert(1)</script> & "Sons"', ("acme.example",))
    boss = w.person(session, "boss@acme.example", org, name=EVIL, title=EVIL)
    boss.level, boss.country = "c_level", "DE"
    w.rel(session, ann, boss, rating=4, share="shared")
    set_plan(
        session,
        "acme.example",
        ann,
        strategy=EVIL,
        action=EVIL,
        stance=("boss@acme.example", "champion"),
    )
    session.flush()
    return show_plan(session, "acme.example", None, SHARING)


def test_markdown_escapes_markdown_not_html(session: Session) -> None:
    """Markdown is read as plain text (a Salesforce Note) and rendered by Markdown viewers (which
    pass raw HTML through): its syntax is escaped, nothing is HTML-escaped."""
    text = RENDERERS["md"](_evil_world(session))
    assert "&lt;" not in text and "&amp;" not in text and "&quot;" not in text
    assert "\\<script>" in text and "'quoted'" in text
    parser = _Collect()
    parser.feed(MarkdownIt("commonmark").render(text))  # a viewer that lets raw HTML through
    assert "script" not in parser.tags and "b" not in parser.tags
    assert any(EVIL in t for t in parser.text)  # the text itself survives, as text


@pytest.mark.parametrize("fmt", ["html", "svg"])
def test_user_and_crm_text_is_escaped(session: Session, fmt: str) -> None:
    doc = _evil_world(session)
    text = RENDERERS[fmt](doc)
    assert "<script>" not in text and "<b>" not in text
    assert "&lt;script&gt;" in text
    assert "&amp;" in text and "&quot;" in text
    if fmt == "svg":
        ET.fromstring(text)  # well-formed XML
    if fmt == "html":
        parser = _Collect()
        parser.feed(text)
        assert "script" not in parser.tags and "b" not in parser.tags
        assert any(EVIL in t for t in parser.text)  # the text itself survives, as text


def test_html_is_a_page_with_the_plan(session: Session) -> None:
    build_world(session)
    page = to_html(show_plan(session, "Globex", None, SHARING))
    parser = _Collect()
    parser.feed(page)
    assert parser.tags[:3] == ["html", "head", "meta"]
    assert parser.tags.count("ul") >= 5  # the nested reports-to tree
    assert "single-threaded" in page and "Clara Chef" in page


def test_svg_map_content(session: Session) -> None:
    build_world(session)
    svg = to_svg(show_plan(session, "Globex", None, SHARING))
    root = ET.fromstring(svg)
    ns = "{http://www.w3.org/2000/svg}"
    assert root.tag == f"{ns}svg"
    texts = [t.text or "" for t in root.iter(f"{ns}text")]
    for label in ("Clara Chef", "Ann", "Stance", "Strength", "C-level", "Staff"):
        assert any(label in t for t in texts), label
    paths = list(root.iter(f"{ns}path"))
    assert len(paths) == 8  # one line per visible relationship (cat's private one is not drawn)
    assert sorted(p.get("stroke-width", "") for p in paths) == sorted(
        str(rating) for _, _, rating, share in RELS if share != "private"
    )
    rects = {r.get("fill") for r in root.iter(f"{ns}rect")}
    assert "#4caf50" in rects  # Sue, the champion
    assert not any("cat@" in t for t in texts)


def test_json_is_serialisable(session: Session) -> None:
    build_world(session)
    doc = show_plan(session, "Globex", None, SHARING)
    again = json.loads(json.dumps(doc))
    assert again["org"]["domains"] == ["globex.example"]
    assert {s["level"] for s in again["stakeholders"]} == {
        "c_level",
        "vp",
        "director",
        "manager",
        "staff",
    }


def _big_doc(n: int) -> dict[str, Any]:
    """A synthetic plan dict: a chain of managers, a few known or key people deep in it."""
    people = []
    for i in range(1, n + 1):
        level = "c_level" if i == 1 else ("director" if i <= 3 else "staff")
        known = (
            [
                {
                    "member": {
                        "name": f"M{i % 20}",
                        "email": f"m{i % 20}@us.example",
                        "team": None,
                    },
                    "yours": False,
                    "visibility": "discoverable",
                    "strength": 3,
                }
            ]
            if i % 10 == 0
            else []
        )
        people.append(
            {
                "id": i,
                "name": f"P{i}",
                "title": None,
                "level": level,
                "country": "DE",
                "reports_to_id": i - 1 if i > 1 else None,
                "stance": "unknown",
                "influence": None,
                "role": None,
                "key": level != "staff",
                "known": len(known),
                "strength": 3 if known else None,
                "single_threaded": False,
                "known_by": known,
            }
        )
    return {
        "org": {"name": "Big"},
        "audience": "crm",
        "stakeholders": people,
        "roots": [1],
    }


def test_a_large_account_map_draws_what_matters() -> None:
    from connector.plans.render_svg import MAX_DRAWN, drawn

    small, left_out = drawn(_big_doc(30))
    assert left_out == 0 and len(small["stakeholders"]) == 30
    doc = _big_doc(400)
    shown, left_out = drawn(doc)
    ids = {p["id"] for p in shown["stakeholders"]}
    assert len(ids) <= MAX_DRAWN and left_out == 400 - len(ids)
    assert {1, 2, 3, 10, 20} <= ids  # key people, then the known ones with their chain
    assert all(p["reports_to_id"] in ids for p in shown["stakeholders"] if p["id"] != 1)
    svg = to_svg({**doc, "coverage": {}, "single_threaded": [], "actions": []})
    root = ET.fromstring(svg)
    boxes = [t for t in root.iter("{http://www.w3.org/2000/svg}title")]
    assert len(boxes) == len(ids) and f"{left_out} more people not drawn" in svg


@pytest.mark.parametrize("fmt", ["md", "html", "svg"])
def test_an_account_with_nobody_renders(session: Session, fmt: str) -> None:
    w.org(session, "Empty Co", ("empty.example",))
    doc = show_plan(session, "empty.example", None, SHARING)
    assert doc["stakeholders"] == [] and doc["coverage"]["key_strong_share"] is None
    text = RENDERERS[fmt](doc)
    assert "Empty Co" in text
    if fmt == "svg":
        ET.fromstring(text)
