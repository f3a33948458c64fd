"""The secrets this process has read, so that no log line shows them.

The config registers each secret as it reads it (`SourceBase.secret`); the log redaction
(`connector.core.logs`) replaces every registered value. Both import this module; it imports
nothing of Carnet.
"""

from __future__ import annotations

import threading

MIN_SECRET = 6  # shorter values would redact ordinary words; no real credential is this short

_secrets: set[str] = set()
_lock = threading.Lock()


def register_secret(value: str | None) -> None:
    """Redact `value` from every log line from now on."""
    if value and len(value.strip()) >= MIN_SECRET:
        with _lock:
            _secrets.add(value.strip())


def known_secrets() -> list[str]:
    """Every registered secret, longest first (so a secret inside another is not half-redacted)."""
    with _lock:
        return sorted(_secrets, key=len, reverse=True)
