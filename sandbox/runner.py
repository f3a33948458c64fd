"""Start the three CRM stand-ins on loopback from one seeded world and write the Carnet config
that points at them: `carnet sandbox serve`, the demo and the tests' `sandbox` fixture use it."""

from __future__ import annotations

import argparse
import json
import re
import signal
import ssl
import sys
import tempfile
import threading
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any

import trustme

from sandbox.core import FAULT_KINDS, Clock, Faults, HTTPError, StandIn
from sandbox.graph import GraphStandIn
from sandbox.hubspot import HubSpotStandIn
from sandbox.runner_config import SECRET_FILES as SECRET_FILES
from sandbox.runner_config import Credentials, accepted, write_config
from sandbox.salesforce import SalesforceStandIn
from sandbox.seed import generate
from sandbox.server import Served, serve
from sandbox.world import World

NAMES = ("salesforce", "hubspot", "graph")
_FAULT_KEYS = {"rate", "kinds", "once", "seed", "slow_ms", "after"}
_SHORT_FAULTS = re.compile(r"^(?P<kinds>[^@#]*)@(?P<rate>[^@#]*)(?:#(?P<seed>[^@#]*))?$")
_SHORT_HELP = "KIND[,KIND...]@RATE[#SEED], e.g. 429,500@0.2"


# -- faults spec ----------------------------------------------------------------------------------
def parse_faults(spec: str) -> dict[str, Any]:
    """`--faults SPEC`: the JSON of POST /__sandbox/faults, or the short form `429,500@0.2[#7]`."""
    text = spec.strip()
    if not text:
        raise ValueError(f"the faults spec is empty: give JSON or {_SHORT_HELP}")
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"the faults spec is not valid JSON: {exc}") from None
        return check_faults(value)
    m = _SHORT_FAULTS.match(text)
    if not m:
        raise ValueError(f"faults spec {text!r} is neither a JSON object nor {_SHORT_HELP}")
    out: dict[str, Any] = {
        "rate": _number(m["rate"], "rate", float),
        "kinds": [k.strip() for k in m["kinds"].split(",")],
    }
    if m["seed"] is not None:
        out["seed"] = _number(m["seed"], "seed", int)
    return check_faults(out)


def _number(text: str, what: str, kind: type[float] | type[int]) -> Any:
    try:
        return kind(text.strip())
    except ValueError:
        raise ValueError(f"fault {what} {text.strip()!r} is not a number ({_SHORT_HELP})") from None


def check_faults(value: Any) -> dict[str, Any]:
    """Validate a faults object, raising ValueError with one clear message."""
    if not isinstance(value, dict):
        raise ValueError('the faults spec must be a JSON object such as {"rate": 0.2, ...}')
    unknown = sorted(set(value) - _FAULT_KEYS)
    if unknown:
        raise ValueError(f"unknown faults settings {unknown}; known: {sorted(_FAULT_KEYS)}")
    for key in ("kinds", "once"):
        kinds = value.get(key, [])
        if not isinstance(kinds, list) or not all(isinstance(k, str) for k in kinds):
            raise ValueError(f"faults {key!r} must be a list of fault kinds")
        bad = [k for k in kinds if k not in FAULT_KINDS]
        if bad:
            raise ValueError(f"unknown fault kinds {bad}; known: {', '.join(FAULT_KINDS)}")
    rate = value.get("rate", 0.0)
    if isinstance(rate, bool) or not isinstance(rate, int | float) or not 0 <= rate <= 1:
        raise ValueError(f"fault rate must be a number from 0 to 1, got {rate!r}")
    if rate > 0 and not value.get("kinds"):
        raise ValueError(f"fault rate {rate} needs at least one kind ({_SHORT_HELP})")
    for key in ("seed", "slow_ms", "after"):
        if key in value and (isinstance(value[key], bool) or not isinstance(value[key], int)):
            raise ValueError(f"faults {key!r} must be an integer, got {value[key]!r}")
    return dict(value)


# -- the running sandbox --------------------------------------------------------------------------
@dataclass
class Sandbox:
    """The three stand-ins being served, the world they show, and where their config is."""

    world: World
    clock: Clock
    salesforce: Served
    hubspot: Served
    graph: Served
    workdir: Path
    ca_file: Path
    config_file: Path
    credentials: Credentials
    _tempdir: tempfile.TemporaryDirectory[str] | None = field(default=None, repr=False)
    _stopped: bool = field(default=False, repr=False)
    # Salesforce's generic login host (login.salesforce.com) as a second listener of the
    # Salesforce stand-in; `salesforce` is the org's My Domain, where client credentials work
    salesforce_login: Served | None = None

    @property
    def urls(self) -> dict[str, str]:
        """The JSON line of `carnet sandbox serve` (login is the Entra half of the Graph server)."""
        return {
            "salesforce": self.salesforce.url,
            "hubspot": self.hubspot.url,
            "graph": self.graph.url,
            "login": self.graph.url,
            "ca_file": str(self.ca_file),
            "config": str(self.config_file),
        }

    @property
    def standins(self) -> dict[str, StandIn]:
        return {name: self.served[name].standin for name in NAMES}

    @property
    def served(self) -> dict[str, Served]:
        return {"salesforce": self.salesforce, "hubspot": self.hubspot, "graph": self.graph}

    def stop(self) -> None:
        """Stop the servers (once); remove the work folder if `start` made it."""
        if self._stopped:
            return
        self._stopped = True
        for served in self.served.values():
            served.stop()
        if self.salesforce_login is not None:
            self.salesforce_login.stop()
        if self._tempdir is not None:
            self._tempdir.cleanup()

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _tls_context(ca: trustme.CA) -> ssl.SSLContext:
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    return ctx


def _standins(
    world: World, clock: Clock, options: dict[str, dict[str, Any]], creds: Credentials
) -> list[StandIn]:
    """The three stand-ins, each accepting the credentials the generated config names (and
    refusing any other, as the services do) unless `options` say otherwise."""
    given = {name: {**accepted(creds)[name], **options.get(name, {})} for name in NAMES}
    return [
        SalesforceStandIn(world, clock, **given["salesforce"]),
        HubSpotStandIn(world, clock, **given["hubspot"]),
        GraphStandIn(world, clock, **given["graph"]),
    ]


def start(
    seed: int = 1,
    scale: float = 0.01,
    faults: str | dict[str, Any] | None = None,
    workdir: str | Path | None = None,
    options: dict[str, dict[str, Any]] | None = None,
    config_out: str | Path | None = None,
) -> Sandbox:
    """Generate the world once and serve the three stand-ins on ephemeral loopback ports.

    Salesforce and Graph (with its Entra login) answer over TLS with a throw-away trustme CA,
    written as `ca.pem`; HubSpot over plain HTTP, as the client's `host=` allows.

    `faults` is the initial faults spec (JSON object or `parse_faults` text; its seed defaults to
    `seed`); `options` gives each stand-in's constructor options by name ("salesforce", ...).
    The config goes to `config_out`, else `workdir/config.yaml`, else a temporary folder removed by
    `stop()`; the CA, secrets (`secrets/`) and SQLite store go beside it, named relative to it.
    """
    spec = parse_faults(faults) if isinstance(faults, str) else check_faults(faults or {})
    spec.setdefault("seed", seed)
    unknown = sorted(set(options or {}) - set(NAMES))
    if unknown:
        raise ValueError(f"unknown stand-in options {unknown}; known: {list(NAMES)}")
    tempdir = None
    if config_out is not None:
        config_file = Path(config_out).resolve()
    else:
        if workdir is None:
            tempdir = tempfile.TemporaryDirectory(prefix="carnet-sandbox-")
            workdir = tempdir.name
        config_file = Path(workdir).resolve() / "config.yaml"
    folder = config_file.parent
    folder.mkdir(parents=True, exist_ok=True)
    try:
        return _start_in(seed, scale, spec, folder, config_file, options or {}, tempdir)
    except BaseException:
        if tempdir is not None:
            tempdir.cleanup()
        raise


def _start_in(
    seed: int,
    scale: float,
    spec: dict[str, Any],
    folder: Path,
    config_file: Path,
    options: dict[str, dict[str, Any]],
    tempdir: tempfile.TemporaryDirectory[str] | None,
) -> Sandbox:
    world, clock = generate(seed, scale), Clock()
    creds = Credentials.for_seed(seed)
    standins = _standins(world, clock, options, creds)
    ca = trustme.CA()
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    tls = _tls_context(ca)
    served: list[Served] = []
    try:
        for standin in standins:
            if spec.get("kinds") or spec.get("once"):
                standin.faults = Faults.parse(spec)
            if isinstance(standin, SalesforceStandIn):  # the generic login host, then My Domain
                served.append(serve(standin, tls=tls))
                standin.add_login_host(served[-1].url)
            served.append(serve(standin, tls=None if standin.name == "hubspot" else tls))
    except (HTTPError, OSError):
        for s in served:
            s.stop()
        raise
    login, sf, hs, gr = served
    sandbox = Sandbox(world, clock, sf, hs, gr, folder, ca_file, config_file, creds, tempdir)
    sandbox.salesforce_login = login
    header = (
        f"# Written by the Carnet sandbox (seed {seed}, scale {scale}); serves until stopped.\n"
    )
    try:
        write_config(config_file, sandbox.urls, sandbox.credentials, header)
    except OSError:
        sandbox.stop()
        raise
    return sandbox


# -- serving until a signal -----------------------------------------------------------------------
def serve_forever(
    seed: int = 1,
    scale: float = 0.01,
    faults: str | dict[str, Any] | None = None,
    config_out: str | Path | None = None,
    out: IO[str] | None = None,
) -> int:
    """Start, print the JSON line of URLs (flushed), serve until SIGTERM or SIGINT, stop; 0."""
    stop = threading.Event()

    def on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous = {sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        with start(seed, scale, faults, config_out=config_out) as sandbox:
            stream = out or sys.stdout
            stream.write(json.dumps(sandbox.urls) + "\n")
            stream.flush()
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0


def main(argv: list[str] | None = None) -> int:
    """`python -m sandbox.runner`: the same as `carnet sandbox serve`."""
    parser = argparse.ArgumentParser(prog="python -m sandbox.runner")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--scale", type=float, default=0.01)
    parser.add_argument("--faults", default=None, help=f"JSON or {_SHORT_HELP}")
    parser.add_argument("--config-out", default=None)
    args = parser.parse_args(argv)
    try:
        return serve_forever(args.seed, args.scale, args.faults, args.config_out)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
