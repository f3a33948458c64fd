"""Carnet's one exception tree, grouped by what the caller does next.

    CarnetError
    ├── UsageError          bad CLI usage, config or mapping: report, exit 2, change nothing
    │   ├── ConfigError     one or more problems in the config file (all listed at once)
    │   ├── MappingError    one or more problems in a mapping file (all listed at once)
    │   └── NotAvailable    a command whose feature is not built yet
    ├── RetriableError      a passing fault (429, 5xx, timeout): retry with backoff, then give up
    │   └── RateLimited     the CRM said slow down; carries the delay it asked for, if any
    ├── RecordError         one record cannot be taken or written: skip it, record why, go on
    ├── BudgetExhausted     the API allowance share is spent: stop this source, resume next run
    └── FatalError          the run cannot go on (auth refused, store unreachable): stop, report
        ├── AuthError       credentials refused or expired beyond renewal
        ├── UnexpectedAnswer  a CRM answered with a body of another shape (an HTML page, ...)
        └── StoreFull       the store's disk is full: free space, run again (nothing is lost)

    CredentialsRefused is both a ConfigError and an AuthError: the CRM refused a credential the
    config names; it is reported (exit 2) as a problem with that setting.

    UsageError also holds the stores Carnet cannot open as they are:
        NotAStore           the database file is not a database (a Carnet store or any other)
        StoreTooNew         the store was migrated by a newer Carnet: upgrade Carnet to open it

Adapters raise these (they may import this module and the record types, nothing else of
`connector`); the CLI maps them to exit codes in one place.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


class CarnetError(Exception):
    """Base of every error Carnet raises on purpose."""


@dataclass(frozen=True)
class Problem:
    """One problem in a file: where (file, line, key path) and what. Prints as
    `config.yaml:12: sources.hubspot.token: inline secrets are not allowed ...`."""

    file: str
    key: str  # dotted key path, e.g. "sources.hubspot.token"; "" when it is about the whole file
    message: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        return f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"


class UsageError(CarnetError):
    """The user asked for something that cannot be done as asked. Exit code 2."""

    exit_code = 2

    def lines(self) -> list[str]:
        return [str(self)]


class _ProblemsError(UsageError):
    def __init__(self, problems: Iterable[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))

    def __reduce__(self) -> tuple[Any, ...]:  # pickled as made (a sync's pull process sends it)
        return type(self), (self.problems,)

    def lines(self) -> list[str]:
        return [str(p) for p in self.problems]


class ConfigError(_ProblemsError):
    """Problems in the config file; every one is listed."""


class MappingError(_ProblemsError):
    """Problems in a mapping file; every one is listed."""


class NotAvailable(UsageError):
    """A command of the contract whose feature is not built yet."""

    def __init__(self, command: str):
        self.command = command
        super().__init__(f"'carnet {command}' is not available yet in this version of Carnet")

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.command,)


class RetriableError(CarnetError):
    """A passing fault; the one retry policy (adapters/base.py) retries it."""


class RateLimited(RetriableError):
    def __init__(self, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.retry_after = retry_after


class RecordError(CarnetError):
    """One record is malformed or was refused; the run goes on without it."""

    def __init__(self, message: str, record_id: str | None = None):
        super().__init__(message)
        self.record_id = record_id


class BudgetExhausted(CarnetError):
    """The configured share of the CRM's API allowance is spent."""


class FatalError(CarnetError):
    """The run cannot continue."""


class AuthError(FatalError):
    """Credentials refused, or expired and not renewable."""


class CredentialsRefused(ConfigError, AuthError):
    """The CRM refused a credential the config names (a wrong secret, consumer key or token, or
    client credentials sent to a generic login host): a problem with that setting, reported like
    any config problem (one line naming file, line and key; exit 2), and an AuthError to the code
    that stops a source whose credentials gave out."""


class UnexpectedAnswer(FatalError):
    """A CRM answered a call with something the adapter cannot read (an HTML page from a proxy,
    JSON of another shape). Raised where the adapter parses the answer (connector/core/answers.py);
    the pull of that object stops, what was committed stays."""

    def __init__(self, source: str, endpoint: str, expected: str, got: str):
        self.source, self.endpoint, self.expected, self.got = source, endpoint, expected, got
        super().__init__(f"{source} answered {endpoint} with {got}; expected {expected}")

    def __reduce__(self) -> tuple[Any, ...]:  # pickled as made (a sync's pull process sends it)
        return type(self), (self.source, self.endpoint, self.expected, self.got)


class _StoreProblem(CarnetError):
    """A store that cannot be used as it is: `where` names it (the file, or the URL without its
    password), `what` says what is wrong and what to do."""

    def __init__(self, where: str, what: str):
        self.where, self.what = where, what
        super().__init__(f"{where}: {what}")

    def __reduce__(self) -> tuple[Any, ...]:
        return type(self), (self.where, self.what)


class StoreFull(_StoreProblem, FatalError):
    """The disk (or the database's space) is full; the transaction in hand was rolled back."""


class NotAStore(_StoreProblem, UsageError):
    """The configured database file is not a database."""


class StoreTooNew(_StoreProblem, UsageError):
    """The store is at a migration this Carnet does not know: a newer Carnet migrated it."""
