"""How `carnet who-knows` draws its answer at a terminal (connector/cli/governance_views.py): each
person once, then one line per colleague, the columns aligned in terminal cells whatever the
script of the names."""

from __future__ import annotations

import io
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from rich.cells import cell_len
from rich.console import Console

from connector.cli import governance_views


def knows(member: str, team: str | None, strength: int, **extra: Any) -> dict[str, Any]:
    return {
        "member": {"name": member, "email": f"{member[:3]}@us.example", "team": team},
        "yours": False,
        "strength": strength,
        "rating": strength,
        "score": strength,
        "disagreement": False,
        "shareability": "discoverable",
        "exclusive": False,
        "last_interaction_at": None,
        "notes": None,
        **extra,
    }


def person(name: str, title: str | None, *known_by: dict[str, Any]) -> dict[str, Any]:
    strength = max(k["strength"] for k in known_by)
    return {"id": hash(name), "name": name, "title": title, "strength": strength,
            "known_by": list(known_by)}  # fmt: skip


def org_answer(*people: dict[str, Any]) -> dict[str, Any]:
    return {"kind": "org", "org": {"id": 1, "name": "Globex"}, "known_people": len(people),
            "people": list(people), "paths": []}  # fmt: skip


def drawn(monkeypatch: pytest.MonkeyPatch, answer: dict[str, Any], width: int = 500) -> list[str]:
    console = Console(file=io.StringIO(), width=width, color_system=None)
    monkeypatch.setattr(governance_views, "out", console)
    governance_views.render_who_knows(answer)
    return console.file.getvalue().splitlines()  # type: ignore[attr-defined]


def test_each_person_once_then_their_colleagues(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = org_answer(
        person("Zoe Ng", "CFO", knows("Bob Brown", "EMEA", 5), knows("Cat Cole", None, 2)),
        person("Jurgen Gross", None, knows("Bob Brown", "EMEA", 3, notes="golf on fridays",
                                           last_interaction_at="2026-11-02T10:00:00+00:00",
                                           exclusive=True, yours=True)),
    )  # fmt: skip
    lines = drawn(monkeypatch, answer)
    assert lines[0] == "Globex: 2 people known by colleagues you can see"
    assert lines[1].split() == ["colleague", "team", "strength", "sharing", "last", "contact"]
    assert lines[2] == "Zoe Ng — CFO"
    assert lines[3].split() == ["Bob", "Brown", "EMEA", "5", "discoverable", "-"]
    assert lines[4].split() == ["Cat", "Cole", "-", "2", "discoverable", "-"]
    assert lines[5] == "Jurgen Gross"
    assert lines[6].split() == ["you", "EMEA", "3", "discoverable,", "exclusive", "2026-11-02"]
    assert lines[7].strip() == "notes: golf on fridays"
    assert len(lines) == 8


def test_a_person_query_does_not_name_the_person_twice(monkeypatch: pytest.MonkeyPatch) -> None:
    zoe = person("Zoe Ng", "CFO", knows("Bob Brown", "EMEA", 5))
    answer = {"kind": "person", "person": zoe, "people": [zoe], "paths": []}
    lines = drawn(monkeypatch, answer)
    assert lines[0] == "Zoe Ng — CFO"
    assert [line for line in lines if "Zoe Ng" in line] == [lines[0]]
    assert lines[2].split()[:2] == ["Bob", "Brown"]


def test_nobody_known_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    answer = org_answer()
    assert drawn(monkeypatch, answer)[-1] == "no colleague you can see knows them directly"


# names and teams in any script: Latin, accented, CJK (two cells each), Arabic, emoji
NAMES = st.text(alphabet=st.sampled_from("ab Zé王小明ملك😀-'"), min_size=1, max_size=12).filter(
    lambda s: s.strip() == s and s != ""
)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(NAMES, st.one_of(st.none(), NAMES), st.integers(1, 5)), min_size=1,
                max_size=6))  # fmt: skip
def test_columns_line_up_in_terminal_cells(rows: list[tuple[str, str | None, int]]) -> None:
    answer = org_answer(person("Zoe Ng", None, *(knows(m, t, s) for m, t, s in rows)))
    console = Console(file=io.StringIO(), width=500, color_system=None)
    with pytest.MonkeyPatch.context() as monkeypatch:
        monkeypatch.setattr(governance_views, "out", console)
        governance_views.render_who_knows(answer)
    lines = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    header, colleagues = lines[1], lines[3:]
    assert len(colleagues) == len(rows)
    team_at = cell_len(header[: header.index("team")])
    strength_at = cell_len(header[: header.index("strength")])
    for line, (member, team, strength) in zip(colleagues, rows, strict=True):
        cells = [cell_len(line[:i]) for i in range(len(line) + 1)]
        assert line[cells.index(team_at) :].startswith(team or "-"), (line, header)
        assert line[cells.index(strength_at) :].startswith(str(strength)), (line, header)
        assert line.startswith("  " + member)
