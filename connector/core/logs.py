"""Carnet's logs: JSON lines when the stream is not a terminal (or logging.format is json), text
otherwise; every secret read through the config, bearer tokens and session ids redacted.

Secrets are registered as they are read (`SourceBase.secret` calls `register_secret`), and the
redaction filter sits on the handler, so it covers every logger, its arguments and tracebacks.
"""

from __future__ import annotations

import json
import logging
import re
import sys
from datetime import UTC, datetime
from typing import IO, Any

from connector.core.config import Logging
from connector.core.secrets import known_secrets
from connector.core.text import json_safe, terminal_safe

REDACTED = "[REDACTED]"
_PATTERNS = (
    # Authorization: Bearer <token> (and "Bearer <token>" anywhere)
    (re.compile(r"(?i)\b(bearer)\s+[A-Za-z0-9._~+/=!-]+"), rf"\1 {REDACTED}"),
    # key=value / "key": "value" for token-like keys, in URLs, forms, JSON and reprs
    (
        re.compile(
            r"(?i)\b(access_token|refresh_token|id_token|client_secret|client_assertion|password"
            r"|session_?id|sid|token|api_key|apikey|hapikey)(\"?'?\s*[:=]\s*\"?'?)[^\s\"'&,;}]+"
        ),
        rf"\1\2{REDACTED}",
    ),
    # a Salesforce session id: org id, '!', the session part
    (re.compile(r"\b00D[A-Za-z0-9]{12,15}![A-Za-z0-9._]+"), REDACTED),
    # a HubSpot private-app token
    (re.compile(r"\bpat-[a-z]{2,4}\d?-[0-9a-fA-F-]{36}\b"), REDACTED),
    # a JWT (Entra / Graph access tokens, Salesforce JWT bearer assertions)
    (re.compile(r"\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]*"), REDACTED),
)


def redact(text: str) -> str:
    """`text` with every registered secret and every token-looking value replaced."""
    for secret in known_secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
    for pattern, repl in _PATTERNS:
        text = pattern.sub(repl, text)
    return text


def _redact_value(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: _redact_value(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_redact_value(v) for v in value]
    return value


# the attributes every LogRecord has; anything else was passed with `extra=`
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


def extras(record: logging.LogRecord) -> dict[str, Any]:
    return {k: v for k, v in vars(record).items() if k not in _STANDARD and not k.startswith("_")}


class RedactFilter(logging.Filter):
    """Rewrites a record before any formatter sees it: message (with its arguments), traceback,
    stack and `extra=` values, each redacted."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = redact(record.getMessage()), None
        if record.exc_info:
            record.exc_text = redact(self._formatter.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        for key, value in extras(record).items():
            setattr(record, key, _redact_value(value))
        return True


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds")


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, then the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc: dict[str, Any] = {
            "time": _time(record),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        doc.update(extras(record))
        if record.exc_text:
            doc["exception"] = record.exc_text
        if record.stack_info:
            doc["stack"] = record.stack_info
        return json_safe(json.dumps(doc, default=str, ensure_ascii=False))


class TextFormatter(logging.Formatter):
    """`time LEVEL logger: message`, for people at a terminal (which a CRM's text in a message
    must not drive: terminal-safe)."""

    def format(self, record: logging.LogRecord) -> str:
        line = f"{_time(record)} {record.levelname:<7} {record.name}: {record.getMessage()}"
        if record.exc_text:
            line += "\n" + record.exc_text
        return terminal_safe(line)


class _BareMessage(logging.Formatter):
    """The message alone, terminal-safe (the commands' warnings on stderr)."""

    def format(self, record: logging.LogRecord) -> str:
        return terminal_safe(super().format(record))


def wants_json(settings: Logging, stream: IO[str]) -> bool:
    if settings.format != "auto":
        return settings.format == "json"
    isatty = getattr(stream, "isatty", None)
    return not (isatty is not None and isatty())


_INSTALLED = "_carnet_handler"


def setup_logging(settings: Logging, stream: IO[str] | None = None) -> logging.Handler:
    """Send every log record to `stream` (default stdout), redacted and formatted per settings.
    Calling it again replaces the handler it installed before."""
    stream = stream or sys.stdout
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _INSTALLED, False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream)
    setattr(handler, _INSTALLED, True)
    handler.addFilter(RedactFilter())
    handler.setFormatter(JsonFormatter() if wants_json(settings, stream) else TextFormatter())
    root.addHandler(handler)
    root.setLevel(settings.level)
    # APScheduler tells of every job it starts (and of each firing coalesced into a run still
    # going), Alembic of every store check; Carnet logs its own line per run, with what it covered
    quiet = logging.DEBUG if settings.level == "DEBUG" else logging.WARNING
    logging.getLogger("alembic").setLevel(quiet)
    # SQLAlchemy logs statements at INFO and the rows they return at DEBUG: names and emails,
    # private relationships among them; no level of Carnet's logs shows them
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(min(quiet * 2, logging.ERROR))
    return handler


def setup_command_logging() -> None:
    """For the commands other than `carnet run`: warnings and errors on stderr as bare messages
    (as Python shows them by default), but redacted. `setup_logging` replaces it."""
    root = logging.getLogger()
    if any(getattr(h, _INSTALLED, False) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    setattr(handler, _INSTALLED, True)
    handler.setLevel(logging.WARNING)
    handler.addFilter(RedactFilter())
    handler.setFormatter(_BareMessage("%(message)s"))
    root.addHandler(handler)


def run_line(source: str, job: str, counts: dict[str, int], seconds: float) -> str:
    """The human half of the one line per run per source."""
    shown = ", ".join(f"{k} {v}" for k, v in counts.items())
    return f"{job} {source}: {shown} in {seconds:.2f}s"
