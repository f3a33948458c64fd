"""The pull side of a sync in a child process (connector/pull_feed.py), against the sandbox: the
child opens the adapter from the config section and pulls every object in order; its API calls
are the ones the sandbox counted; its log records reach this process's handlers; a failure to
open comes out of `open` as the error it was; a child that dies is an error, not a hang; and
closing early stops it."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from connector.core.config import SourceBase, load_config
from connector.core.errors import FatalError, UsageError
from connector.ingest.feed import Ended, Failed, Fed, ProcessFeed
from connector.ingest.processes import pull_process
from mappings.records import record_hash
from sandbox.runner import Sandbox
from tests.sandbox_fixture import admin, calls_served

pytestmark = pytest.mark.timeout(120)


def settings(sandbox: Sandbox, source: str) -> SourceBase:
    found: SourceBase = load_config(sandbox.config_file).sources.enabled()[source]
    return found


@pytest.mark.parametrize("ahead", [False, True], ids=["started-at-open", "started-ahead"])
def test_the_child_pulls_every_object_in_order_with_the_calls_the_crm_counted(
    fresh_sandbox: Sandbox, ahead: bool
) -> None:
    wants: list[tuple[str, str | None]] = [("User", None), ("Account", None), ("Contact", None)]
    child = None
    if ahead:  # as `carnet sync --full` starts it: before its own imports, told the source later
        child = pull_process()
        child.hand("salesforce")
    source = settings(fresh_sandbox, "salesforce")
    feed = ProcessFeed("salesforce", source, wants, full=True, child=child)
    before = calls_served(fresh_sandbox)
    opened = feed.open()
    try:
        items = list(feed.items())
    finally:
        feed.close()
    ends = [i for i in items if isinstance(i, Ended)]
    assert [e.obj for e in ends] == ["User", "Account", "Contact"]
    assert not [i for i in items if isinstance(i, Failed)]
    fed = [i for i in items if isinstance(i, Fed)]
    assert {f.obj for f in fed} == {"User", "Account", "Contact"}
    assert all(f.full for f in fed) and sum(f.done for f in fed) == 3
    records = [r for f in fed for r in f.records]
    assert len(records) == sum(f.pulled for f in fed) > 100
    assert all(r.digest == record_hash(r) for r in records)
    # every API call the sandbox saw, the token request aside (not an API call)
    assert opened.calls == 0
    assert ends[-1].usage.calls == calls_served(fresh_sandbox) - before - 1
    assert feed.peak_rss_kib > 10_000  # the child's own peak, reported as it ended
    if child is not None:
        assert child.exitcode == 0
        child.discard()  # what its starter does in the end: nothing left to do


def test_the_childs_log_records_reach_this_process(
    fresh_sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    wants: list[tuple[str, str | None]] = [("contacts", "not a cursor")]
    feed = ProcessFeed("exchange", settings(fresh_sandbox, "exchange"), wants, full=False)
    with caplog.at_level(logging.INFO):
        feed.open()
        try:
            items = list(feed.items())
        finally:
            feed.close()
    assert isinstance(items[-1], Ended)
    lines = [r.getMessage() for r in caplog.records if r.name == "adapters.exchange.contacts"]
    assert "exchange: the contacts cursor is not readable; starting a full pass" in lines


def test_a_missing_secret_is_raised_at_open_as_the_usage_error_it_is(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    broken = settings(fresh_sandbox, "hubspot").model_copy(
        update={"token_file": tmp_path / "nowhere.txt"}
    )
    feed = ProcessFeed("hubspot", broken, [("owners", None)], full=True)
    with pytest.raises(UsageError, match=r"nowhere\.txt"):
        feed.open()


def slow_crm(sandbox: Sandbox) -> None:
    """Every Salesforce call takes 200 ms more: the child is still pulling when we act."""
    admin(
        sandbox,
        "salesforce",
        "POST",
        "/__sandbox/faults",
        {"rate": 1.0, "kinds": ["slow"], "slow_ms": 200},
    )


def test_a_child_that_dies_is_an_error_not_a_hang(fresh_sandbox: Sandbox) -> None:
    slow_crm(fresh_sandbox)
    wants: list[tuple[str, str | None]] = [("User", None), ("Account", None), ("Contact", None)]
    feed = ProcessFeed("salesforce", settings(fresh_sandbox, "salesforce"), wants, full=True)
    feed.open()
    items = feed.items()
    assert isinstance(next(items), Fed)
    os.kill(feed._proc.pid or 0, signal.SIGKILL)
    with pytest.raises(FatalError, match="ended unexpectedly"):
        for _ in items:
            pass
    feed.close()


def test_closing_early_stops_the_child(fresh_sandbox: Sandbox) -> None:
    slow_crm(fresh_sandbox)
    objects = ["User", "Account", "Contact", "Opportunity", "Task", "Event"]
    feed = ProcessFeed(
        "salesforce", settings(fresh_sandbox, "salesforce"), [(o, None) for o in objects], True
    )
    before = calls_served(fresh_sandbox)
    feed.open()
    first = next(feed.items())
    assert isinstance(first, Fed) and first.obj == "User"
    feed.close()
    assert not feed._proc.is_alive()
    served = calls_served(fresh_sandbox)
    assert served - before <= 4  # the token, the User page and at most the call then in hand
    assert calls_served(fresh_sandbox) == served  # nothing more is asked of the CRM


PARENT = """
import sys
from connector.core.config import load_config
from connector.ingest.feed import ProcessFeed

if __name__ == "__main__":
    settings = load_config(sys.argv[1]).sources.enabled()["salesforce"]
    feed = ProcessFeed("salesforce", settings, [("Task", None), ("Event", None)], True)
    feed.open()
    print(feed._proc.pid, flush=True)
    sys.stdin.read()  # never reads the feed: the child fills the queue and waits
"""


def test_a_child_whose_sync_was_killed_ends_by_itself(
    fresh_sandbox: Sandbox, tmp_path: Path
) -> None:
    script = tmp_path / "parent.py"
    script.write_text(PARENT)
    args = [sys.executable, str(script), str(fresh_sandbox.config_file)]
    with subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) as parent:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        parent.kill()
    deadline = time.monotonic() + 30
    while alive(child) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not alive(child)


def alive(pid: int) -> bool:
    """Whether `pid` runs (a zombie, ended but not yet reaped by init, counts as ended)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"
