"""`Touched`: a sync's relationships kept as bitmaps for its re-score hold what `Counts.add`
would have held in sets, page after page: every relationship written, and those whose last write
carried their fresh score."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from connector.ingest.batch import Counts
from connector.ingest.touched import IdBits, Touched

ids = st.sets(st.integers(min_value=0, max_value=3000), max_size=20)
page = st.tuples(ids, ids)  # (relationships a page touched, those of them it scored)


@given(st.lists(page, max_size=15))
def test_touched_holds_what_counts_add_holds(pages: list[tuple[set[int], set[int]]]) -> None:
    sets, bits = Counts(), Touched()
    for touched, scored in pages:
        sets.add(Counts(relationships=set(touched), scored=scored & touched))
        left = bits.take(Counts(pulled=1, relationships=set(touched), scored=scored & touched))
        assert left.relationships == set() and left.scored == set() and left.pulled == 1
    assert list(bits.relationships) == sorted(sets.relationships)
    assert list(bits.scored) == sorted(sets.scored)
    assert len(bits.scored) == len(sets.scored)


@given(ids, ids)
def test_id_bits_union_and_membership(a: set[int], b: set[int]) -> None:
    union = IdBits(a)
    union |= IdBits(b)
    assert list(union) == sorted(a | b)
    assert all(i in union for i in a | b)
    assert not any(i in union for i in range(0, 3100, 7) if i not in a | b)
    assert -1 not in union and "1" not in union
