"""Normalisers shared by identity resolution and look-ups: email, name, org name, domain, text."""

from __future__ import annotations

import re
import unicodedata
from typing import Any
from urllib.parse import urlsplit

_EMAIL = re.compile(
    r"^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9-]+)+$"
)
_SPACE = re.compile(r"\s+")
_TAGS = re.compile(r"<[^>]*>")
_CODE = re.compile(r"<(script|style)\b[^>]*>.*?(</\1\s*>|$)", re.IGNORECASE | re.DOTALL)


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
    """Text as a person reads it: NFC, markup removed, whitespace collapsed, cut to `limit`."""
    if value is None:
        return None
    text = str(value)
    if not text.isascii():
        text = unicodedata.normalize("NFC", text)
    if "<" in text:  # markup: scripts and styles go with their content, other tags alone
        text = _TAGS.sub("", _CODE.sub("", text))
    if "  " in text or not text.isprintable():  # runs of spaces, tabs, line breaks
        text = _SPACE.sub(" ", text)
    return text.strip()[:limit] or None


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
