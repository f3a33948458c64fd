"""The pull side of a sync in a thread (connector/ingest/feed.py): objects pulled one after
another in order, pages mapped with their digests, an object's end or the error that stopped it
where it happened, the adapter's usage carried along, a stop that ends the pull early, and a
command that ends at once without waiting for the call in hand."""

from __future__ import annotations

import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from connector.core.errors import (
    AuthError,
    BudgetExhausted,
    CarnetError,
    ConfigError,
    FatalError,
    MappingError,
    NotAvailable,
    Problem,
    RateLimited,
    RecordError,
)
from connector.core.records import (
    ApiUsage,
    FieldInfo,
    ObjectSpec,
    Page,
    RawRecord,
    Write,
    WriteResult,
)
from connector.ingest.feed import Ended, Failed, Fed, ThreadFeed, portable
from mappings.loader import default_path, load_mapping
from mappings.records import record_hash

MAPPING = load_mapping(default_path("salesforce"), "salesforce")
STAMP = datetime(2026, 11, 1, tzinfo=UTC)


@dataclass
class Pages:
    """`pages[obj]` pages of one user record each; `fail` raises after that object's pages."""

    pages: dict[str, int]
    fail: dict[str, Exception] = field(default_factory=dict)
    calls: int = 0
    pulled: list[int] = field(default_factory=list)
    closed: threading.Event = field(default_factory=threading.Event)
    adapter_closed: bool = False
    source: str = "salesforce"

    def pull(self, spec: ObjectSpec, cursor: str | None, full: bool) -> Iterator[Page]:
        try:
            for n in range(self.pages.get(spec.name, 0)):
                self.calls += 1
                self.pulled.append(n)
                fields = {"Email": f"u{n}@example.com", "LastName": f"U{n}", "IsActive": True}
                yield Page([RawRecord(f"005{n:012d}", fields, modstamp=STAMP)], f"{spec.name}:{n}")
            if spec.name in self.fail:
                raise self.fail[spec.name]
        finally:
            self.closed.set()

    def push(self, writes: list[Write]) -> list[WriteResult]:
        raise NotImplementedError  # the pull side never writes

    def describe(self, object_name: str) -> dict[str, FieldInfo]:
        return {}

    def usage(self) -> ApiUsage:
        return ApiUsage(calls=self.calls)

    def close(self) -> None:
        self.adapter_closed = True


def drain(feed: ThreadFeed) -> list[object]:
    feed.open()
    try:
        return list(feed.items())
    finally:
        feed.close()


def test_objects_come_in_order_each_page_mapped_then_its_end() -> None:
    adapter = Pages({"User": 2, "Account": 0, "Contact": 1})
    wants = [("User", None), ("Account", "c1"), ("Contact", None)]
    items = drain(ThreadFeed(lambda: adapter, MAPPING, wants, full=False))
    shape = [(type(i).__name__, i.obj) for i in items]  # type: ignore[attr-defined]
    assert shape == [
        ("Fed", "User"), ("Fed", "User"), ("Ended", "User"),
        ("Ended", "Account"),
        ("Fed", "Contact"), ("Ended", "Contact"),
    ]  # fmt: skip
    fed = [i for i in items if isinstance(i, Fed)]
    assert [f.cursor for f in fed] == ["User:0", "User:1", "Contact:0"]
    assert [f.usage.calls for f in fed] == [1, 2, 3]
    assert all(f.pulled == len(f.records) == 1 for f in fed)
    user = fed[0].records[0]
    assert user.kind == "member" and user.digest == record_hash(user)
    assert adapter.adapter_closed


def test_the_error_that_stopped_an_object_comes_after_its_pages_and_nothing_follows() -> None:
    adapter = Pages({"User": 2, "Account": 3}, fail={"User": AuthError("refused")})
    items = drain(ThreadFeed(lambda: adapter, MAPPING, [("User", None), ("Account", None)], True))
    assert [type(i) for i in items] == [Fed, Fed, Failed]
    failed = items[-1]
    assert isinstance(failed, Failed) and failed.obj == "User"
    assert isinstance(failed.error, AuthError) and failed.usage == ApiUsage(calls=2)
    assert adapter.adapter_closed


def test_closing_early_stops_the_pull_after_the_page_in_hand() -> None:
    adapter = Pages({"User": 1000})
    feed = ThreadFeed(lambda: adapter, MAPPING, [("User", None)], full=True)
    feed.open()
    for item in feed.items():
        assert not isinstance(item, Ended)
        if isinstance(item, Fed) and item.cursor == "User:2":
            break
    feed.close()
    assert adapter.closed.wait(5) and len(adapter.pulled) < 20
    assert adapter.adapter_closed


@dataclass
class Stuck(Pages):
    """Its first page waits until `release` is set: a call in hand that does not come back."""

    release: threading.Event = field(default_factory=threading.Event)
    calling: threading.Event = field(default_factory=threading.Event)

    def pull(self, spec: ObjectSpec, cursor: str | None, full: bool) -> Iterator[Page]:
        self.calling.set()
        self.release.wait(30)
        yield from super().pull(spec, cursor, full)


def test_abandoning_waits_neither_for_the_call_in_hand_nor_closes_the_adapter_under_it() -> None:
    adapter = Stuck({"User": 3})
    feed = ThreadFeed(lambda: adapter, MAPPING, [("User", None)], full=False)
    feed.open()
    assert adapter.calling.wait(5)
    feed.abandon()  # a second Ctrl-C: the command ends at once
    feed.close()  # as the sync's `finally` still calls it: nothing left to do
    assert not adapter.adapter_closed and not adapter.closed.is_set()
    adapter.release.set()  # the call comes back: the thread sees the stop and ends
    assert adapter.closed.wait(5) and adapter.pulled == [0]


def test_the_usage_open_gives_is_the_adapters_before_the_pull_starts() -> None:
    adapter = Stuck({"User": 1})
    adapter.calls = 1  # its login
    feed = ThreadFeed(lambda: adapter, MAPPING, [("User", None)], full=False)
    pulling: list[bool] = []  # at each usage asked: whether the pull thread was running
    usage = adapter.usage

    def watched() -> ApiUsage:
        pulling.append(feed._worker is not None)
        return usage()

    adapter.usage = watched  # type: ignore[method-assign]
    opened = feed.open()
    adapter.release.set()
    items = list(feed.items())
    feed.close()
    assert pulling[0] is False and opened.calls == 1  # what each object's calls count from
    assert [i.usage.calls for i in items] == [2, 2]  # type: ignore[attr-defined]


def test_an_adapter_that_cannot_open_raises_at_open() -> None:
    def refuse() -> Pages:
        raise AuthError("invalid_grant")

    feed = ThreadFeed(refuse, MAPPING, [("User", None)], full=True)
    with pytest.raises(AuthError, match="invalid_grant"):
        feed.open()
    feed.close()


class Unpicklable(Exception):
    def __init__(self, a: str, b: str):
        super().__init__(f"{a}/{b}")


def test_errors_cross_to_the_parent_as_themselves_or_as_a_fatal_error_naming_them() -> None:
    assert isinstance(portable(AuthError("no")), AuthError)
    crossed = portable(Unpicklable("x", "y"))
    assert isinstance(crossed, FatalError) and str(crossed) == "Unpicklable: x/y"


@pytest.mark.parametrize(
    "error",
    [
        ConfigError([Problem("c.yaml", "sources.hubspot.token_file", "cannot read x", 7)]),
        MappingError([Problem("m.yaml", "objects.Contact", "unknown field", 3)]),
        NotAvailable("push"),
        RateLimited("slow down", retry_after=2.5),
        RecordError("bad email", record_id="003A"),
        BudgetExhausted("90% of 15000 used"),
        AuthError("invalid_grant"),
    ],
)
def test_every_carnet_error_crosses_whole(error: CarnetError) -> None:
    assert portable(error) is error
    back = pickle.loads(pickle.dumps(error))
    assert type(back) is type(error) and str(back) == str(error)
    assert vars(back) == vars(error)


def imported_cli(control: Any, out: Any) -> None:
    """A pull child's stand-in: whether the CLI got imported in it, with the arguments it was
    handed; then it waits to be told to stop."""
    args = control.recv()
    out.send(("connector.cli.main" in sys.modules, args))
    control.recv()


LIKE_CARNET = """
import os
from pathlib import Path
from connector.cli.main import main  # as the `carnet` script does
from connector.ingest.processes import Child, kill_children

if __name__ == "__main__":
    child = Child("tests.unit.test_pull_feed:imported_cli")
    child.start({"source": "salesforce"})
    print(child.out.recv(), flush=True)
    pid = os.getpid()  # the processes this one started, still running: only the child
    started = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    print(started == [str(child.pid)], flush=True)
    child.stop()
    child.join(30)
    print(child.exitcode, flush=True)
    kill_children()
"""


def test_the_pull_child_starts_alone_without_importing_the_parents_main_module(
    tmp_path: Path,
) -> None:
    script = tmp_path / "like_carnet.py"
    script.write_text(LIKE_CARNET)
    root = Path(__file__).parents[2]
    done = subprocess.run(
        [sys.executable, str(script)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "PYTHONPATH": str(root)},
    )
    assert done.returncode == 0, done.stderr
    # the child got its arguments, and not the CLI; nothing else was started beside it (no
    # resource tracker); it ended when asked
    assert done.stdout.splitlines() == ["(False, {'source': 'salesforce'})", "True", "0"]


@pytest.mark.parametrize("told", [0, 1], ids=["before-its-source", "before-its-pull"])
def test_a_pull_process_let_go_before_its_pull_ends_quietly(
    told: int, capfd: pytest.CaptureFixture[str]
) -> None:
    """`carnet sync --full` starts its pull process first; a sync that ends before handing it a
    pull (a bad config, an unknown source, a describe refused) lets it go: it ends, exit code 0,
    without a word on stderr."""
    from connector.ingest import feed
    from connector.ingest.processes import PULL, pull_process

    assert f"{feed.__name__}:{feed._child.__name__}" == PULL
    child = pull_process()
    if told:
        child.hand("salesforce")
    child.discard(wait=60)
    assert child.exitcode == 0
    assert child.control is None and child.out is None
    assert capfd.readouterr().err == ""
    child.discard()  # again: nothing left to do
