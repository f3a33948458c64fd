"""The mappings editor's file work (the web's Admin page): check a text exactly as `carnet mappings
check` checks a file (the same loader, checks and messages, naming the real file and its lines),
optionally against the CRM's describe, and save it atomically with the previous version kept.

A text is checked from a file staged beside the real one (same folder, so saving is one rename):
written, flushed and fsync'd, loaded, then either removed or renamed over the real file with
`os.replace` after the old contents were kept as `<name>.previous`. A reader (a sync starting)
sees the old file or the new one, never a half-written one.
"""

from __future__ import annotations

import hashlib
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from connector.core.errors import MappingError, Problem, UsageError
from connector.core.sources import open_adapter
from mappings.loader import load_mapping
from mappings.schema import Mapping
from mappings.verify import Opener, check_online, writable_fields

PREVIOUS = ".previous"


@dataclass(frozen=True)
class Saved:
    path: Path
    previous: Path | None  # where the old version is kept (None: there was no file)
    sha256: str
    was: str | None  # the old version's sha256


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def normalise(text: str) -> bytes:
    """A browser sends a textarea with CRLF line ends: the file keeps LF, ending in one."""
    body = text.replace("\r\n", "\n").replace("\r", "\n")
    try:
        return (body if body.endswith("\n") else body + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: not text any file could hold
        raise UsageError("the mapping is not valid Unicode text") from None


def read_current(path: Path) -> tuple[bytes | None, str | None]:
    """The file's bytes and their sha256; (None, None) when there is no file yet."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, None
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read: {exc.strerror}") from None
    return data, sha256(data)


def _write_beside(path: Path, data: bytes) -> Path:
    """`data` in a new file in `path`'s folder, on disk (fsync'd), with `path`'s permissions."""
    try:
        fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise UsageError(f"{path}: cannot write beside it: {exc.strerror}") from None
    staged = Path(name)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        mode = stat.S_IMODE(path.stat().st_mode) if path.exists() else 0o644
        staged.chmod(mode)
    except BaseException:
        staged.unlink(missing_ok=True)
        raise
    return staged


def _renamed(problems: list[Problem], staged: Path, path: Path) -> list[Problem]:
    return [replace(p, file=str(path)) if p.file == str(staged) else p for p in problems]


@contextmanager
def _staged_mapping(path: Path, source: str, data: bytes) -> Iterator[tuple[Mapping, Path]]:
    """The text loaded as a mapping from a staged file; problems name `path`. The staged file
    is removed at the end unless it was renamed."""
    staged = _write_beside(path, data)
    try:
        try:
            mapping = load_mapping(staged, source)
        except MappingError as exc:
            raise MappingError(_renamed(exc.problems, staged, path)) from None
        mapping._path = path
        yield mapping, staged
    finally:
        staged.unlink(missing_ok=True)


def check_text(path: Path, source: str, text: str) -> dict[str, Any]:
    """The offline check of `carnet mappings check`; a MappingError lists every problem."""
    with _staged_mapping(path, source, normalise(text)) as (mapping, _):
        return _summary(mapping, online=False)


def check_text_online(
    path: Path, source: str, text: str, settings: Any, opener: Opener = open_adapter
) -> dict[str, Any]:
    """`carnet mappings check --online` for the text: the offline checks, then the CRM's own
    description of each object's fields (the adapter's `describe`)."""
    with _staged_mapping(path, source, normalise(text)) as (mapping, _):
        adapter = opener(source, settings)
        try:
            problems, notes = check_online(mapping, adapter)
            writable = writable_fields(mapping, adapter)
        finally:
            adapter.close()
        if problems:
            raise MappingError(problems)
        return _summary(mapping, online=True) | {"notes": notes, "writable": writable}


def _summary(mapping: Mapping, online: bool) -> dict[str, Any]:
    return {
        "source": mapping.source,
        "mapping": str(mapping.path),
        "objects": list(mapping.objects),
        "outbound_fields": sum(len(f) for f in mapping.outbound.objects.values()),
        "online": online,
        "notes": [],
    }


def save_text(path: Path, source: str, text: str, expected: str | None) -> Saved:
    """Check the text, then replace the file with it, keeping the old one as `<name>.previous`.
    `expected`: the sha256 of the version the editor opened; if the file has changed since
    (another admin saved, or someone edited it on disk), nothing is written."""
    data = normalise(text)
    old, was = read_current(path)
    if expected is not None and was != expected:
        raise UsageError(
            f"{path}: changed since you opened it (saved by someone else, or edited on disk); "
            "reload the editor and make your change again"
        )
    with _staged_mapping(path, source, data) as (_, staged):
        previous = None
        if old is not None:
            previous = path.with_name(path.name + PREVIOUS)
            os.replace(_write_beside(previous, old), previous)
        os.replace(staged, path)
        _sync_folder(path.parent)
    return Saved(path, previous, sha256(data), was)


def _sync_folder(folder: Path) -> None:
    """The renames themselves on disk (a folder's entries are data too)."""
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
