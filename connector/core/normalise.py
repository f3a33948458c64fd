"""Normalisers shared by identity resolution and look-ups: email, name, org name, domain, text."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

from connector.core.text import drop_controls

_EMAIL = re.compile(
    r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)+$"
)
_SPACE = re.compile(r"\s+")


def norm_email(value: Any) -> str | None:
    """'  Ana.Ruiz@Acme.COM ' -> 'ana.ruiz@acme.com'; None when it is not an email address."""
    if not isinstance(value, str):
        return None
    email = unicodedata.normalize("NFKC", value).strip().strip("<>").strip().lower()
    if len(email) > 320 or not _EMAIL.match(email) or ".." in email:
        return None
    return email


def norm_emails(values: Any) -> tuple[list[str], list[str]]:
    """(valid normalised emails in order without repeats, the values that are not emails)."""
    items = values if isinstance(values, list | tuple) else [values]
    good: list[str] = []
    bad: list[str] = []
    for item in items:
        if item is None or (isinstance(item, str) and not item.strip()):
            continue
        email = norm_email(item)
        if email is None:
            bad.append(str(item))
        elif email not in good:
            good.append(email)
    return good, bad


def clean_text(value: Any, limit: int) -> str | None:
    """One line of text as it was given, minus what is not text: NFC; escape sequences and
    control characters dropped (a tab or a line break is whitespace); whitespace runs made one
    space; cut to `limit`. Markup is kept (`Smith <Procurement>`): each output escapes it."""
    if value is None:
        return None
    text = str(value)
    if not text.isprintable():
        text = _SPACE.sub(" ", drop_controls(text))
    elif "  " in text:
        text = _SPACE.sub(" ", text)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    return text.strip()[:limit].rstrip() or None


def clean_strings(value: Any) -> Any:
    """A record's values with every string in them (in lists and dicts too) without escape
    sequences and control characters (tab and newline kept): what ingest stores as it came, in
    JSON columns as in text ones, is text every database takes. Clean values come back as
    they are (the same object: most records have nothing to clean)."""
    if not _unclean(value):
        return value
    if isinstance(value, str):
        return drop_controls(value)
    if isinstance(value, list):
        return [clean_strings(v) for v in value]
    return {k: clean_strings(v) for k, v in value.items()}


def _unclean(value: Any) -> bool:
    """Whether a string somewhere in `value` is not printable (a quick look, in C where it can)."""
    kind = type(value)
    if kind is str:
        return not value.isprintable()
    if kind is dict:
        value = value.values()
    elif kind is not list:
        return False
    for item in value:
        if type(item) is str:
            if not item.isprintable():
                return True
        elif _unclean(item):
            return True
    return False


def name_key(name: str | None) -> str:
    """The key two spellings of one name share: compatibility-normalised, accents removed,
    case-folded, whitespace collapsed ('Núñez  ANA' == 'nunez ana')."""
    text = name or ""
    if not text.isascii():
        text = unicodedata.normalize("NFKD", text)
        text = "".join(c for c in text if not unicodedata.combining(c))
    text = text.casefold()
    if "  " in text or not text.isprintable():
        text = _SPACE.sub(" ", text)
    return text.strip()[:800]


def org_name_key(name: str | None) -> str:
    """Exact normalised org name: NFKC, case-folded, whitespace collapsed (0002 fills it alike)."""
    text = unicodedata.normalize("NFKC", name or "").casefold()
    return _SPACE.sub(" ", text).strip()[:400]


def norm_domain(value: Any) -> str | None:
    """'https://www.Acme.com/about' -> 'acme.com'; an email's domain is taken too."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().lower()
    if "@" in text and "/" not in text:
        text = text.rsplit("@", 1)[1]
    host = urlsplit(text if "//" in text else "//" + text).hostname or ""
    host = host.removeprefix("www.").rstrip(".")
    if "." not in host or len(host) > 253 or not re.fullmatch(r"[a-z0-9.-]+", host):
        return None
    return host


def norm_domains(values: Any) -> list[str]:
    items = values if isinstance(values, list | tuple) else [values]
    out: list[str] = []
    for item in items:
        domain = norm_domain(item)
        if domain and domain not in out:
            out.append(domain)
    return out
