"""`carnet serve`: the web app and the JSON API on uvicorn, until SIGTERM / Ctrl-C."""

from __future__ import annotations

from typing import Annotated

import typer

from connector.cli.app import ConfigOpt, app, make_app, out, run


@app.command()
def serve(
    config: ConfigOpt = None,
    host: Annotated[str, typer.Option("--host", help="address to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535)] = 8000,
) -> None:
    """Serve the web app and the JSON API (sign-in through the `web:` section's provider)."""
    import uvicorn  # lazy: start-up

    from connector.web.app import create_app  # lazy: start-up

    carnet = make_app(config)
    try:
        web_app = run(lambda: create_app(carnet))
        base = carnet.config.web.base_url if carnet.config.web else ""
        out.print(f"Carnet on http://{host}:{port} (people reach it at {base})", markup=False)
        uvicorn.run(web_app, host=host, port=port, proxy_headers=True, log_level="warning")
    finally:
        carnet.close()
