"""Start the three CRM stand-ins on loopback from one seeded world and write the Carnet config
that points at them: `carnet sandbox serve`, the demo and the tests' `sandbox` fixture use it."""

from __future__ import annotations

import argparse
import json
import random
import re
import signal
import ssl
import string
import sys
import tempfile
import threading
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import IO, Any

import trustme
from ruamel.yaml import YAML

from sandbox.core import FAULT_KINDS, Clock, Faults, HTTPError, StandIn
from sandbox.graph import GraphStandIn
from sandbox.hubspot import HubSpotStandIn
from sandbox.salesforce import SalesforceStandIn
from sandbox.seed import generate
from sandbox.server import Served, serve
from sandbox.world import World

NAMES = ("salesforce", "hubspot", "graph")
SECRET_FILES = {
    "salesforce": "secrets/salesforce_client_secret",
    "hubspot": "secrets/hubspot_token",
    "graph": "secrets/graph_client_secret",
}
_FAULT_KEYS = {"rate", "kinds", "once", "seed", "slow_ms"}
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
    for key in ("seed", "slow_ms"):
        if key in value and (isinstance(value[key], bool) or not isinstance(value[key], int)):
            raise ValueError(f"faults {key!r} must be an integer, got {value[key]!r}")
    return dict(value)


# -- credentials and config ---------------------------------------------------------------------
@dataclass(frozen=True)
class Credentials:
    """What the config hands the adapters: random-looking, the same for the same seed."""

    salesforce_client_id: str
    salesforce_client_secret: str
    hubspot_token: str
    graph_client_id: str
    graph_client_secret: str
    tenant_id: str

    @classmethod
    def for_seed(cls, seed: int) -> Credentials:
        rng = random.Random(f"carnet-sandbox-credentials:{seed}")
        alnum = string.ascii_letters + string.digits

        def pick(chars: str, n: int) -> str:
            return "".join(rng.choice(chars) for _ in range(n))

        def guid() -> str:
            return str(uuid.UUID(int=rng.getrandbits(128), version=4))

        return cls(
            salesforce_client_id="3MVG9" + pick(alnum + "._", 80),
            salesforce_client_secret=pick("0123456789ABCDEF", 64),
            hubspot_token=f"pat-na1-{guid()}",
            graph_client_id=guid(),
            graph_client_secret=pick(alnum, 3) + "8Q~" + pick(alnum + "_.~-", 34),
            tenant_id=guid(),
        )


def config_document(urls: dict[str, str], creds: Credentials) -> dict[str, Any]:
    """A complete Carnet config for the stand-ins; paths are relative to the config's folder."""
    return {
        "version": 1,
        "database_url": "sqlite:///carnet.db",  # CARNET_DATABASE_URL, when set, overrides it
        "sharing": {"default": "discoverable", "scope": "company", "pilot_teams": []},
        "credits": {"percent": 10},
        "logging": {"level": "INFO", "format": "auto"},
        "sources": {
            "salesforce": {
                "enabled": True,
                "login_url": urls["salesforce"],
                "api_version": "59.0",
                "auth": "client_credentials",
                "client_id": creds.salesforce_client_id,
                "client_secret_file": SECRET_FILES["salesforce"],
                "ca_file": "ca.pem",
                "every": "5m",
            },
            "hubspot": {
                "enabled": True,
                "base_url": urls["hubspot"],
                "token_file": SECRET_FILES["hubspot"],
                "every": "5m",
            },
            "exchange": {
                "enabled": True,
                "authority": f"{urls['login']}/{creds.tenant_id}",
                "graph_url": urls["graph"],
                "client_id": creds.graph_client_id,
                "client_secret_file": SECRET_FILES["graph"],
                "ca_file": "ca.pem",
                "mailboxes": "all",
                "page_size": 1000,
                "every": "15m",
            },
        },
    }


def write_config(path: Path, urls: dict[str, str], creds: Credentials, header: str) -> None:
    """Write the config and its secret files beside it (secrets readable by the owner only)."""
    secrets = {
        "salesforce": creds.salesforce_client_secret,
        "hubspot": creds.hubspot_token,
        "graph": creds.graph_client_secret,
    }
    for name, value in secrets.items():
        secret = path.parent / SECRET_FILES[name]
        secret.parent.mkdir(parents=True, exist_ok=True)
        secret.touch(mode=0o600, exist_ok=True)
        secret.chmod(0o600)
        secret.write_text(value + "\n", encoding="utf-8")
    yaml = YAML()
    yaml.default_flow_style = False
    yaml.width = 4096  # keep long ids on one line
    with path.open("w", encoding="utf-8") as out:
        out.write(header)
        yaml.dump(config_document(urls, creds), out)


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


def _standins(world: World, clock: Clock, options: dict[str, dict[str, Any]]) -> list[StandIn]:
    return [
        SalesforceStandIn(world, clock, **options.get("salesforce", {})),
        HubSpotStandIn(world, clock, **options.get("hubspot", {})),
        GraphStandIn(world, clock, **options.get("graph", {})),
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
    standins = _standins(world, clock, options)
    ca = trustme.CA()
    ca_file = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    tls = _tls_context(ca)
    served: list[Served] = []
    try:
        for standin in standins:
            if spec.get("kinds") or spec.get("once"):
                standin.faults = Faults.parse(spec)
            served.append(serve(standin, tls=None if standin.name == "hubspot" else tls))
    except (HTTPError, OSError):
        for s in served:
            s.stop()
        raise
    sf, hs, gr = served
    sandbox = Sandbox(
        world, clock, sf, hs, gr, folder, ca_file, config_file, Credentials.for_seed(seed), tempdir
    )
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
