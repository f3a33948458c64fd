"""The config file: pydantic models of every setting, validated once, every problem reported.

Secrets never live in the file: a setting `<name>_env: VAR` or `<name>_file: path` names where the
secret is, and `Source.secret(name)` reads it when it is needed. An inline secret is an error.
"""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from connector.core.errors import ConfigError, Problem, UsageError
from connector.core.secrets import register_secret
from connector.core.yamlfile import (
    dotted,
    line_of,
    load_yaml,
    problems_from_validation,
    to_plain,
)

DEFAULT_CONFIG = "config.yaml"
RENAMED = {"daily_budget_share": "api_budget_share"}  # old setting name -> its name now
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
_DURATION = re.compile(r"^\s*(\d+)\s*([smhd])\s*$")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_every(value: str) -> tuple[str, int | str]:
    """'5m' -> ('interval', 300); '*/5 * * * *' -> ('cron', '*/5 * * * *')."""
    m = _DURATION.match(value)
    if m:
        seconds = int(m.group(1)) * _UNITS[m.group(2)]
        if seconds <= 0:
            raise ValueError("the interval must be positive")
        return "interval", seconds
    if len(value.split()) == 5:
        from apscheduler.triggers.cron import CronTrigger

        try:
            CronTrigger.from_crontab(value)
        except ValueError as exc:
            raise ValueError(f"not a valid cron expression: {exc}") from None
        return "cron", value
    raise ValueError("expected a duration such as 30s, 5m, 1h, or a 5-field cron expression")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


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


Every = Annotated[str, Field(description="duration (30s, 5m, 1h) or cron expression")]


class SourceBase(Strict):
    enabled: bool = True
    mapping: Path | None = None
    every: Every = "5m"
    ca_file: Path | None = None

    @field_validator("every")
    @classmethod
    def _every(cls, v: str) -> str:
        parse_every(v)
        return v

    def secret(self, name: str) -> str:
        """Read the secret `name` from its env var or file; a ConfigError names the key."""
        env = getattr(self, f"{name}_env", None)
        file = getattr(self, f"{name}_file", None)
        if env:
            value = os.environ.get(env)
            if not value:
                raise ConfigError(
                    [Problem("config", f"{name}_env", f"environment variable {env} is not set")]
                )
            return _remembered(value.strip())
        if file:
            try:
                return _remembered(Path(file).read_text(encoding="utf-8").strip())
            except OSError as exc:
                raise ConfigError(
                    [Problem("config", f"{name}_file", f"cannot read {file}: {exc.strerror}")]
                ) from None
        raise ConfigError([Problem("config", name, f"no {name}_env or {name}_file is set")])

    def has_secret(self, name: str) -> bool:
        return bool(getattr(self, f"{name}_env", None) or getattr(self, f"{name}_file", None))


def _remembered(secret: str) -> str:
    """A secret just read, registered so that no log line shows it."""
    register_secret(secret)
    return secret


def _one_of(model: BaseModel, name: str, required: bool) -> None:
    env, file = getattr(model, f"{name}_env"), getattr(model, f"{name}_file")
    if env and file:
        raise ValueError(f"set either {name}_env or {name}_file, not both")
    if required and not (env or file):
        raise ValueError(f"{name}_env or {name}_file is required")


class MeteredSource(SourceBase):
    """A CRM with a daily API allowance: calls stop at `api_budget_share` of it (old name read)."""

    api_budget_share: float = Field(0.8, gt=0, le=1)

    @model_validator(mode="before")
    @classmethod
    def _old_names(cls, data: Any) -> Any:
        if isinstance(data, dict) and RENAMED.keys() & data.keys():
            data = dict(data)
            for old, new in RENAMED.items():
                if old in data and new in data:
                    raise ValueError(f"{old} is the old name of {new}: set {new} only")
                if old in data:
                    data[new] = data.pop(old)
        return data


class SalesforceSource(MeteredSource):
    login_url: str = "https://login.salesforce.com"
    api_version: str = "59.0"
    auth: Literal["client_credentials", "jwt", "password"] = "client_credentials"
    client_id: str
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    username: str | None = None
    password_env: str | None = None
    password_file: Path | None = None
    security_token_env: str | None = None
    security_token_file: Path | None = None
    private_key_file: Path | None = None
    bulk_threshold: int = Field(50_000, ge=0)
    overlap_seconds: int = Field(300, ge=0)

    @field_validator("login_url")
    @classmethod
    def _https(cls, v: str) -> str:
        if urlsplit(v).scheme != "https":
            raise ValueError("Salesforce is only reached over https://")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _auth_needs(self) -> SalesforceSource:
        if self.auth in ("client_credentials", "password"):
            _one_of(self, "client_secret", required=True)
        if self.auth in ("jwt", "password") and not self.username:
            raise ValueError(f"auth {self.auth} needs 'username'")
        if self.auth == "jwt" and not self.private_key_file:
            raise ValueError("auth jwt needs 'private_key_file'")
        if self.auth == "password":
            _one_of(self, "password", required=True)
        return self


class HubSpotSource(MeteredSource):
    base_url: str = "https://api.hubapi.com"
    token_env: str | None = None
    token_file: Path | None = None
    requests_per_10s: int = Field(100, gt=0)
    overlap_seconds: int = Field(300, ge=0)

    @model_validator(mode="after")
    def _token(self) -> HubSpotSource:
        _one_of(self, "token", required=True)
        return self


class ExchangeSource(SourceBase):
    authority: str
    graph_url: str = "https://graph.microsoft.com"
    client_id: str
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    certificate_file: Path | None = None
    certificate_thumbprint: str | None = None
    mailboxes: Literal["all"] | list[str] = "all"
    page_size: int = Field(1000, ge=1, le=1000)
    every: Every = "15m"

    @model_validator(mode="after")
    def _credential(self) -> ExchangeSource:
        has_secret = bool(self.client_secret_env or self.client_secret_file)
        if has_secret == bool(self.certificate_file):
            raise ValueError(
                "give either a client secret (client_secret_env or client_secret_file) "
                "or certificate_file"
            )
        if self.certificate_file and not self.certificate_thumbprint:
            raise ValueError("certificate_file needs certificate_thumbprint")
        return self


class Sources(Strict):
    salesforce: SalesforceSource | None = None
    hubspot: HubSpotSource | None = None
    exchange: ExchangeSource | None = None

    def enabled(self) -> dict[str, SourceBase]:
        out: dict[str, SourceBase] = {}
        for name in ("salesforce", "hubspot", "exchange"):
            src = getattr(self, name)
            if src is not None and src.enabled:
                out[name] = src
        return out

    def chosen(self, source: str | None) -> dict[str, SourceBase]:
        """The enabled sources, or `source` alone; UsageError (exit 2) when it is not enabled."""
        enabled = self.enabled()
        if source is not None and source not in enabled:
            known = ", ".join(enabled) or "none"
            raise UsageError(f"--source {source}: not an enabled source (enabled: {known})")
        return {source: enabled[source]} if source is not None else enabled


Share = Literal["private", "discoverable", "shared"]


class Sharing(Strict):
    default: Share = "discoverable"
    scope: Literal["team", "company"] = "team"
    pilot_teams: list[str] = Field(default_factory=list)


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


class Logging(Strict):
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    format: Literal["auto", "json", "text"] = "auto"


class Scheduler(Strict):
    full_sync_cron: str = "0 2 * * *"
    lease_seconds: int = Field(600, ge=10)

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
    return config.model_copy(update={"database_url": url})
