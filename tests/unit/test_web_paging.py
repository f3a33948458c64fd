"""My network's search and pages, and the plan page's stakeholders per level: pure functions over
the service's rows (the pages themselves are drawn in the browser tests)."""

from __future__ import annotations

from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from connector.web.pages_plans import SHOWN_PER_LEVEL, by_level
from connector.web.services import PER_PAGE, network_page


def row(i: int, name: str = "", waiting: bool = False, org: str | None = None) -> dict[str, Any]:
    person = {"id": i, "name": name or f"Person {i}", "title": None, "org": org, "email": None}
    return {"relationship_id": i, "person": person, "waiting": waiting}


def test_a_page_holds_per_page_rows_in_order_and_the_last_the_rest() -> None:
    rows = [row(i) for i in range(PER_PAGE * 2 + 7)]
    first, last = network_page(rows, "", 1), network_page(rows, "", 3)
    assert [r["relationship_id"] for r in first["rows"]] == list(range(PER_PAGE))
    assert len(last["rows"]) == 7 and last["pages"] == 3 and last["matching"] == len(rows)


def test_a_page_out_of_range_is_brought_back() -> None:
    rows = [row(i) for i in range(3)]
    assert network_page(rows, "", 99)["page"] == 1
    assert network_page(rows, "", -4)["page"] == 1
    assert network_page([], "", 2) == {
        "rows": [], "matching": 0, "waiting": 0, "page": 1, "pages": 1,
    }  # fmt: skip


def test_the_search_finds_by_name_or_org_whatever_the_case_and_counts_the_waiting() -> None:
    rows = [row(1, "Ada Lovelace", waiting=True), row(2, "Bob", org="LOVE Inc"), row(3, "Cy")]
    found = network_page(rows, "  love ", 1)
    assert [r["relationship_id"] for r in found["rows"]] == [1, 2]
    assert found["waiting"] == 1 and found["matching"] == 2


@given(st.integers(0, 300), st.integers(-3, 12))
def test_pages_cover_every_row_once(n: int, page: int) -> None:
    rows = [row(i) for i in range(n)]
    pages = network_page(rows, "", 1)["pages"]
    seen = [
        r["relationship_id"] for p in range(1, pages + 1) for r in network_page(rows, "", p)["rows"]
    ]
    assert seen == list(range(n))
    assert len(network_page(rows, "", page)["rows"]) <= PER_PAGE


def stakeholder(
    i: int, level: str, key: bool = False, influence: int | None = None
) -> dict[str, Any]:
    return {"id": i, "name": f"P{i:03d}", "level": level, "key": key, "influence": influence}


def test_a_level_shows_its_first_ones_key_then_influential_and_all_when_asked() -> None:
    people = [stakeholder(i, "vp") for i in range(SHOWN_PER_LEVEL + 10)]
    people.append(stakeholder(500, "vp", influence=5))
    people.append(stakeholder(501, "vp", key=True))
    people.append(stakeholder(600, "staff"))
    doc = {"stakeholders": people}
    levels = {lv: (shown, total) for _, lv, shown, total in by_level(doc)}
    shown, total = levels["vp"]
    assert total == SHOWN_PER_LEVEL + 12 and len(shown) == SHOWN_PER_LEVEL
    assert [s["id"] for s in shown[:2]] == [501, 500]  # key first, then the most influential
    assert levels["staff"][1] == 1
    full = {lv: shown for _, lv, shown, _ in by_level(doc, full="vp")}
    assert len(full["vp"]) == SHOWN_PER_LEVEL + 12


def test_the_one_just_edited_is_shown_even_past_the_first_ones() -> None:
    people = [stakeholder(i, "staff") for i in range(SHOWN_PER_LEVEL + 5)]
    last = people[-1]["id"]
    shown = by_level({"stakeholders": people}, focus=last)[0][2]
    assert shown[-1]["id"] == last and len(shown) == SHOWN_PER_LEVEL + 1
