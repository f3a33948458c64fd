"""What a mapping makes of a raw CRM record: a `MappedRecord` in the overlay's own terms.

Adapters produce `RawRecord`s in their API's field names; `mappings.apply` turns them into these;
`connector.ingest.pages` stores them. Their kinds are described in `mappings.kinds`.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass
class MappedRecord:
    kind: str  # a KindSpec's name (mappings.kinds)
    source: str  # salesforce | hubspot | exchange
    object: str  # the CRM object's API name
    external_id: str
    values: dict[str, Any] = field(default_factory=dict)
    # name -> (object, external id)
    refs: dict[str, tuple[str, str]] = field(default_factory=dict)
    # name -> (object, external ids), e.g. a HubSpot deal's associated contacts
    many_refs: dict[str, tuple[str, list[str]]] = field(default_factory=dict)
    deleted: bool = False
    merged_into: str | None = None  # the survivor's external id
    modstamp: datetime | None = None
    seen: dict[str, Any] = field(default_factory=dict)  # outbound fields as the pull saw them
    problems: list[str] = field(default_factory=list)  # why it cannot be taken (then it is skipped)
    digest: str | None = None  # ingest's digest of the record, when the pull side made it


def record_hash(rec: MappedRecord) -> str:
    """A digest of everything ingest takes from a record: equal digests, nothing to do."""
    doc = (rec.kind, rec.values, rec.refs, rec.many_refs, rec.seen, rec.modstamp, rec.deleted,
           rec.merged_into)  # fmt: skip
    return hashlib.blake2b(repr(doc).encode(), digest_size=12).hexdigest()
