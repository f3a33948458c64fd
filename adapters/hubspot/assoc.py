"""The associated record ids a HubSpot record carries (a deal's companies and contacts, an
engagement's contacts), primary ones first, read at the least cost in calls.

A full pass asks for them inline with each listing page (`associations=` on get_page: no extra
call); search answers carry none, so an incremental page reads them through the v4 batch API:
one call per associated object type per page (up to 1,000 ids a call). An inline list that says
it has more pages is completed the same way.
"""

from __future__ import annotations

from typing import Any

from adapters.hubspot.api import HubSpotApi
from connector.core.records import RawRecord

MAX_ASSOC_BATCH = 1_000  # inputs of one v4 batch read
_SINGULAR = {"contacts": "contact", "companies": "company", "deals": "deal"}


class AssociationReader:
    def __init__(self, api: HubSpotApi):
        self.api = api

    def fill(
        self,
        obj: str,
        to_types: tuple[str, ...],
        records: list[RawRecord],
        rows: list[dict[str, Any]] | None,
    ) -> None:
        """Set `rec.associations[to]` for every wanted type: from the rows' inline associations
        when given and complete, else from the v4 batch API."""
        for to in to_types:
            missing = []
            for i, rec in enumerate(records):
                ids = inline_ids(rows[i], to) if rows is not None else None
                if ids is None:
                    missing.append(rec)
                else:
                    rec.associations[to] = ids
            if missing:
                self._read(obj, to, missing)

    def _read(self, obj: str, to: str, records: list[RawRecord]) -> None:
        found: dict[str, list[tuple[str, bool]]] = {r.id: [] for r in records}
        pending: list[tuple[str, str | None]] = [(r.id, None) for r in records]
        while pending:
            more: list[tuple[str, str | None]] = []
            for start in range(0, len(pending), MAX_ASSOC_BATCH):
                data = self.api.associations(obj, to, pending[start : start + MAX_ASSOC_BATCH])
                for result in (data or {}).get("results") or []:
                    from_id = str((result.get("from") or {}).get("id"))
                    for link in result.get("to") or []:
                        labels = [t.get("label") for t in link.get("associationTypes") or []]
                        found.setdefault(from_id, []).append(
                            (str(link.get("toObjectId")), "Primary" in labels)
                        )
                    after = ((result.get("paging") or {}).get("next") or {}).get("after")
                    if after:
                        more.append((from_id, str(after)))
            pending = more
        for rec in records:
            rec.associations[to] = primary_first(found.get(rec.id, []))


def inline_ids(row: dict[str, Any], to: str) -> list[str] | None:
    """The ids of a v3 row's inline associations to `to`; None when the list is incomplete.
    The primary link is named `contact_to_company`, the others `..._unlabeled`."""
    linked = row.get("associations") or {}
    group = linked.get(to) or linked.get(_SINGULAR.get(to, to))
    if not group:
        return []
    if ((group.get("paging") or {}).get("next") or {}).get("after"):
        return None
    results = group.get("results") or []
    labelled = any(str(r.get("type", "")).endswith("_unlabeled") for r in results)
    return primary_first(
        [
            (str(r.get("id")), labelled and not str(r.get("type", "")).endswith("_unlabeled"))
            for r in results
        ]
    )


def primary_first(links: list[tuple[str, bool]]) -> list[str]:
    """Distinct ids, those with a primary link first, each part in id order: the v3 inline
    lists and the v4 batch reads order them differently, and a record read either way must come
    out the same."""
    primary = sorted({i for i, is_primary in links if is_primary}, key=_id_order)
    rest = sorted({i for i, _ in links} - set(primary), key=_id_order)
    return [*primary, *rest]


def _id_order(record_id: str) -> tuple[int, str]:
    return (len(record_id), record_id)  # numeric order for HubSpot's digit-string ids
