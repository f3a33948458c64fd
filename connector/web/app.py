"""The ASGI application `carnet serve` runs: pages, sign-in, the API under /api/v1, /healthz and
/metrics, every answer with the security headers and counted for Prometheus.
"""

from __future__ import annotations

import gc
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

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
    multiprocess,
)
from sqlalchemy import text
from starlette.exceptions import HTTPException

from connector.core.errors import UsageError
from connector.store.app import App
from connector.web import auth, pages, pages_admin, pages_campaigns, pages_manager, pages_plans
from connector.web.api import build_api, http_problem
from connector.web.api_campaigns import campaign_routes
from connector.web.context import HERE, WebContext
from connector.web.security import SignInLimit, security_headers
from connector.web.signin import OidcSignIn
from scheduler.metrics import StoreCollector

FORM = "application/x-www-form-urlencoded"
SERVE_CONFIG = "CARNET_SERVE_CONFIG"  # the config `carnet serve --workers N` hands its workers


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


NUL_REFUSED = "A NUL character is not allowed in a request (in its address or a form field)."


async def _nul_refused(ctx: WebContext, request: Request) -> Response | None:
    """One guard for every route: a NUL in the query string or a posted form, which PostgreSQL's
    text cannot hold, is a 400 before any route sees it (JSON bodies: the API's schema, 422)."""
    nul = "%00" in request.url.query or "\x00" in request.url.query
    if not nul and request.headers.get("content-type", "").startswith(FORM):
        body = await request.body()
        nul = b"%00" in body or b"\x00" in body
    if not nul:
        return None
    if request.url.path.startswith("/api/"):
        return JSONResponse({"error": NUL_REFUSED}, status_code=400)
    return auth.render(ctx, request, "error.html", 400, me=None, message=NUL_REFUSED)


@asynccontextmanager
async def _serving(app: FastAPI) -> AsyncIterator[None]:
    """Once a worker is ready to serve: what start-up made (modules, the app, the store's
    mappers, the templates) lives as long as the process, so it is moved out of the garbage
    collector's reach (`gc.freeze`); each full collection then walks only what requests made,
    not the whole heap (a fifth of an account plan page's time, measured)."""
    gc.freeze()
    yield


def create_app(carnet: App) -> FastAPI:
    """The app for `carnet`'s config; a UsageError when the config has no `web:` section."""
    web = carnet.config.web
    if web is None:
        raise UsageError(f"{carnet.config.path}: no 'web:' section; see docs/web.md")
    sessions = carnet.sessions  # the store must be initialised and current before serving
    secret = web.oidc.secret()
    limiter = SignInLimit(sessions, web.sign_in_per_minute, secret)  # shared through the store
    ctx = WebContext(carnet, web, OidcSignIn(web, secret), limiter)
    metrics = Metrics()
    # the syncs, outbox backlog and API usage, read from the store at each scrape
    store = StoreCollector(carnet.engine, carnet.config.sources.enabled())
    metrics.registry.register(store)
    headers = security_headers(web)
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None, lifespan=_serving)
    app.add_exception_handler(HTTPException, _refused)
    api = build_api()
    campaign_routes(api)  # invitation campaigns (api_campaigns)
    app.state.ctx = api.state.ctx = ctx

    @app.middleware("http")
    async def decorate(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        resp = await _nul_refused(ctx, request) or await call_next(request)
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
        registry = metrics.registry
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):  # several workers: every one's counts
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            registry.register(store)
        return PlainTextResponse(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")
    app.include_router(auth.router)
    app.include_router(pages.router)
    for more in (pages_plans, pages_manager, pages_admin, pages_campaigns):
        app.include_router(more.router)
    app.mount("/api/v1", api)
    return app


def from_environment() -> FastAPI:
    """Each worker's app under `carnet serve --workers N`: the config the command was given,
    passed in SERVE_CONFIG (uvicorn starts workers from an import string, not an object)."""
    return create_app(App(os.environ[SERVE_CONFIG], serving=True))
