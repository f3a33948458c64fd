"""What every drawing of an account plan shares: level names, stance colours, escaping of user
and CRM text for HTML and SVG, and the stakeholders in reports-to order.
"""

from __future__ import annotations

from html import escape
from typing import Any

from connector.core.text import xml_safe
from connector.store.models import LEVELS

LEVEL_NAMES = {
    "c_level": "C-level",
    "vp": "VP",
    "director": "Director",
    "manager": "Manager",
    "staff": "Staff",
    "unknown": "Level unknown",
}
STANCE_FILL = {
    "champion": "#4caf50",
    "ally": "#c5e1a5",
    "neutral": "#e0e0e0",
    "adversary": "#ef9a9a",
    "unknown": "#ffffff",
}


def e(value: Any) -> str:
    """Text for HTML and SVG: only characters XML allows, then escaped; None as ''."""
    return "" if value is None else escape(xml_safe(str(value)), quote=True)


def tree(doc: dict[str, Any]) -> list[tuple[dict[str, Any], int]]:
    """Stakeholders in reports-to order (depth-first from the roots), with their depth. A cycle in
    the CRM's reports-to data cannot loop: anyone not reached from a root is appended as a root."""
    people = {s["id"]: s for s in doc["stakeholders"]}
    children: dict[int, list[int]] = {}
    for s in doc["stakeholders"]:
        if s["reports_to_id"] is not None:
            children.setdefault(s["reports_to_id"], []).append(s["id"])
    rank = {lv: i for i, lv in enumerate(LEVELS)}

    def order(ids: list[int]) -> list[int]:
        return sorted(ids, key=lambda i: (rank.get(people[i]["level"], 9), people[i]["name"], i))

    out: list[tuple[dict[str, Any], int]] = []
    seen: set[int] = set()

    def walk(start: int) -> None:
        stack = [(start, 0)]
        while stack:
            pid, depth = stack.pop()
            if pid in seen:
                continue
            seen.add(pid)
            out.append((people[pid], depth))
            stack.extend((c, depth + 1) for c in reversed(order(children.get(pid, []))))

    for root in order([i for i in doc["roots"] if i in people]):
        walk(root)
    for pid in order([i for i in people if i not in seen]):
        walk(pid)
    return out


def audience_line(doc: dict[str, Any]) -> str:
    if doc["audience"] == "crm":
        return "company-wide view (what a CRM note may hold)"
    return f"as {doc['audience']}"
