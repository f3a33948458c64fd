"""How `carnet sync` shows itself on a terminal: a progress line per object while it runs, then
the summary as a table and the skipped records, one line each (JSON mode prints `as_dict()`).
"""

from __future__ import annotations

from typing import Any

from connector.sync import SHOWN_FAILURES, Summary


class RichProgress:
    """A progress line per object (records pulled so far), for a terminal."""

    def __init__(self, console: Any):
        from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

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
    from rich import box
    from rich.table import Table

    title = "sync (dry run: nothing was kept)" if summary.dry_run else "sync"
    table = Table(title=title, title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
    table.add_column("source", no_wrap=True)
    table.add_column("object", overflow="fold")
    for col in ("pulled", "created", "updated", "deleted", "skipped", "calls"):
        table.add_column(col, justify="right", min_width=len(col))
    for source, objs in summary.sources.items():
        for obj, run in objs.items():
            c = run.counts
            table.add_row(
                source,
                obj,
                *(
                    str(n)
                    for n in (c.pulled, c.created, c.updated, c.deleted, c.skipped, run.api_calls)
                ),
            )
    return table


def failure_lines(summary: Summary) -> list[str]:
    """Skipped records (by reason, and the first of them) and notes, one line each."""
    lines: list[str] = []
    for source, objs in summary.sources.items():
        for obj, run in objs.items():
            for reason, n in sorted(run.counts.skipped_reasons.items()):
                lines.append(f"{source} {obj}: skipped {n}: {reason}")
            for err in run.counts.errors[:SHOWN_FAILURES]:
                lines.append(f"  {source} {obj} {err['id']}: {err['reason']}")
    return lines + [f"note: {n}" for n in summary.notes()]
