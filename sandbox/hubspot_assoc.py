"""The association graph of the HubSpot stand-in: both directions of every pair, with their
HubSpot-defined type ids, a single primary company per contact / deal, and merges re-pointing edges.
"""

from __future__ import annotations

from collections.abc import Iterable

from .hubspot_schema import ASSOC_TYPES, PRIMARY_TYPE, REVERSE

Node = tuple[str, str]  # (object type, id)
_interned: dict[frozenset[int], frozenset[int]] = {}


def _intern(types: frozenset[int]) -> frozenset[int]:
    """Most edges carry the same one or two type ids; share those sets."""
    return _interned.setdefault(types, types)


class Associations:
    """Edges (type, id) -> to type -> to id -> type ids, kept in both directions."""

    def __init__(self) -> None:
        self.edges: dict[Node, dict[str, dict[str, frozenset[int]]]] = {}

    def targets(self, from_type: str, from_id: str, to_type: str) -> dict[str, frozenset[int]]:
        return self.edges.get((from_type, from_id), {}).get(to_type, {})

    def add(
        self, from_type: str, from_id: str, to_type: str, to_id: str, type_ids: Iterable[int]
    ) -> None:
        forward = frozenset(type_ids)
        primary = PRIMARY_TYPE.get((from_type, to_type))
        if primary in forward:  # one primary company per contact / deal
            for other, kinds in list(self.targets(from_type, from_id, to_type).items()):
                if other != to_id and primary in kinds:
                    self._drop(from_type, from_id, to_type, other, {primary})
        self._put(from_type, from_id, to_type, to_id, forward)
        self._put(to_type, to_id, from_type, from_id, frozenset(REVERSE[t] for t in forward))

    def _put(
        self, from_type: str, from_id: str, to_type: str, to_id: str, types: frozenset[int]
    ) -> None:
        row = self.edges.setdefault((from_type, from_id), {}).setdefault(to_type, {})
        row[to_id] = _intern(row.get(to_id, frozenset()) | types)

    def remove(
        self,
        from_type: str,
        from_id: str,
        to_type: str,
        to_id: str,
        type_ids: Iterable[int] | None = None,
    ) -> None:
        """Drop the given types between the pair (all of them when None)."""
        kinds = set(type_ids) if type_ids is not None else None
        self._drop(from_type, from_id, to_type, to_id, kinds)

    def _drop(
        self, from_type: str, from_id: str, to_type: str, to_id: str, kinds: set[int] | None
    ) -> None:
        reverse = None if kinds is None else {REVERSE[k] for k in kinds}
        for a_type, a_id, b_type, b_id, drop in (
            (from_type, from_id, to_type, to_id, kinds),
            (to_type, to_id, from_type, from_id, reverse),
        ):
            row = self.edges.get((a_type, a_id), {}).get(b_type)
            if row is None or b_id not in row:
                continue
            left = frozenset() if drop is None else row[b_id] - drop
            if left:
                row[b_id] = _intern(left)
            else:
                del row[b_id]

    def move(self, object_type: str, loser: str, survivor: str) -> None:
        """A merge: every edge of the loser now belongs to the survivor (primary kept if set)."""
        for to_type, row in list(self.edges.pop((object_type, loser), {}).items()):
            has_primary = PRIMARY_TYPE.get((object_type, to_type))
            survivor_row = self.targets(object_type, survivor, to_type)
            keep_primary = has_primary is not None and any(
                has_primary in kinds for kinds in survivor_row.values()
            )
            for to_id, kinds in row.items():
                back = self.edges.get((to_type, to_id), {}).get(object_type, {})
                back.pop(loser, None)
                if to_id == survivor and to_type == object_type:
                    continue
                moved = kinds - {has_primary} if keep_primary else kinds
                if moved:
                    self.add(object_type, survivor, to_type, to_id, moved)


def type_spec(type_id: int) -> dict[str, object]:
    """One association type as the v4 API shows it."""
    return {"category": "HUBSPOT_DEFINED", "typeId": type_id, "label": ASSOC_TYPES[type_id].label}
