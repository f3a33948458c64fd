"""The pull process's plumbing, on both sides: signals held while it starts and ignored once it
runs, its log records and errors made fit to cross to the parent, and no process left behind.

A terminal's Ctrl-C (SIGINT) reaches every process of the foreground group, and a service
manager's SIGTERM often the whole group too. The sync decides when its pull stops (after the page
in hand, through the feed's stop event), so the child ignores both; it ends when asked, or by
itself once its parent is gone.
"""

from __future__ import annotations

import contextlib
import gc
import logging
import logging.handlers
import multiprocessing
import pickle
import queue
import signal
import sys
from collections.abc import Callable, Iterator
from multiprocessing import resource_tracker
from typing import Any

from connector.core.errors import FatalError

PARENT_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})  # the parent's to act on, not ours


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Start a child in here: it begins with SIGINT and SIGTERM blocked (spawn's fork and exec
    keep the calling thread's signal mask), so neither can interrupt it while it imports, until
    `ignore_parent_signals` has it ignore them. Works from any thread (the scheduler's too)."""
    if not hasattr(signal, "pthread_sigmask"):  # not on Windows (no process groups there)
        yield
        return
    resource_tracker.ensure_running()  # spawn starts it, and it unblocks these as it does
    old = signal.pthread_sigmask(signal.SIG_BLOCK, PARENT_SIGNALS)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, old)


def ignore_parent_signals() -> None:
    """In the child, first thing: ignore SIGINT and SIGTERM (those already pending are dropped),
    then take them off the blocked set again."""
    for sig in PARENT_SIGNALS:
        signal.signal(sig, signal.SIG_IGN)
    if hasattr(signal, "pthread_sigmask"):
        signal.pthread_sigmask(signal.SIG_UNBLOCK, PARENT_SIGNALS)


def kill_children() -> None:
    """Kill the pull processes still running and reap them (a sync told to stop at once)."""
    for child in multiprocessing.active_children():
        child.kill()
        child.join()


def end_children() -> None:
    """When a command ends: kill a pull process still running, reap it, and stop the resource
    tracker that multiprocessing's spawn starts beside it, which would otherwise outlive the
    command until it noticed, and end as a zombie of nobody."""
    kill_children()
    tracker = getattr(resource_tracker, "_resource_tracker", None)
    if getattr(tracker, "_fd", True) is None:  # CPython's: None until it starts (no pull process)
        return
    gc.collect()  # the semaphores of closed feeds: unregistered before the tracker stops
    stop = getattr(tracker, "_stop", None)  # CPython's own way, used by its test suite
    if stop is not None:
        stop()


@contextlib.contextmanager
def main_module_hidden() -> Iterator[None]:
    """A spawned child first imports this process's `__main__` again (for pickled functions that
    live there), which for `carnet` is the whole CLI: about 55 MB and a third of a second before
    the first call to the CRM. The pull child's code lives in connector.ingest.feed, so `__main__`
    is hidden from multiprocessing while the child starts."""
    main = sys.modules.get("__main__")
    keys = ("__file__", "__spec__")
    saved: dict[str, Any] = {k: main.__dict__[k] for k in keys if main and k in main.__dict__}
    if main is not None:
        main.__spec__ = None
        main.__dict__.pop("__file__", None)
    try:
        yield
    finally:
        if main is not None:
            main.__dict__.update(saved)


class Shipping(logging.handlers.QueueHandler):
    """Log records to the parent through the feed's queue, waiting for room (never dropped)."""

    def __init__(self, send: Callable[[Any], None]):
        super().__init__(queue.Queue())  # unused: records go through `send`
        self.send = send

    def enqueue(self, record: logging.LogRecord) -> None:
        self.send(record)


def portable(error: BaseException) -> BaseException:
    """`error` as it can cross to the parent: itself when it pickles to the same type and text,
    else a FatalError that says what it was."""
    try:
        back = pickle.loads(pickle.dumps(error))
        if type(back) is type(error) and str(back) == str(error):
            return error
    except Exception:
        pass
    return FatalError(f"{type(error).__name__}: {error}")


def peak_rss_kib() -> int:
    try:
        import resource
    except ImportError:  # not on Windows
        return 0
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss // 1024 if sys.platform == "darwin" else rss  # macOS: bytes
