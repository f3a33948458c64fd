"""The pull side of a sync: one source's objects pulled page by page and mapped, ahead of the
ingest that stores them.

A sync that opens its adapters itself (the CLI, the scheduler) and reads a lot (a --full or a
first sync) runs this side in a child process: decoding the CRM's JSON and mapping the records
then use another core instead of contending with ingest for this process's GIL. An incremental
sync (connector.sync.pulls_in_child), or one handed an adapter object (the tests' fakes), runs
it in a thread. Either way the objects are pulled in the mapping's order one after another,
without a pause between them, ahead of the ingest (a thread by at most DEPTH items; a child by
the page it sends, which waits in the pipe until the ingest reads it, and the one it pulls
meanwhile: pages queued cost memory, not speed); and the ingest side reads
the same stream: each page's mapped records, then the object's end, or the error that stopped
the pull, where it happened. Nothing on this side touches the store.

The child opens the adapter from the source's config section and reads its mapping file itself.
It ships its log records to the parent's handlers (redacted first, where its secrets are known),
and a failure to open the adapter comes out of `Feed.open` as it would have in this process.
It ignores SIGINT and SIGTERM (connector/ingest/processes.py): the parent stops it, through
`close`, once the page in hand is stored.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, Protocol

from connector.core.config import SourceBase
from connector.core.errors import FatalError, UsageError
from connector.core.logs import RedactFilter
from connector.core.normalise import clean_strings
from connector.core.protocols import Adapter
from connector.core.records import ApiUsage, ObjectSpec, RawRecord
from connector.core.sources import adapter_class, open_adapter
from connector.ingest.processes import (
    PULL,
    Child,
    Shipping,
    ignore_parent_signals,
    peak_rss_kib,
    portable,
    sender,
    stopped,
)
from mappings.apply import Mapped, apply
from mappings.loader import load_mapping, mapping_path
from mappings.records import record_hash
from mappings.schema import Mapping

DEPTH = 4  # items (pages, log records) in flight between a pull thread and the ingest
CHILD_POLL = 1.0  # seconds between checks that a silent child is still alive
CLOSE_WAIT = 10.0  # seconds a child is given to stop before it is terminated

Want = tuple[str, str | None]  # (object, cursor to pull from: None for the beginning)


@dataclass
class Fed:
    """One page of `obj`: its records mapped (each with its digest), and the page's bookkeeping."""

    obj: str
    records: list[Mapped]
    pulled: int  # raw records on the page
    cursor: str | None
    full: bool
    done: bool
    usage: ApiUsage


@dataclass
class Ended:
    """`obj`'s pull is over; `usage` is the adapter's after its last call."""

    obj: str
    usage: ApiUsage


@dataclass
class Failed:
    """What stopped the pull of `obj` (None: opening the adapter); nothing follows it."""

    obj: str | None
    error: BaseException
    usage: ApiUsage | None


@dataclass
class _Opened:
    usage: ApiUsage  # after opening (a login is not any object's call)


@dataclass
class _Closed:
    peak_rss_kib: int = 0


Item = Fed | Ended | Failed


def object_spec(adapter: Adapter, mapping: Mapping, obj: str) -> ObjectSpec:
    """What to pull of `obj`: optional and outbound fields only where the CRM has them (asked
    through the adapter's describe, when the mapping has any)."""
    if not mapping.optional_fields(obj):
        return mapping.spec(obj)
    try:
        available = adapter.describe(obj)
    except (UsageError, NotImplementedError):
        return mapping.spec(obj)
    return mapping.spec(obj, available=list(available))


def mapped(mapping: Mapping, obj: str, raws: list[RawRecord]) -> list[Mapped]:
    """The page's records mapped, each with the digest ingest compares with the stored one.
    Text enters the overlay here, cleaned once: no control character or escape sequence in any
    value (connector.core.normalise.clean_strings); everything else as the CRM gave it."""
    out = [apply(mapping, obj, raw) for raw in raws]
    for rec in out:
        rec.values, rec.seen = clean_strings(rec.values), clean_strings(rec.seen)
        rec.digest = record_hash(rec)
    return out


def produce(
    adapter: Adapter,
    mapping: Mapping,
    wants: list[Want],
    full: bool,
    put: Callable[[Any], None],
    stopped: Callable[[], bool],
) -> None:
    """Pull and map every wanted object in turn, handing each page to `put`, then the object's
    end; at the first error, that error and nothing more. Ends early once `stopped()`."""
    for obj, cursor in wants:
        try:
            pages = adapter.pull(object_spec(adapter, mapping, obj), cursor, full)
            try:
                for page in pages:
                    records = mapped(mapping, obj, page.records)
                    n = len(page.records)
                    usage = adapter.usage()
                    put(Fed(obj, records, n, page.cursor, page.full, page.done, usage))
                    if stopped():
                        return
            finally:
                close = getattr(pages, "close", None)
                if close is not None:
                    close()
        except Exception as exc:  # handed to the ingest side, raised there
            put(Failed(obj, exc, adapter.usage()))
            return
        put(Ended(obj, adapter.usage()))
        if stopped():
            return


class Feed(Protocol):
    def open(self) -> ApiUsage:
        """Open the adapter; its usage so far."""

    def items(self) -> Iterator[Item]:
        """Every object's pages and end, in order, until the pull ends or fails."""

    def close(self) -> None:
        """Stop the pull after the call in hand and close the adapter."""

    def abandon(self) -> None:
        """The command ends at once (a second Ctrl-C): stop the pull without waiting for its
        call in hand; `close` then has nothing left to do."""


@dataclass
class ThreadFeed:
    """The pull side in a thread of this process; `opener()` opens the adapter here."""

    opener: Callable[[], Adapter]
    mapping: Mapping
    wants: list[Want]
    full: bool
    _out: queue.Queue[Any] = field(default_factory=lambda: queue.Queue(maxsize=DEPTH))
    _stop: threading.Event = field(default_factory=threading.Event)
    _adapter: Adapter | None = None
    _worker: threading.Thread | None = None

    def open(self) -> ApiUsage:
        self._adapter = adapter = self.opener()
        opened = adapter.usage()  # before the pull's first call (a login is no object's call)
        args = (adapter, self.mapping, self.wants, self.full, self._out.put, self._stop.is_set)

        def run() -> None:
            try:
                produce(*args)
            finally:
                self._out.put(_Closed())

        self._worker = threading.Thread(target=run, name="carnet-pull", daemon=True)
        self._worker.start()
        return opened

    def items(self) -> Iterator[Item]:
        while not isinstance(item := self._out.get(), _Closed):
            yield item

    def close(self) -> None:
        self._stop.set()
        if self._worker is not None:
            while self._worker.is_alive():  # let a producer blocked on a full queue go on
                with contextlib.suppress(queue.Empty):
                    self._out.get(timeout=0.05)
            self._worker.join()
        if self._adapter is not None:
            self._adapter.close()

    def abandon(self) -> None:
        """The thread (a daemon) is left in its call, to end with this process; nor is the
        adapter it uses closed under it."""
        self._stop.set()
        self._worker = self._adapter = None


class ProcessFeed:
    """The pull side in a child process that opens the adapter of `source` itself: `child`, one
    started ahead and told `source` already, or one started at `open`."""

    def __init__(
        self,
        source: str,
        settings: SourceBase,
        wants: list[Want],
        full: bool,
        child: Child | None = None,
    ):
        level = logging.getLogger().getEffectiveLevel()
        self._source, self._args = source, (settings, wants, full, level)
        self._proc = child or Child(PULL)
        self._closed = False  # the child sent _Closed: it sends nothing more
        self._done = False  # `close` has run
        self.peak_rss_kib = 0  # the child's, once it has ended

    def open(self) -> ApiUsage:
        """Start the child (unless it was started ahead), hand it its pull and wait until its
        adapter is open; what stopped it from opening is raised here (a UsageError for a missing
        secret, a FatalError for refused credentials)."""
        if self._proc.proc is None:
            self._proc.start(self._source)
        self._proc.hand(self._args)
        first = self._next()
        if isinstance(first, _Opened):
            return first.usage
        self.close()
        if isinstance(first, Failed):
            raise first.error
        raise FatalError(f"the pull process began with {type(first).__name__}")

    def items(self) -> Iterator[Item]:
        while not self._closed:
            item = self._next()
            if isinstance(item, _Closed):
                self._closed, self.peak_rss_kib = True, item.peak_rss_kib
                return
            yield item

    def _next(self, deadline: float | None = None) -> Any:
        """The child's next item; its log records are handed to this process's loggers. Raises
        FatalError when the child has died, or is still silent at `deadline` (monotonic)."""
        out = self._proc.out
        while True:
            try:
                item = out.recv() if out is not None and out.poll(CHILD_POLL) else None
            except (EOFError, OSError):  # its end closed, without _Closed: it died
                self._proc.join(CLOSE_WAIT)
                raise self._died() from None
            if item is None:
                if not self._proc.is_alive():
                    raise self._died() from None
                if deadline is not None and time.monotonic() > deadline:
                    raise FatalError("the pull process did not stop in time") from None
                continue
            if isinstance(item, logging.LogRecord):
                logger = logging.getLogger(item.name)
                if logger.isEnabledFor(item.levelno):
                    logger.handle(item)
                continue
            return item

    def _died(self) -> FatalError:
        return FatalError(f"the pull process ended unexpectedly (exit code {self._proc.exitcode})")

    def close(self) -> None:
        """Ask the child to stop after the call in hand, take what it still sends, and wait for
        it (killing it if it does not end in CLOSE_WAIT seconds: it ignores SIGTERM). Then let
        go of the pipes."""
        if self._done:
            return
        self._done = True
        self._proc.stop()
        try:
            if self._proc.pid is not None:
                deadline = time.monotonic() + CLOSE_WAIT
                with contextlib.suppress(FatalError):
                    while not self._closed:
                        if isinstance(self._next(deadline), _Closed):
                            self._closed = True
                self._proc.join(max(0.0, deadline - time.monotonic()))
        finally:  # also when a second Ctrl-C ends the command at once
            if self._proc.is_alive():
                self._proc.kill()
            self._proc.join()
            self._proc.close()

    def abandon(self) -> None:
        """The child is killed in its call in hand (it ignores SIGTERM), then reaped."""
        self._proc.kill()
        self.close()


def _child(control: Connection, out: Connection) -> None:
    """The pull process (connector.ingest.processes.PULL): the source's name from `control` (its
    adapter imported while it waits), then its pull; open the adapter and `produce` to `out`;
    always end with _Closed once handed a pull. Let go before that (its parent's sync ended
    first), it ends without a word."""
    ignore_parent_signals()
    try:
        source = control.recv()
        with contextlib.suppress(UsageError, FatalError):  # raised again by open_adapter below
            adapter_class(source)
        settings, wants, full, level = control.recv()
    except EOFError:
        return
    send = sender(out)

    def put(item: Any) -> None:
        if isinstance(item, Failed):
            item.error = portable(item.error)
        send(item)

    root = logging.getLogger()
    root.handlers.clear()
    handler = Shipping(send)
    handler.addFilter(RedactFilter())  # the secrets this process read are known only here
    root.addHandler(handler)
    root.setLevel(level)

    try:
        try:
            mapping = load_mapping(mapping_path(source, settings.mapping), source)
            adapter = open_adapter(source, settings)
        except Exception as exc:
            put(Failed(None, exc, None))
            return
        try:
            with bulk_gc():
                put(_Opened(adapter.usage()))
                produce(adapter, mapping, wants, full, put, stopped(control))
        finally:
            adapter.close()
    finally:
        send(_Closed(peak_rss_kib()))
        out.close()


@contextlib.contextmanager
def bulk_gc() -> Iterator[None]:
    """Collect garbage less often on either side of a sync: pages allocate many short-lived
    objects, and the default thresholds make the collector scan everything alive every few
    thousand."""
    before = gc.get_threshold()
    gc.freeze()
    gc.set_threshold(50_000, 20, 20)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()
