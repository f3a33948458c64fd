"""The table of kinds (mappings.kinds) and what is derived from it hold together: every kind has
an ingest handler, every reference points at a kind, every column reference at a store column."""

from __future__ import annotations

from connector.ingest.pages import FK_REFS, HANDLERS, WAITING
from mappings.kinds import KINDS
from mappings.vocabulary import VALUE_TYPES


def test_every_kind_has_a_handler_and_no_handler_lacks_a_kind() -> None:
    assert set(HANDLERS) == set(KINDS)


def test_every_reference_points_at_a_kind_with_a_table() -> None:
    for spec in KINDS.values():
        for name, ref in spec.refs.items():
            assert ref.to in KINDS, (spec.name, name)
            assert HANDLERS[ref.to].model is not None, (spec.name, name)


def test_column_references_name_a_column_of_their_entity() -> None:
    for (entity, name), (model, column) in FK_REFS.items():
        assert hasattr(model, column), (entity, name)
        assert (entity, name) in WAITING, "a column reference set later must wait for its target"


def test_every_value_is_of_the_vocabulary_and_only_its_store_length_may_differ() -> None:
    for spec in KINDS.values():
        for name, vtype in spec.values.items():
            shared = VALUE_TYPES[name]
            assert (vtype.transforms, vtype.many, vtype.words, vtype.range) == (
                shared.transforms, shared.many, shared.words, shared.range,
            ), (spec.name, name)  # fmt: skip


def test_what_a_record_needs() -> None:
    assert KINDS["member"].missing(set()) == "a member needs email"
    assert KINDS["activity"].missing({"member"}) == "an activity needs person or persons or org"
    assert KINDS["person"].missing({"name", "org"}) is None
    assert KINDS["person"].missing({"name"}) == (
        "a person needs a valid email, or a name and an org to be matched by"
    )
    assert KINDS["contact_role"].missing({"opportunity", "person"}) is None
