"""HubSpot's rate limits for the stand-in: a rolling 10-second window per token, a daily allowance
per portal, a per-second limit on search, the X-HubSpot-RateLimit-* headers and the 429 bodies.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections import deque
from datetime import date
from typing import Any

from .core import Clock, Response

WINDOW_S = 10.0


def rate_limit_body(policy: str, portal_id: int, app_id: int) -> dict[str, Any]:
    """The 429 body HubSpot sends for TEN_SECONDLY_ROLLING, DAILY or SECONDLY (search)."""
    message = {
        "TEN_SECONDLY_ROLLING": "You have reached your ten_secondly_rolling limit.",
        "DAILY": "You have reached your daily limit.",
        "SECONDLY": "You have reached your secondly limit.",
    }[policy]
    body: dict[str, Any] = {
        "status": "error",
        "message": message,
        "errorType": "RATE_LIMIT",
        "correlationId": str(uuid.uuid4()),
        "policyName": policy,
    }
    if policy == "TEN_SECONDLY_ROLLING":
        body["groupName"] = f"publicapi:private_app-api-calls-ten-secondly:{app_id}:{portal_id}"
    elif policy == "DAILY":
        body["requestId"] = str(uuid.uuid4())
    return body


class RateLimiter:
    """Counts admitted calls; `admit` answers the 429 a call over a limit gets (None if within)."""

    def __init__(
        self,
        clock: Clock,
        per_10s: int,
        daily_limit: int,
        search_per_second: int,
        portal_id: int,
        app_id: int,
    ):
        self.clock, self.per_10s, self.daily_limit = clock, per_10s, daily_limit
        self.search_per_second, self.portal_id, self.app_id = search_per_second, portal_id, app_id
        self.windows: dict[str, deque[float]] = {}
        self.searches: dict[str, deque[float]] = {}
        self.day: date = clock.now().date()
        self.daily_used = 0
        self.lock = threading.Lock()

    def admit(self, token: str, search: bool) -> Response | None:
        now = time.monotonic()
        with self.lock:
            self._roll_day()
            window = self._window(self.windows, token, now, WINDOW_S)
            if self.daily_used >= self.daily_limit:
                return self._refuse("DAILY")
            if len(window) >= self.per_10s:
                return self._refuse("TEN_SECONDLY_ROLLING")
            if search:
                per_second = self._window(self.searches, token, now, 1.0)
                if len(per_second) >= self.search_per_second:
                    return self._refuse("SECONDLY")
                per_second.append(now)
            window.append(now)
            self.daily_used += 1
            return None

    def headers(self, token: str, daily: bool = True) -> dict[str, str]:
        """The X-HubSpot-RateLimit-* headers of an answer; HubSpot sends the two daily ones only
        for private-app tokens (`daily=False` for a call made with an OAuth access token)."""
        with self.lock:
            self._roll_day()
            window = self._window(self.windows, token, time.monotonic(), WINDOW_S)
            out = {
                "X-HubSpot-RateLimit-Max": str(self.per_10s),
                "X-HubSpot-RateLimit-Remaining": str(max(0, self.per_10s - len(window))),
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(int(WINDOW_S * 1000)),
            }
            if daily:
                out["X-HubSpot-RateLimit-Daily"] = str(self.daily_limit)
                left = max(0, self.daily_limit - self.daily_used)
                out["X-HubSpot-RateLimit-Daily-Remaining"] = str(left)
            return out

    def reset(self) -> None:
        with self.lock:
            self.windows.clear()
            self.searches.clear()
            self.daily_used = 0

    def _refuse(self, policy: str) -> Response:
        return Response(429, rate_limit_body(policy, self.portal_id, self.app_id))

    def _roll_day(self) -> None:
        today = self.clock.now().date()
        if today != self.day:
            self.day, self.daily_used = today, 0

    @staticmethod
    def _window(
        windows: dict[str, deque[float]], token: str, now: float, span: float
    ) -> deque[float]:
        window = windows.setdefault(token, deque())
        while window and window[0] <= now - span:
            window.popleft()
        return window
