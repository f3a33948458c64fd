"""Applying a loaded mapping to one raw CRM record: the overlay values, references and outbound
fields it carries, as a `MappedRecord`. Nothing here raises on bad data.

A value a transform cannot take becomes None and a note; a record that lacks what its kind needs
(a member without a valid email, a person with neither email nor name and org) gets `problems`.
`apply` runs the object's compiled plan (`mappings.compiled`).
"""

from __future__ import annotations

from connector.core.records import RawRecord
from mappings.compiled import FILTERED, Mapped, plan_for
from mappings.fields import resolve
from mappings.schema import Mapping

__all__ = ["FILTERED", "Mapped", "apply", "resolve"]


def apply(mapping: Mapping, object_name: str, raw: RawRecord) -> Mapped:
    """The record as the mapping's `object_name` rules make it."""
    return plan_for(mapping, object_name).run(raw)
