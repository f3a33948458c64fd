"""The order of `visible_relationships`' answer: strongest first, then the most recent
interaction (none: last), then the oldest relationship — `strongest_first`'s three stable sorts
give the same order as one key over the three, for any rows (hypothesis)."""

from __future__ import annotations

from datetime import UTC, datetime

from hypothesis import given
from hypothesis import strategies as st

from connector.governance.shown import strongest_first
from connector.governance.visibility import FULL, VisibleRel

WHEN = st.one_of(
    st.none(),
    st.datetimes(datetime(1960, 1, 1), datetime(2030, 1, 1)).map(lambda d: d.replace(tzinfo=UTC)),
)


def rel(i: int, strength: int | None, at: datetime | None) -> VisibleRel:
    return VisibleRel(i, 1, 1, "m", "m@x", None, FULL, False, strength, strength, None, False,
                      "shared", False, at, None)  # fmt: skip


def expected(v: VisibleRel) -> tuple[int, int, float, int]:
    at = v.last_interaction_at
    return (-(v.strength or 0), at is None, -(at.timestamp() if at else 0.0), v.id)


@given(st.lists(st.tuples(st.sampled_from((None, 1, 2, 3, 5)), WHEN), max_size=40))
def test_strongest_then_latest_then_oldest(rows: list[tuple[int | None, datetime | None]]) -> None:
    rels = [rel(i, s, at) for i, (s, at) in enumerate(rows)]
    got = list(reversed(rels))
    strongest_first(got)
    assert [v.id for v in got] == [v.id for v in sorted(rels, key=expected)]
