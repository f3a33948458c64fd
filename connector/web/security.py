"""What every answer of the web app carries or checks: security headers, the CSRF token of a
state-changing request, a `next=` that stays on this site, a limit on sign-in callbacks.
"""

from __future__ import annotations

import hmac
import threading
import time
from collections import defaultdict, deque
from urllib.parse import urlsplit

from connector.core.web_config import Web

STATE_CHANGING = frozenset({"POST", "PUT", "PATCH", "DELETE"})


def security_headers(web: Web) -> dict[str, str]:
    ancestors = " ".join(web.frame_ancestors) or "'none'"
    csp = (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; form-action 'self'; "
        f"frame-ancestors {ancestors}"
    )
    headers = {
        "Content-Security-Policy": csp,
        "Referrer-Policy": "same-origin",
        "X-Content-Type-Options": "nosniff",
        "Cross-Origin-Opener-Policy": "same-origin",
        "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    }
    if not web.frame_ancestors:
        headers["X-Frame-Options"] = "DENY"
    if web.secure_cookies:
        headers["Strict-Transport-Security"] = "max-age=31536000"
    return headers


def csrf_ok(expected: str | None, given: str | None) -> bool:
    return bool(expected and given) and hmac.compare_digest(str(expected), str(given))


def safe_next(value: str | None) -> str:
    """A path on this site, or "/": never another host (`//evil`, `/\\evil`, `https://evil`)."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return "/"
    parts = urlsplit(value)
    if parts.scheme or parts.netloc or any(c in value for c in "\r\n\t\\"):
        return "/"
    return value


class RateLimit:
    """At most `limit` events per key in any `window` seconds (one process's view)."""

    def __init__(self, limit: int, window: float = 60.0) -> None:
        self.limit, self.window = limit, window
        self._seen: dict[str, deque[float]] = defaultdict(deque)
        self._lock = threading.Lock()

    def allow(self, key: str) -> bool:
        now = time.monotonic()
        with self._lock:
            seen = self._seen[key]
            while seen and seen[0] <= now - self.window:
                seen.popleft()
            if len(seen) >= self.limit:
                return False
            seen.append(now)
            return True
