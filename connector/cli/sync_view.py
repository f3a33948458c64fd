"""How `carnet sync` shows itself on a terminal: a progress line per object while it runs, then
the summary as a table, then the skipped (by rule) and refused records, one line each (JSON mode
prints `as_dict()`).
"""

from __future__ import annotations

from typing import Any

from connector.core.text import terminal_safe
from connector.sync import SHOWN_FAILURES as SHOWN
from connector.sync import Summary


class RichProgress:
    """A progress line per object (records pulled so far), for a terminal."""

    def __init__(self, console: Any):
        from rich.progress import (  # lazy: start-up
            BarColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        self._bar = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed:,.0f} records"),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        )
        self._task: Any = None

    def start(self, source: str, obj: str) -> None:
        if self._task is None:
            self._bar.start()
        else:
            self._bar.update(self._task, total=self._bar.tasks[-1].completed)
        self._task = self._bar.add_task(f"{source} {obj}", total=None)

    def advance(self, n: int) -> None:
        self._bar.advance(self._task, n)

    def stop(self) -> None:
        if self._task is not None:
            self._bar.update(self._task, total=self._bar.tasks[-1].completed)
            self._bar.stop()


def summary_table(summary: Summary) -> Any:
    """The summary for people: one row per source and object, then skipped records and notes."""
    from rich import box  # lazy: start-up
    from rich.table import Table  # lazy: start-up

    title = "sync (dry run: nothing was kept)" if summary.dry_run else "sync"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("source", no_wrap=True)
    table.add_column("object", overflow="fold")
    refused = summary.refused() > 0  # a column of its own only when the store refused some
    cols = ("pulled", "created", "updated", "deleted", "skipped", *("refused",) * refused, "calls")
    for col in cols:
        table.add_column(col, justify="right", min_width=len(col))
    for source, objs in summary.sources.items():
        for obj, run in objs.items():
            c = run.counts
            numbers = [c.pulled, c.created, c.updated, c.deleted, c.skipped]
            numbers += [c.refused] * refused + [run.api_calls]
            table.add_row(terminal_safe(source), terminal_safe(obj), *(str(n) for n in numbers))
    return table


def failure_lines(summary: Summary, verbose: bool = True) -> list[str]:
    """One line each: records skipped by rule, by reason (warnings; the first of them listed
    when `verbose`), records the store refused (always listed), then notes. Every line is
    terminal-safe: ids and reasons can hold a CRM's text."""
    lines: list[str] = []
    unlisted = False
    for source, objs in summary.sources.items():
        for obj, run in objs.items():
            c = run.counts
            for reason, n in sorted(c.skipped_reasons.items()):
                lines.append(f"{source} {obj}: skipped {n}: {reason}")
            if verbose:
                lines += _listed(f"{source} {obj}", c.errors, c.skipped)
            unlisted = unlisted or (bool(c.errors) and not verbose)
            if c.refused:
                lines.append(f"{source} {obj}: refused {c.refused} by the store")
            lines += _listed(f"{source} {obj}", c.refusals[:SHOWN], c.refused)
    if unlisted:
        lines.append("note: records skipped by rule are warnings; --verbose lists them")
    lines += [f"note: {n}" for n in summary.notes()]
    return [terminal_safe(line) for line in lines]


def _listed(where: str, records: list[dict[str, str]], total: int) -> list[str]:
    """The records kept (the first ones), one line each, and how many more there were."""
    lines = [f"  {where} {r['id']}: {r['reason']}" for r in records]
    if total > len(records):
        lines.append(f"  {where}: and {total - len(records)} more")
    return lines


def push_notes(push: Any) -> list[str]:
    """One line per source whose push step left writes undone (the push step's PushSummary;
    None on a dry run): they wait in the outbox, which `carnet push` and `carnet status` list."""
    if push is None:
        return []
    lines = []
    for source, run in push.as_dict()["sources"].items():
        undone = run["failed"] + run["parked"]
        if undone:
            lines.append(
                f"note: push {source}: {undone} writes not made (carnet status lists them with "
                "the CRM's words; carnet install creates Carnet's fields)"
            )
        if run.get("stopped"):
            lines.append(f"note: push {source}: {run['stopped']}")
    return [terminal_safe(line) for line in lines]
