"""The ASGI application `carnet serve` runs: pages, sign-in, the API under /api/v1, /healthz and
/metrics, every answer with the security headers and counted for Prometheus.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from sqlalchemy import text
from starlette.exceptions import HTTPException

from connector.core.errors import UsageError
from connector.store.app import App
from connector.web import auth, pages, pages_admin, pages_manager, pages_plans
from connector.web.api import build_api, http_problem
from connector.web.context import HERE, WebContext
from connector.web.security import RateLimit, security_headers
from connector.web.signin import OidcSignIn
from scheduler.metrics import StoreCollector


class Metrics:
    """Requests and their latency, by method, route template and status; one registry per app."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "carnet_http_requests", "HTTP requests served", ["method", "route", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.latency = Histogram(
            "carnet_http_request_seconds", "Time to answer an HTTP request", ["method", "route"],
            registry=self.registry,
        )  # fmt: skip


def _route_of(request: Request) -> str:
    route = request.scope.get("route")
    path = getattr(route, "path", None)
    if path is None:
        return "/api/v1/*" if request.url.path.startswith("/api/v1") else "other"
    return ("/api/v1" if request.url.path.startswith("/api/v1") else "") + str(path)


async def _refused(request: Request, exc: Exception) -> Response:
    """Under /api/ even a path no route matches answers problem JSON, as the API documents."""
    if request.url.path.startswith("/api/"):
        return http_problem(request, exc)
    assert isinstance(exc, HTTPException)
    return await http_exception_handler(request, exc)


def create_app(carnet: App) -> FastAPI:
    """The app for `carnet`'s config; a UsageError when the config has no `web:` section."""
    web = carnet.config.web
    if web is None:
        raise UsageError(f"{carnet.config.path}: no 'web:' section; see docs/web.md")
    carnet.sessions  # noqa: B018  (the store must be initialised and current before serving)
    ctx = WebContext(
        carnet, web, OidcSignIn(web, web.oidc.secret()), RateLimit(web.sign_in_per_minute)
    )
    metrics = Metrics()
    # the syncs, outbox backlog and API usage, read from the store at each scrape
    metrics.registry.register(StoreCollector(carnet.engine, carnet.config.sources.enabled()))
    headers = security_headers(web)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    app.add_exception_handler(HTTPException, _refused)
    api = build_api()
    app.state.ctx = api.state.ctx = ctx

    @app.middleware("http")
    async def decorate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        resp = await call_next(request)
        route = _route_of(request)
        metrics.requests.labels(request.method, route, str(resp.status_code)).inc()
        metrics.latency.labels(request.method, route).observe(time.perf_counter() - started)
        for name, value in headers.items():
            resp.headers.setdefault(name, value)
        resp.headers.setdefault("Cache-Control", "no-store")
        return resp

    @app.get("/healthz")
    def healthz() -> Response:
        try:
            with carnet.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # any failure to reach the store is "unhealthy"
            return JSONResponse({"status": "down", "store": str(exc)[:200]}, status_code=503)
        return JSONResponse({"status": "ok"})

    @app.get("/metrics")
    def prometheus() -> Response:
        return PlainTextResponse(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(auth.router)
    app.include_router(pages.router)
    for more in (pages_plans, pages_manager, pages_admin):
        app.include_router(more.router)
    app.mount("/api/v1", api)
    return app
