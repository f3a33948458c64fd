"""The pull process's plumbing, on both sides: a plain child process (a Python interpreter of
its own, started by `subprocess`, with two pipes), signals held while it starts and ignored once
it runs, its log records and errors made fit to cross to the parent, and no process left behind.

Not multiprocessing's spawn: that starts a second helper beside the child, its resource tracker
(13 MB, for the semaphores of its queues and events, which the pull needs none of), and makes the
child import the parent's `__main__` again (for `carnet`, the whole command line). Here the child
runs one function, named as "module:function", handed the two ends it owns: `control`, whose
first messages are its arguments (`hand`) and whose next (or its end, the parent gone) asks it to
stop;
and `out`, on which it sends what it has for the parent, waiting while the parent has not read
the last (a pipe holds little), and ending when nobody is left to read.

A terminal's Ctrl-C (SIGINT) reaches every process of the foreground group, and a service
manager's SIGTERM often the whole group too. The sync decides when its pull stops (after the page
in hand, through `Child.stop`), so the child ignores both; it ends when asked, or by itself once
its parent is gone.
"""

from __future__ import annotations

import contextlib
import logging
import logging.handlers
import os
import pickle
import queue
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from multiprocessing.connection import Connection
from typing import Any

from connector.core.errors import FatalError

PARENT_SIGNALS = frozenset({signal.SIGINT, signal.SIGTERM})  # the parent's to act on, not ours
GONE = 3  # a child's exit code when its parent is gone (nobody left to read what it sends)
# the child's first lines: this process's import path (the same `connector`, adapters and
# mappings), then the function it runs, handed its two ends of the pipes
BOOT = """
import importlib, sys
from multiprocessing.connection import Connection
control = Connection(int(sys.argv[1]), writable=False)
out = Connection(int(sys.argv[2]), readable=False)
sys.path[:], target = control.recv()
module, _, name = target.partition(":")
getattr(importlib.import_module(module), name)(control, out)
"""
_RUNNING: set[Child] = set()  # started and not yet reaped: what `kill_children` kills
PULL = "connector.ingest.feed:_child"  # the function a sync's pull process runs


@contextlib.contextmanager
def signals_held() -> Iterator[None]:
    """Start a child in here: it begins with SIGINT and SIGTERM blocked (fork and exec keep the
    calling thread's signal mask), so neither can interrupt it while it imports, until
    `ignore_parent_signals` has it ignore them. Works from any thread (the scheduler's too)."""
    if not hasattr(signal, "pthread_sigmask"):  # not on Windows (no process groups there)
        yield
        return
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


class Child:
    """A child process running `target` ("module:function"), as the parent sees it."""

    def __init__(self, target: str):
        self.target = target
        self.proc: subprocess.Popen[bytes] | None = None
        self.control: Connection | None = None  # this side writes
        self.out: Connection | None = None  # this side reads

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    @property
    def exitcode(self) -> int | None:
        return self.proc.poll() if self.proc else None

    def start(self, args: Any) -> None:
        """Start the child and hand it `args` (`spawn`, then `hand`)."""
        self.spawn()
        self.hand(args)

    def spawn(self) -> None:
        """Start the child, SIGINT and SIGTERM held: it imports its function's module, then
        waits for its arguments (`hand`)."""
        theirs_control, ours_control = os.pipe()
        ours_out, theirs_out = os.pipe()
        cmd = [sys.executable, "-c", BOOT, str(theirs_control), str(theirs_out)]
        try:
            with signals_held():
                self.proc = subprocess.Popen(
                    cmd, stdin=subprocess.DEVNULL, pass_fds=(theirs_control, theirs_out)
                )
        finally:
            os.close(theirs_control)
            os.close(theirs_out)
            self.control = Connection(ours_control, readable=False)
            self.out = Connection(ours_out, writable=False)
        _RUNNING.add(self)
        self.hand((sys.path, self.target))

    def hand(self, args: Any) -> None:
        """Send the child a message (pickled): its function reads them in order."""
        if self.control is not None:  # an OSError: it ended already (`out` tells what it said)
            with contextlib.suppress(OSError):
                self.control.send(args)

    def stop(self) -> None:
        """Ask the child to stop (it reads this between its steps)."""
        if self.control is not None:
            with contextlib.suppress(OSError):
                self.control.send("stop")

    def is_alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def join(self, timeout: float | None = None) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.proc.wait(timeout)
        if self.proc.returncode is not None:
            _RUNNING.discard(self)

    def kill(self) -> None:
        if self.is_alive() and self.proc is not None:
            self.proc.kill()

    def close(self) -> None:
        """Let go of this side's ends of the pipes."""
        for end in (self.control, self.out):
            if end is not None:
                end.close()
        self.control = self.out = None

    def discard(self, wait: float = 10.0) -> None:
        """Let go of a child whatever it is doing: its ends of the pipes closed (a child waiting
        for its arguments then ends), given `wait` seconds to end, else killed; reaped. Nothing
        left to do for a child already ended and closed."""
        self.close()
        self.join(wait)
        self.kill()
        self.join()


def pull_process() -> Child:
    """A sync's pull process, started ahead of its pull: it imports the pull side while this
    process does its own start-up, then waits for its source's name and its pull
    (connector.ingest.feed.ProcessFeed). Whoever started it `discard`s it in the end (a no-op once
    its feed has closed it)."""
    child = Child(PULL)
    child.spawn()
    return child


@contextlib.contextmanager
def pull_ahead(wanted: bool = True) -> Iterator[Child | None]:
    """A pull process started now (`pull_process`) when `wanted`, discarded on the way out."""
    child = pull_process() if wanted else None
    try:
        yield child
    finally:
        if child is not None:
            child.discard()


def sender(out: Connection) -> Callable[[Any], None]:
    """In the child: `send(item)` to the parent, waiting for it to read; one item at a time
    whatever thread sends (log records come from any). If the parent is gone (killed), nobody
    will ever read it: the child ends at once (no cleanup is owed, the operating system closes
    the sockets)."""
    lock = threading.Lock()

    def send(item: Any) -> None:
        try:
            with lock:
                out.send(item)
        except OSError:  # a broken pipe: the parent is gone
            os._exit(GONE)

    return send


def stopped(control: Connection) -> Callable[[], bool]:
    """In the child: whether the parent asked it to stop, or is gone (its end closed)."""

    def asked() -> bool:
        try:
            return control.poll()
        except OSError:
            return True

    return asked


def kill_children() -> None:
    """Kill the pull processes still running and reap them (a sync told to stop at once, a
    command or a worker ending)."""
    for child in list(_RUNNING):
        child.kill()
        child.join()


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
