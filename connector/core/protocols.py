"""The protocol every CRM adapter follows: what the core calls on it, and nothing else."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Protocol

from connector.core.records import ApiUsage, FieldInfo, ObjectSpec, Page, Write, WriteResult


class Adapter(Protocol):
    source: str

    def pull(self, spec: ObjectSpec, cursor: str | None, full: bool) -> Iterator[Page]: ...

    def push(self, writes: list[Write]) -> list[WriteResult]: ...

    def describe(self, object_name: str) -> dict[str, FieldInfo]: ...

    def usage(self) -> ApiUsage: ...

    def close(self) -> None: ...
