"""The config file: pydantic models of every setting, validated once, every problem reported.

Secrets never live in the file: a setting `<name>_env: VAR` or `<name>_file: path` names where the
secret is, and `Source.secret(name)` reads it when it is needed. An inline secret is an error.
The CRM sources' settings are in config_sources.py (imported from here as before).
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, ValidationError, field_validator

from connector.core.config_sources import DEFAULT_CONFIG, RENAMED, Origin, SourceBase, Strict
from connector.core.config_sources import ExchangeSource as ExchangeSource
from connector.core.config_sources import HubSpotSource as HubSpotSource
from connector.core.config_sources import SalesforceSource as SalesforceSource
from connector.core.config_sources import Sources as Sources
from connector.core.config_sources import parse_every as parse_every
from connector.core.errors import ConfigError, Problem
from connector.core.web_config import Web
from connector.core.yamlfile import (
    dotted,
    line_of,
    load_yaml,
    problems_from_validation,
    to_plain,
)

log = logging.getLogger("carnet.config")
SECRET_NAMES = (
    "client_secret",
    "token",
    "access_token",
    "password",
    "security_token",
    "private_key",
    "api_key",
    "secret",
    "certificate_password",
)


def _pop_inline_secrets(data: Any, doc: Any, file: str, loc: tuple[str, ...] = ()) -> list[Problem]:
    """Remove every inline secret from `data` (so its value goes no further) and name each one."""
    problems: list[Problem] = []
    if not isinstance(data, dict):
        return problems
    for key in list(data):
        if key in SECRET_NAMES:
            del data[key]
            problems.append(
                Problem(
                    file,
                    dotted((*loc, key)),
                    f"inline secrets are not allowed: name an environment variable with "
                    f"'{key}_env' or a file with '{key}_file'",
                    line_of(doc, (*loc, key)),
                )
            )
        else:
            problems += _pop_inline_secrets(data[key], doc, file, (*loc, key))
    return problems


Share = Literal["private", "discoverable", "shared"]


class Sharing(Strict):
    default: Share = "discoverable"
    scope: Literal["team", "company"] = "team"
    pilot_teams: list[str] = Field(default_factory=list)
    # a relationship a sync discovers is shown to nobody else, and written to no CRM, until its
    # holder has had this many days to choose (0: at once); see docs/governance.md
    grace_days: int = Field(7, ge=0)


class Scoring(Strict):
    """Weights of the computed score; see docs/scoring.md for the formula."""

    address_book: float = Field(1.5, ge=0)
    contact_owner: float = Field(1.5, ge=0)
    activity: float = Field(0.4, ge=0)
    activity_cap: float = Field(2.0, ge=0)
    deal_role: float = Field(1.0, ge=0)
    half_life_days: float = Field(90, gt=0)


class Credits(Strict):
    percent: float = Field(10.0, ge=0, le=100)
    # the nominator of an accepted campaign guest; None: the same as `percent` (derive_credits)
    campaign_percent: float | None = Field(None, ge=0, le=100)


class Logging(Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "text"] = "auto"


class Scheduler(Strict):
    full_sync_cron: str = "0 2 * * *"
    lease_seconds: int = Field(600, ge=10)
    # `carnet run` serves Prometheus metrics on this port (none: off), on metrics_host
    metrics_port: int | None = Field(None, ge=1, le=65535)
    metrics_host: str = "127.0.0.1"

    @field_validator("full_sync_cron")
    @classmethod
    def _cron(cls, v: str) -> str:
        if parse_every(v)[0] != "cron":
            raise ValueError("expected a 5-field cron expression")
        return v


class Config(Strict):
    version: Literal[1] = 1
    database_url: str = "sqlite:///carnet.db"
    database_url_file: Path | None = None
    sharing: Sharing = Field(default_factory=Sharing)
    scoring: Scoring = Field(default_factory=Scoring)
    credits: Credits = Field(default_factory=Credits)
    logging: Logging = Field(default_factory=Logging)
    scheduler: Scheduler = Field(default_factory=Scheduler)
    web: Web | None = None  # `carnet serve`; see docs/web.md
    sources: Sources = Field(default_factory=Sources)
    # where the file was read from; set by load_config, not by the file
    path: Path = Field(default=Path(DEFAULT_CONFIG), exclude=True)

    @field_validator("database_url")
    @classmethod
    def _no_password(cls, v: str) -> str:
        if urlsplit(v).password:
            raise ValueError(
                "the URL holds a password, which is an inline secret: use database_url_file or the "
                "CARNET_DATABASE_URL environment variable"
            )
        return v


_PATH_KEYS = ("mapping", "ca_file", "private_key_file", "certificate_file")


def _resolve_paths(data: Any, base: Path) -> None:
    """Make the file settings relative to the config file's folder, in place."""
    if not isinstance(data, dict):
        return
    for key, value in list(data.items()):
        if isinstance(value, str) and (key in _PATH_KEYS or key.endswith("_file")):
            p = Path(value).expanduser()
            data[key] = str(p if p.is_absolute() else base / p)
        elif isinstance(value, dict):
            _resolve_paths(value, base)


def _sqlite_relative(url: str, base: Path) -> str:
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != prefix + ":memory:":
        return prefix + str(base / url[len(prefix) :])
    return url


def _warn_renamed(data: dict[str, Any], doc: Any, file: str) -> None:
    """A warning naming the file and line of each setting still under its old name."""
    sources = data.get("sources")
    for src, settings in (sources if isinstance(sources, dict) else {}).items():
        for old in RENAMED.keys() & (settings if isinstance(settings, dict) else {}).keys():
            loc = ("sources", src, old)
            why = f"deprecated: {old} is now called {RENAMED[old]} (same meaning); rename it"
            log.warning("%s", Problem(file, dotted(loc), why, line_of(doc, loc)))


def load_config(path: str | Path | None = None) -> Config:
    """Read and validate the config; every problem is reported in one ConfigError."""
    path = Path(path or os.environ.get("CARNET_CONFIG") or DEFAULT_CONFIG)
    name = str(path)
    doc, problems = load_yaml(path)
    if problems:
        raise ConfigError(problems)
    if not isinstance(doc, dict):
        raise ConfigError([Problem(name, "", "expected a mapping of settings at the top level", 1)])
    data = to_plain(doc)
    _warn_renamed(data, doc, name)
    problems = _pop_inline_secrets(data, doc, name)
    base = path.resolve().parent
    _resolve_paths(data, base)
    try:
        config = Config.model_validate({**data, "path": path})
    except ValidationError as err:
        problems += problems_from_validation(name, doc, err)
    if problems:
        raise ConfigError(sorted(problems, key=lambda p: (p.line or 0, p.key)))
    url = os.environ.get("CARNET_DATABASE_URL")
    if not url and config.database_url_file:
        try:
            url = config.database_url_file.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                [Problem(name, "database_url_file", f"cannot read: {exc.strerror}")]
            ) from None
    url = _sqlite_relative(url or config.database_url, base)
    missing = [
        Problem(
            name,
            f"sources.{src_name}.{key}",
            f"file not found: {value}",
            line_of(doc, ("sources", src_name, key)),
        )
        for src_name, src in config.sources.enabled().items()
        for key, value in src.model_dump().items()
        if isinstance(value, Path)
        and (key.endswith("_file") or key in _PATH_KEYS)
        and not value.exists()
    ]
    if missing:
        raise ConfigError(missing)
    _remember_origins(config, doc, name)
    return config.model_copy(update={"database_url": url})


def _remember_origins(config: Config, doc: Any, file: str) -> None:
    """Tell each source where its settings are, for the problems it reports later (a secret
    that cannot be read, or that the CRM refuses)."""
    for src_name in ("salesforce", "hubspot", "exchange"):
        src: SourceBase | None = getattr(config.sources, src_name)
        if src is None:
            continue
        loc = ("sources", src_name)
        lines = {"": line_of(doc, loc) or 0}
        for key in src.model_fields_set:
            lines[key] = line_of(doc, (*loc, key)) or 0
        src._origin = Origin(file, lines)
