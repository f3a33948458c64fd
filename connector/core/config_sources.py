"""The settings of each CRM source, the `sources:` section of the config file: where it is, how
Carnet logs in, where its secrets are (read only when needed, by `SourceBase.secret`), and how a
setting that is wrong, or that the CRM refused, is reported (the file, line and key).
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationInfo,
    field_validator,
    model_validator,
)

from connector.core.errors import ConfigError, CredentialsRefused, Problem, UsageError
from connector.core.secrets import register_secret

DEFAULT_CONFIG = "config.yaml"
RENAMED = {"daily_budget_share": "api_budget_share"}  # old setting name -> its name now
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


Every = Annotated[str, Field(description="duration (30s, 5m, 1h) or cron expression")]


class Origin:
    """Where a source's section was read: the config file and the line of each setting ("" for
    the section itself). Not part of what the settings mean: any two origins compare equal."""

    def __init__(self, file: str, lines: dict[str, int]):
        self.file, self.lines = file, lines

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Origin)

    def __hash__(self) -> int:
        return 0


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

    _origin: Origin = PrivateAttr(default_factory=lambda: Origin(DEFAULT_CONFIG, {}))

    @property
    def section(self) -> str:
        """This source's section of the config file: 'sources.salesforce', ..."""
        return "sources." + type(self).__name__.removesuffix("Source").lower()

    def problem(self, key: str, message: str) -> Problem:
        """A problem with the setting `key` of this source, naming the file and line."""
        lines = self._origin.lines
        return Problem(
            self._origin.file, f"{self.section}.{key}", message, lines.get(key) or lines.get("")
        )

    def secret(self, name: str) -> str:
        """Read the secret `name` from its env var or file; a ConfigError names the setting."""
        env = getattr(self, f"{name}_env", None)
        file = getattr(self, f"{name}_file", None)
        if env:
            value = os.environ.get(env, "").strip()
            if not value:
                raise ConfigError(
                    [self.problem(f"{name}_env", f"environment variable {env} is not set")]
                )
            return _remembered(value)
        if file:
            try:
                value = Path(file).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    [self.problem(f"{name}_file", f"cannot read {file}: {exc.strerror}")]
                ) from None
            if not value:
                raise ConfigError([self.problem(f"{name}_file", f"{file} is empty")])
            return _remembered(value)
        raise ConfigError([self.problem(name, f"no {name}_env or {name}_file is set")])

    def has_secret(self, name: str) -> bool:
        return bool(getattr(self, f"{name}_env", None) or getattr(self, f"{name}_file", None))

    def refused(self, name: str, why: str) -> CredentialsRefused:
        """The CRM refused the credential `name` (client_secret, token, client_id, ...): a
        problem (exit 2) with the setting that holds it, in one line without the secret."""
        key = name
        if self.has_secret(name):
            key = f"{name}_env" if getattr(self, f"{name}_env", None) else f"{name}_file"
        return CredentialsRefused([self.problem(key, why)])


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
    """Salesforce. Client credentials work only on the org's My Domain (`my_domain`, or a
    `login_url` on it); JWT bearer and password logins may use login.salesforce.com (production)
    or test.salesforce.com (sandboxes), Salesforce's generic login hosts."""

    auth: Literal["client_credentials", "jwt", "password"] = "client_credentials"
    my_domain: str | None = None
    login_url: str = Field("https://login.salesforce.com", validate_default=True)
    api_version: str = "59.0"
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

    @model_validator(mode="before")
    @classmethod
    def _my_domain(cls, data: Any) -> Any:
        """`my_domain` names the login URL (its host, normalised, becomes `my_domain`)."""
        if not isinstance(data, dict) or not data.get("my_domain"):
            return data
        if data.get("login_url"):
            raise ValueError("set either my_domain or login_url, not both")
        try:
            host = my_domain_host(str(data["my_domain"]))
        except ValueError as exc:
            raise ValueError(f"my_domain: {exc}") from None
        return {**data, "my_domain": host, "login_url": f"https://{host}"}

    @field_validator("login_url")
    @classmethod
    def _login_url(cls, v: str, info: ValidationInfo) -> str:
        """Logins go over https; client credentials on a generic login host are refused here,
        before Salesforce refuses them."""
        if urlsplit(v).scheme != "https":
            raise ValueError("Salesforce is only reached over https://")
        host = (urlsplit(v).hostname or "").lower()
        if info.data.get("auth") == "client_credentials" and host in GENERIC_LOGIN_HOSTS:
            raise ValueError(
                f"client credentials need the org's My Domain: {host} refuses them (Salesforce "
                "answers invalid_grant 'request not supported on this domain'); set my_domain "
                "(e.g. my_domain: acme for https://acme.my.salesforce.com) or point login_url "
                "at the My Domain URL"
            )
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


GENERIC_LOGIN_HOSTS = frozenset({"login.salesforce.com", "test.salesforce.com"})
_HOST = re.compile(r"^[a-z0-9](?:[a-z0-9.-]*[a-z0-9])?$")


def my_domain_host(value: str) -> str:
    """The My Domain host of `my_domain`: 'acme' -> acme.my.salesforce.com, 'acme--uat.sandbox'
    -> acme--uat.sandbox.my.salesforce.com; a full host or URL on *.my.salesforce.com as is."""
    text = value.strip().rstrip("/").lower()
    host = (urlsplit(text).hostname or "") if "://" in text else text
    if not _HOST.match(host):
        raise ValueError(f"{value!r} is not a My Domain name (e.g. acme, acme.my.salesforce.com)")
    if ".salesforce." not in host and ".force." not in host:
        return host.removesuffix(".my") + ".my.salesforce.com"
    if host in GENERIC_LOGIN_HOSTS or ".my." not in host:
        raise ValueError(
            f"{host} is not a My Domain host: give the org's own, e.g. acme.my.salesforce.com"
        )
    return host


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
