"""What the HubSpot stand-in's endpoints share: reading query arguments and JSON bodies as
HubSpot does (its 400 VALIDATION_ERROR answers), and the batch answer (200 / 201, or 207 with the
per-record errors).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from .core import HTTPError, Request, Response
from .hubspot_props import hs_time


def list_arg(req: Request, name: str) -> list[str] | None:
    """A multi-valued query parameter: repeated (`a=1&a=2`) or comma-separated."""
    values = [v for raw in req.query.get(name, []) for v in raw.split(",") if v.strip()]
    return [v.strip() for v in values] or None


def bool_arg(req: Request, name: str) -> bool:
    return (req.arg(name) or "").lower() == "true"


def int_arg(req: Request, name: str, default: int, maximum: int) -> int:
    raw = req.arg(name)
    try:
        value = int(raw) if raw not in (None, "") else default
    except ValueError:
        raise HTTPError(400, "VALIDATION_ERROR", f"{name} must be an integer; got {raw}") from None
    if not 1 <= value <= maximum:
        raise HTTPError(
            400,
            "VALIDATION_ERROR",
            f"{name} must be between 1 and {maximum}; got {value}",
            extra={"context": {name: [str(value)]}},
        )
    return value


def body_object(req: Request) -> dict[str, Any]:
    body = req.json()
    if not isinstance(body, dict):
        raise HTTPError(400, "VALIDATION_ERROR", "Invalid input JSON: expected a JSON object")
    return body


def batch_response(
    results: list[dict[str, Any]],
    errors: list[dict[str, Any]],
    started: datetime,
    completed: datetime,
    ok_status: int,
) -> Response:
    """A batch answer: `ok_status` when every input worked, else 207 with the errors."""
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": hs_time(started),
        "completedAt": hs_time(completed),
    }
    if errors:
        body["numErrors"] = len(errors)
        body["errors"] = errors
        return Response(207, body)
    return Response(ok_status, body)
