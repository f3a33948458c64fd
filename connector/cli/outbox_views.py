"""Terminal rendering of `carnet install` and `carnet push` (their --json documents are the
service functions' dictionaries, printed as they are)."""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from connector.core.text import terminal_safe


def _text(value: Any) -> Text:
    """A value for a cell: one terminal-safe line, never read as markup (values and errors come
    from the CRMs)."""
    if value is None:
        return Text("-")
    text = terminal_safe(value).replace("\n", " ")
    return Text(text if len(text) <= 60 else text[:57] + "...")


def _cell(value: Any) -> Text:
    return Text("-" if value is None else terminal_safe(value))


def render_install(doc: dict[str, Any], out: Console) -> None:
    verb = "would" if doc["dry_run"] else "did"
    title = "install (dry run: nothing was created)" if doc["dry_run"] else "install"
    table = Table(
        "source", "object", "field", "action", "detail", title=title, title_justify="left"
    )
    for source, steps in doc["sources"].items():
        for s in steps:
            action = s["action"]
            acts = ("create", "grant", "assign")  # what install makes (or would, on a dry run)
            shown = f"{verb} {action}" if action in acts else action
            table.add_row(*(_cell(v) for v in (source, s["object"], s["name"], shown, s["detail"])))
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
                *(_cell(v) for v in (source, c["object"], c["id"], c["field"])),
                _text(c["old"]),
                _text(c["new"]),
            )
    out.print(table)
    if not any(run.get("changes") for run in doc["sources"].values()):
        out.print("nothing to write")


def push_lines(doc: dict[str, Any]) -> list[str]:
    """Failures and stops, one terminal-safe line each (for stderr): the CRMs' own words."""
    lines = []
    for source, run in doc["sources"].items():
        for f in run.get("failures", []):
            lines.append(f"{source} {f['object']} {f['id']}: {f['error']}")
        if run.get("stopped"):
            lines.append(f"note: {source}: {run['stopped']}")
    return [terminal_safe(line) for line in lines]
