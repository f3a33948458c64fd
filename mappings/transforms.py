"""The value transforms a mapping rule names (`transform: email`), and the overlay values they feed.

A transform takes a raw CRM value (never None or empty: those stay None) and returns the overlay's
value, or raises `Bad` with a message: the value is then None and the message a note on the record.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from mappings.countries import country_code


class Bad(ValueError):
    """A value a transform cannot take; the message says why, naming the value."""


LEVELS = ("c_level", "vp", "director", "manager", "staff", "unknown")
STATUSES = ("open", "won", "lost")


@dataclass(frozen=True)
class Opts:
    """A rule's transform options, prepared once when the mapping is loaded."""

    sep: str = " "
    choices: dict[str, str] = field(default_factory=dict)  # folded CRM value -> overlay value
    min: float | None = None
    max: float | None = None
    levels: tuple[tuple[str, re.Pattern[str]], ...] = ()


def plain(text: str) -> str:
    """Text without accents (compatibility-decomposed, combining marks dropped): titles and level
    rules are both matched in this form, so "Président" and "President" are the same."""
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dict | list):
        raise Bad(f"expected one value, got {type(value).__name__} {value!r:.80}")
    return str(value).strip()


def trim(value: Any, opts: Opts) -> str | None:
    return _text(value) or None


# -- email ----------------------------------------------------------------------------------------

_LOCAL = re.compile(r"^[^\s@\"(),:;<>\[\]\\]{1,64}$")
_LABEL = re.compile(r"^(?!-)[a-z0-9-]{1,63}(?<!-)$")
_BRACKETED = re.compile(r"<([^<>]*)>\s*$")


@lru_cache(maxsize=8192)  # a company's people share its domain
def _ascii_host(host: str) -> str | None:
    """The host in its ASCII (punycode) form if every label is valid, else None."""
    try:
        ascii_host = host.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    labels = ascii_host.split(".")
    if len(ascii_host) > 253 or len(labels) < 2 or labels[-1].isdigit():
        return None
    return ascii_host if all(_LABEL.match(label) for label in labels) else None


def email(value: Any, opts: Opts) -> str | None:
    """Trimmed and lower-cased; `mailto:` and `Name <address>` unwrapped; then validated."""
    text = _text(value)
    found = _BRACKETED.search(text)
    if found:
        text = found.group(1).strip()
    if text[:7].lower() == "mailto:":
        text = text[7:].strip()
    if not text:
        return None
    address = text.lower()
    local, at, host = address.rpartition("@")
    ok = (
        at
        and _LOCAL.match(local)
        and not local.startswith(".")
        and not local.endswith(".")
        and ".." not in local
        and len(address) <= 254
        and _ascii_host(host) is not None
    )
    if not ok:
        raise Bad(f"not a valid email address: {text!r:.120}")
    return address


# -- places and names --------------------------------------------------------------------------


def country(value: Any, opts: Opts) -> str | None:
    text = _text(value)
    code = country_code(text)
    if code is None:
        raise Bad(f"unknown country {text!r:.80}")
    return code


def domain(value: Any, opts: Opts) -> str | None:
    """A website or URL as a bare domain: "https://www.Example.com/about" -> "example.com"."""
    text = _text(value).lower()
    if not text:
        return None
    try:
        host = urlsplit(text if "://" in text else "//" + text).hostname or ""
    except ValueError:
        host = ""
    host = host.rstrip(".")
    host = host[4:] if host.startswith("www.") else host
    ascii_host = _ascii_host(host) if host else None
    if ascii_host is None:
        raise Bad(f"not a web address or domain: {text!r:.120}")
    return ascii_host


def level(value: Any, opts: Opts) -> str:
    """The level of a job title: the first rule whose pattern is found in it; else "unknown"."""
    title = plain(_text(value))
    for name, pattern in opts.levels:
        if pattern.search(title):
            return name
    return "unknown"


def join(values: list[Any], opts: Opts) -> str | None:
    parts = [t for v in values if v is not None and (t := _text(v))]
    return opts.sep.join(parts) or None


def choice(value: Any, opts: Opts) -> str | None:
    text = _text(value)
    found = opts.choices.get(text.casefold())
    if found is None:
        known = ", ".join(sorted(set(opts.choices)))
        raise Bad(f"{text!r:.80} is not one of: {known}")
    return found


def currency(value: Any, opts: Opts) -> str | None:
    text = _text(value).upper()
    if not re.fullmatch(r"[A-Z]{3}", text):
        raise Bad(f"not a currency code: {text!r:.40}")
    return text


# -- numbers, flags, times ------------------------------------------------------------------------

_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_TRUE = {"true", "t", "yes", "y", "1", "on", "x"}
_FALSE = {"false", "f", "no", "n", "0", "off", ""}


def _in_range(n: float, opts: Opts) -> None:
    if (opts.min is not None and n < opts.min) or (opts.max is not None and n > opts.max):
        lo = "" if opts.min is None else f"{opts.min:g}"
        hi = "" if opts.max is None else f"{opts.max:g}"
        raise Bad(f"{n:g} is outside {lo}..{hi}")


def number(value: Any, opts: Opts) -> float:
    if isinstance(value, bool):
        raise Bad(f"expected a number, got {value!r}")
    if isinstance(value, int | float):
        n = float(value)
    else:
        text = _text(value).replace(" ", "").replace("_", "")
        if _THOUSANDS.match(text):
            text = text.replace(",", "")
        try:
            n = float(text)
        except ValueError:
            raise Bad(f"not a number: {text!r:.40}") from None
    if not math.isfinite(n):
        raise Bad(f"not a finite number: {value!r:.40}")
    _in_range(n, opts)
    return n


def integer(value: Any, opts: Opts) -> int:
    n = number(value, Opts())
    if not n.is_integer():
        raise Bad(f"not a whole number: {value!r:.40}")
    _in_range(n, opts)
    return int(n)


def boolean(value: Any, opts: Opts) -> bool:
    if isinstance(value, bool):
        return value
    text = _text(value).casefold()
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise Bad(f"not a yes/no value: {text!r:.40}")


def _epoch(n: float) -> datetime:
    # HubSpot sends epoch milliseconds; anything below 10^11 reads as seconds (before 1973 in ms)
    try:
        delta = timedelta(milliseconds=n) if abs(n) >= 1e11 else timedelta(seconds=n)
        return datetime(1970, 1, 1, tzinfo=UTC) + delta
    except OverflowError:
        raise Bad(f"not a time: {n!r}") from None


def to_datetime(value: Any, opts: Opts) -> datetime:
    """Salesforce ISO with +0000, HubSpot epoch ms or ISO, Graph ISO with Z: an aware UTC time."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(), UTC)
    if isinstance(value, bool):
        raise Bad(f"not a time: {value!r}")
    if isinstance(value, int | float):
        return _epoch(value)
    text = _text(value)
    if re.fullmatch(r"-?\d+", text):
        return _epoch(int(text))
    if re.fullmatch(r"-?\d+\.\d+", text):
        return _epoch(float(text))
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        raise Bad(f"not a date and time: {text!r:.60}") from None
    return parsed.astimezone(UTC) if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def to_date(value: Any, opts: Opts) -> date:
    if isinstance(value, date) and not isinstance(value, datetime):
        return value
    text = value if not isinstance(value, str) else value.strip()
    if isinstance(text, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise Bad(f"not a date: {text!r}") from None
    return to_datetime(value, opts).date()


def stage(values: list[Any], opts: Opts) -> str | None:
    """open / won / lost from either one status field (the HubSpot adapter's `_stage_status`) or
    two flags, closed then won (Salesforce IsClosed, IsWon)."""
    if len(values) == 1:
        if values[0] is None or _text(values[0]) == "":
            return None
        word = _text(values[0]).casefold().replace(" ", "").replace("_", "")
        found = {"open": "open", "won": "won", "lost": "lost", "closedwon": "won"}.get(word)
        found = found or {"closedlost": "lost"}.get(word)
        if found is None:
            raise Bad(f"not a stage status (open, won or lost): {values[0]!r:.40}")
        return found
    closed, won = values[0], values[1]
    if closed is None or _text(closed) == "":
        return None
    if not boolean(closed, opts):
        return "open"
    return "won" if won is not None and boolean(won, opts) else "lost"


# -- the registry ---------------------------------------------------------------------------------

TEXT_TYPES = frozenset(
    {"string", "email", "phone", "url", "textarea", "picklist", "multipicklist", "combobox"}
    | {"id", "reference", "enumeration", "encryptedstring", "phone_number"}
)
NUMBER_TYPES = frozenset({"double", "currency", "percent", "int", "long", "number"})
BOOL_TYPES = frozenset({"boolean", "bool"})
TIME_TYPES = frozenset({"datetime", "date"})


@dataclass(frozen=True)
class Transform:
    fn: Callable[..., Any]
    combines: bool = False  # takes every source field's value as one list (join, stage)
    options: frozenset[str] = frozenset()  # rule keys that only make sense with this transform
    types: frozenset[str] = TEXT_TYPES  # CRM field types it can read (checked by --online)


TRANSFORMS: dict[str, Transform] = {
    "trim": Transform(trim, types=TEXT_TYPES | NUMBER_TYPES | BOOL_TYPES | TIME_TYPES),
    "email": Transform(email),
    "country": Transform(country),
    "level": Transform(level),
    "domain": Transform(domain),
    "join": Transform(join, combines=True, options=frozenset({"sep"})),
    "choice": Transform(choice, options=frozenset({"choices"}), types=TEXT_TYPES | BOOL_TYPES),
    "currency": Transform(currency),
    "number": Transform(number, options=frozenset({"min", "max"}), types=TEXT_TYPES | NUMBER_TYPES),
    "int": Transform(integer, options=frozenset({"min", "max"}), types=TEXT_TYPES | NUMBER_TYPES),
    "bool": Transform(boolean, types=TEXT_TYPES | BOOL_TYPES | NUMBER_TYPES),
    "datetime": Transform(to_datetime, types=TEXT_TYPES | TIME_TYPES | NUMBER_TYPES),
    "date": Transform(to_date, types=TEXT_TYPES | TIME_TYPES | NUMBER_TYPES),
    "stage": Transform(stage, combines=True, types=TEXT_TYPES | BOOL_TYPES),
}
