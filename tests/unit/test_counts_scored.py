"""`Counts.scored`: the relationships whose last write in a sync carried their fresh score. A
later write that did not score one (a path without the sync's scoring) takes it out again, so
the sync's final re-scoring never skips a relationship whose stored score is stale."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from connector.ingest.batch import Counts

ids = st.sets(st.integers(min_value=1, max_value=12), max_size=8)
event = st.tuples(ids, st.booleans())  # (relationships a write touched, whether it scored them)


@given(st.lists(event, max_size=12), st.integers(min_value=0, max_value=12))
def test_scored_follows_each_relationships_last_write(
    events: list[tuple[set[int], bool]], cut: int
) -> None:
    # folded in order, the way a sync adds each page's counts to its object's, whatever grouping
    parts = [Counts(), Counts()]
    for n, (touched, scoring) in enumerate(events):
        part = parts[0] if n < cut else parts[1]
        part.add(Counts(relationships=set(touched), scored=set(touched) if scoring else set()))
    total = Counts()
    for part in parts:
        total.add(part)
    last: dict[int, bool] = {}
    for touched, scoring in events:
        for i in touched:
            last[i] = scoring
    assert total.scored == {i for i, was_scored in last.items() if was_scored}
    assert total.relationships == set(last)
