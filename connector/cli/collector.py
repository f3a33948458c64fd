"""The garbage collector around what a command loads: `carnet` is a short process whose modules
live as long as it does, so the collector's passes need not walk them again and again.

A module of its own, on nothing else of the command line, so that the command line's own imports
(typer, rich, the config) can load inside it too (connector.cli.main).
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def loading() -> Iterator[None]:
    """Around imports (or a command's work): no garbage collection while they load, and what they
    made frozen after (out of the collector's passes). What they define lives until the process
    ends, yet each full pass of the collector during start-up walks all of it again (about a
    tenth of the import time of `carnet sync`); and unfrozen, the first collection after them
    would walk every object they made (tens of milliseconds)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        if enabled:
            gc.enable()
