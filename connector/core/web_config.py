"""The `web:` section of the config: the identity provider `carnet serve` signs people in with,
the address the app is reached at, who is an admin or a manager, and how long a session lasts.

The client secret follows the config's rule: `client_secret_env` or `client_secret_file`, never
inline; `Oidc.secret()` reads it when the app starts.
"""

from __future__ import annotations

import os
from ipaddress import ip_address
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from connector.core.errors import ConfigError, Problem
from connector.core.secrets import register_secret

CRM = "crm"  # a web.managers entry: managers from the CRM's user hierarchy


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


def _is_loopback(host: str | None) -> bool:
    if host in ("localhost", None):
        return host == "localhost"
    try:
        return ip_address(host).is_loopback
    except ValueError:
        return False


class Oidc(_Strict):
    """An OpenID Connect provider, found through `{issuer}/.well-known/openid-configuration`."""

    issuer: str
    client_id: str
    client_secret_env: str | None = None
    client_secret_file: Path | None = None
    scopes: list[str] = Field(default_factory=lambda: ["openid", "email", "profile"])
    groups_claim: str = "groups"  # the id_token claim that lists the user's groups
    ca_file: Path | None = None  # an extra CA to trust when reaching the provider

    @field_validator("issuer")
    @classmethod
    def _https(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme != "https" and not (
            parts.scheme == "http" and _is_loopback(parts.hostname)
        ):
            raise ValueError("the issuer is reached over https:// (http:// only on loopback)")
        return v.rstrip("/")

    @model_validator(mode="after")
    def _secret(self) -> Oidc:
        if bool(self.client_secret_env) == bool(self.client_secret_file):
            raise ValueError("set one of client_secret_env or client_secret_file")
        return self

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def secret(self) -> str:
        """The client secret, from its environment variable or file; a ConfigError names it."""
        if self.client_secret_env:
            value = os.environ.get(self.client_secret_env, "").strip()
            if not value:
                raise ConfigError(
                    [
                        Problem(
                            "config",
                            "web.oidc.client_secret_env",
                            f"environment variable {self.client_secret_env} is not set",
                        )
                    ]
                )
        else:
            assert self.client_secret_file is not None
            try:
                value = self.client_secret_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ConfigError(
                    [
                        Problem(
                            "config",
                            "web.oidc.client_secret_file",
                            f"cannot read {self.client_secret_file}: {exc.strerror}",
                        )
                    ]
                ) from None
        register_secret(value)
        return value


class Web(_Strict):
    """`carnet serve`: sign-in, the public address, roles and sessions."""

    oidc: Oidc
    base_url: str = "http://127.0.0.1:8000"
    # admins and managers: emails, or "group:NAME" for a group named in the id_token's groups;
    # managers may also hold "crm": whoever has an active direct report in the CRM's user
    # hierarchy (Salesforce User.ManagerId) is a manager, and their reports are their team
    admins: list[str] = Field(default_factory=list)
    managers: list[str] = Field(default_factory=list)
    session_hours: float = Field(12, gt=0, le=24 * 30)
    # hosts allowed to frame the pages (the CRMs that show a Carnet link), for frame-ancestors
    frame_ancestors: list[str] = Field(default_factory=list)
    sign_in_per_minute: int = Field(20, ge=1)  # sign-in callbacks per client address

    @field_validator("base_url")
    @classmethod
    def _base(cls, v: str) -> str:
        parts = urlsplit(v)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("expected the app's address, such as https://carnet.example.com")
        if parts.scheme == "http" and not _is_loopback(parts.hostname):
            raise ValueError("http:// only on loopback; behind a proxy give the https:// address")
        return v.rstrip("/")

    @field_validator("admins", "managers")
    @classmethod
    def _roles(cls, v: list[str], info: ValidationInfo) -> list[str]:
        managers = info.field_name == "managers"
        for item in v:
            if item == CRM and managers:
                continue
            if item.strip().lower() == CRM and not managers:
                raise ValueError(
                    f"{item!r}: the CRM's hierarchy names managers only (web.managers)"
                )
            if not (item.startswith("group:") and len(item) > 6) and "@" not in item:
                also = f" or {CRM!r} (managers from the CRM's user hierarchy)" if managers else ""
                raise ValueError(f"{item!r}: expected an email, group:NAME{also}")
        return [i if i.startswith("group:") or i == CRM else i.strip().lower() for i in v]

    @property
    def managers_from_crm(self) -> bool:
        """`web.managers` holds "crm": the CRM's user hierarchy names managers and their teams."""
        return CRM in self.managers

    @property
    def secure_cookies(self) -> bool:
        """Secure cookies, except for a plain-http loopback address (development)."""
        return urlsplit(self.base_url).scheme == "https"
