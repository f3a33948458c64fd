"""Terminal rendering of `carnet install` and `carnet push` (their --json documents are the
service functions' dictionaries, printed as they are)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table


def _text(value: Any) -> str:
    if value is None:
        return "-"
    text = str(value).replace("\n", " ")
    return text if len(text) <= 60 else text[:57] + "..."


def render_install(doc: dict[str, Any], out: Console) -> None:
    verb = "would" if doc["dry_run"] else "did"
    title = "install (dry run: nothing was created)" if doc["dry_run"] else "install"
    table = Table(
        "source", "object", "field", "action", "detail", title=title, title_justify="left"
    )
    for source, steps in doc["sources"].items():
        for s in steps:
            action = s["action"]
            shown = {"create": f"{verb} create", "exists": "exists"}.get(action, action)
            table.add_row(source, s["object"], s["name"], shown, s["detail"])
    out.print(table)


def render_push(doc: dict[str, Any], out: Console) -> None:
    if doc["dry_run"]:
        _render_changes(doc, out)
        return
    table = Table(
        "source", "due", "written", "failed", "parked", "API calls", title="push",
        title_justify="left",
    )  # fmt: skip
    for source, run in doc["sources"].items():
        cells = (run["due"], run["written"], run["failed"], run["parked"], run["api_calls"])
        table.add_row(source, *(str(n) for n in cells))
    out.print(table)


def _render_changes(doc: dict[str, Any], out: Console) -> None:
    table = Table(
        "source", "object", "record", "field", "old", "new",
        title="push --dry-run (nothing was written)", title_justify="left",
    )  # fmt: skip
    for source, run in doc["sources"].items():
        for c in run.get("changes", []):
            table.add_row(
                source, c["object"], c["id"], c["field"], _text(c["old"]), _text(c["new"])
            )
    out.print(table)
    if not any(run.get("changes") for run in doc["sources"].values()):
        out.print("nothing to write")


def push_lines(doc: dict[str, Any]) -> list[str]:
    """Failures and stops, one line each (for stderr)."""
    lines = []
    for source, run in doc["sources"].items():
        for f in run.get("failures", []):
            lines.append(f"{source} {f['object']} {f['id']}: {f['error']}")
        if run.get("stopped"):
            lines.append(f"note: {source}: {run['stopped']}")
    return lines
