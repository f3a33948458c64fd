"""Salesforce record ids in the stand-in: deterministic ids by key prefix, and the 15- to
18-character case-safe suffix.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

B62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
ID_RE = re.compile(r"^[a-zA-Z0-9]{15}(?:[A-Z0-5]{3})?$")


def id18(id15: str) -> str:
    """Append Salesforce's case-safe 3-character suffix to a 15-character id."""
    out = ""
    for chunk in range(3):
        flags = 0
        for pos in range(5):
            if "A" <= id15[chunk * 5 + pos] <= "Z":
                flags |= 1 << pos
        out += _SUFFIX[flags]
    return id15 + out


def normalize_id(value: Any) -> str | None:
    """The 18-character form of a well-formed 15- or 18-character id, else None."""
    if not isinstance(value, str) or not ID_RE.match(value):
        return None
    full = id18(value[:15])
    return full if len(value) == 15 or full == value else None


def make_id(prefix: str, seed: str) -> str:
    """A deterministic id: key prefix, pod '5g', reserved '0', nine base-62 digits, suffix."""
    n = int.from_bytes(hashlib.sha1(seed.encode()).digest()[:8], "big") % 62**9
    digits = ""
    for _ in range(9):
        n, r = divmod(n, 62)
        digits = B62[r] + digits
    return id18(f"{prefix}5g0{digits}")
