"""`carnet serve`: the web app and the JSON API on uvicorn, until SIGTERM / Ctrl-C."""

from __future__ import annotations

import os
import tempfile
from typing import Annotated, Any

import typer

from connector.cli.app import ConfigOpt, app, make_app, out, run


@app.command()
def serve(
    config: ConfigOpt = None,
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
    workers: Annotated[
        int, typer.Option("--workers", min=1, max=64, help="processes answering (one per core)")
    ] = 1,
) -> None:
    """Serve the web app and the JSON API (sign-in through the `web:` section's provider)."""
    import uvicorn  # lazy: start-up

    from connector.web.app import SERVE_CONFIG, create_app  # lazy: start-up

    carnet = make_app(config, serving=True)
    try:
        web_app = run(lambda: create_app(carnet))  # checks the config and the store first
        base = carnet.config.web.base_url if carnet.config.web else ""
        out.print(f"Carnet on http://{host}:{port} (people reach it at {base})", markup=False)
        options: dict[str, Any] = {"host": host, "port": port, "proxy_headers": True}
        if workers == 1:
            uvicorn.run(web_app, log_level="warning", **options)
            return
        with tempfile.TemporaryDirectory(prefix="carnet-metrics-") as counts:
            # the workers' counters in one folder, so /metrics adds up every worker's
            os.environ["PROMETHEUS_MULTIPROC_DIR"] = counts
            os.environ[SERVE_CONFIG] = str(carnet.config.path)
            uvicorn.run("connector.web.app:from_environment", factory=True, workers=workers,
                        log_level="warning", **options)  # fmt: skip
    finally:
        carnet.close()
