"""The relationships a sync touched, kept for its re-score as bitmaps (one bit an id: relationship
ids are dense integers), not as sets of every id: what a sync holds of them stays a few kilobytes
however many it writes.

`Touched.take` folds a page's Counts into them as `Counts.add` folds a later Counts into an
earlier one: a relationship stays scored when the last write of it carried its fresh score.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from connector.ingest.batch import Counts


class IdBits:
    """A set of non-negative integers as a bitmap."""

    def __init__(self, ids: Iterable[int] = ()) -> None:
        self._bits = bytearray()
        for i in ids:
            self.add(i)

    def add(self, i: int) -> None:
        byte = i >> 3
        if byte >= len(self._bits):
            self._bits.extend(bytes(max(byte + 1 - len(self._bits), len(self._bits) // 2)))
        self._bits[byte] |= 1 << (i & 7)

    def discard(self, i: int) -> None:
        byte = i >> 3
        if byte < len(self._bits):
            self._bits[byte] &= ~(1 << (i & 7)) & 0xFF

    def __contains__(self, i: object) -> bool:
        if not isinstance(i, int) or i < 0:
            return False
        byte = i >> 3
        return byte < len(self._bits) and bool(self._bits[byte] >> (i & 7) & 1)

    def __ior__(self, other: IdBits) -> IdBits:
        if len(other._bits) > len(self._bits):
            self._bits.extend(bytes(len(other._bits) - len(self._bits)))
        for at, byte in enumerate(other._bits):
            if byte:
                self._bits[at] |= byte
        return self

    def __iter__(self) -> Iterator[int]:
        """The ids, ascending."""
        for at, byte in enumerate(self._bits):
            if byte:
                yield from (at * 8 + k for k in range(8) if byte >> k & 1)

    def __len__(self) -> int:
        return sum(byte.bit_count() for byte in self._bits)


@dataclass
class Touched:
    """The relationships an object's sync wrote, and those of them whose last write carried
    their fresh score (Counts.relationships and Counts.scored, folded page after page)."""

    relationships: IdBits = field(default_factory=IdBits)
    scored: IdBits = field(default_factory=IdBits)

    def take(self, counts: Counts) -> Counts:
        """Fold `counts`' relationships in; `counts` without them (what is left to add up)."""
        for i in counts.relationships:
            self.relationships.add(i)
            self.scored.discard(i)
        for i in counts.scored:
            self.scored.add(i)
        counts.relationships, counts.scored = set(), set()
        return counts
