"""The hand-made world and fixtures the Salesforce stand-in's contract tests share: a TLS CA per
module, and `start(...)`, which serves a stand-in and returns an `Env` with a simple-salesforce
client on a session of its own.
"""

from __future__ import annotations

import datetime as dt
import ssl
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, cast

import pytest
import requests
import trustme
from simple_salesforce import Salesforce
from simple_salesforce.api import SFType
from simple_salesforce.bulk2 import SFBulk2Type

from sandbox.core import Clock
from sandbox.salesforce import SalesforceStandIn
from sandbox.server import Served, serve
from sandbox.world import Account, Activity, Contact, ContactRole, Member, Merge, Opportunity, World

V = "59.0"
DATA = f"/services/data/v{V}"
UTC = dt.UTC


# -- a small hand-made world -----------------------------------------------------------------------
def make_world(n_contacts: int = 6, merge: bool = True) -> World:
    w = World(seed=3, scale=0.0)
    w.members += [
        Member("m1", "Ann", "Lee", "ann@northwind.test", "EMEA Enterprise", "DE", "AE"),
        Member("m2", "Raj", "Iyer", "raj@northwind.test", "NA Enterprise", "US", "AE"),
    ]
    w.accounts += [
        Account("a1", "Acme", "acme.test", "DE", "Technology", "m1", age_days=5),
        Account("a2", "Beta", "beta.test", "US", "Banking", "m2", parent_key="a1", age_days=40),
    ]
    for i in range(n_contacts):
        w.contacts.append(
            Contact(
                key=f"c{i}",
                first_name="Bob" if i % 2 else "Eve",
                last_name=f"Smith{i:05d}",
                email=f"person{i}@acme.test" if i != 3 else None,
                title="CTO" if i % 2 else "Buyer",
                level="c_level" if i % 2 else "staff",
                country="DE" if i % 2 else "US",
                account_key="a1" if i % 2 else "a2",
                owner_key="m1" if i % 3 else "m2",
                reports_to_key="c0" if i else None,
                age_days=(i % 20) + 0.5,
            )
        )
    roles = [ContactRole("c1", "Decision Maker", True), ContactRole("c5", "Influencer")]
    w.opportunities.append(
        Opportunity(
            "o1", "Acme renewal", "a1", "m1", 12000.0, "EUR", "Closed Won", True, True, -3.0, roles
        )
    )
    w.activities += [
        Activity("t1", "call", "Intro call", "m1", "c1", 2.0),
        Activity("t2", "email", "Follow-up", "m2", "c5", 1.0),
        Activity("e1", "meeting", "Workshop", "m1", "c5", 3.0),
    ]
    if merge and n_contacts > 5:
        w.merges.append(Merge("salesforce", "Contact", "c1", "c5"))
    return w


@dataclass
class Env:
    standin: SalesforceStandIn
    url: str
    http: requests.Session
    sf: Salesforce
    token: str

    def admin(self, method: str, path: str, body: Any = None) -> requests.Response:
        return self.http.request(method, self.url + "/__sandbox" + path, json=body, timeout=10)

    def raw(self, method: str, path: str, **kw: Any) -> requests.Response:
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        return self.http.request(method, self.url + path, headers=headers, timeout=10, **kw)

    def obj(self, name: str) -> SFType:
        return cast(SFType, getattr(self.sf, name))

    def bulk2(self, name: str) -> SFBulk2Type:
        return cast(SFBulk2Type, getattr(self.sf.bulk2, name))

    def rest(self, path: str, method: str = "GET", **kw: Any) -> Any:
        return self.sf.restful(path, method=method, **kw)

    def ids(self, soql: str, deleted: bool = False) -> list[str]:
        return [r["Id"] for r in self.sf.query_all_iter(soql, include_deleted=deleted)]


def tls_fixture(tmp_path_factory: pytest.TempPathFactory) -> tuple[ssl.SSLContext, str]:
    ca = trustme.CA()
    ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("127.0.0.1", "localhost").configure_cert(ctx)
    ca_file = tmp_path_factory.mktemp("sf-ca") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return ctx, str(ca_file)


def start_fixture(tls: tuple[ssl.SSLContext, str]) -> Iterator[Callable[..., Env]]:
    served: list[tuple[Served, requests.Session]] = []

    def _start(world: World | None = None, clock: Clock | None = None, **options: Any) -> Env:
        standin = SalesforceStandIn(world or make_world(), clock, **options)
        server = serve(standin, tls=tls[0])
        http = requests.Session()
        http.trust_env = False
        http.verify = tls[1]
        served.append((server, http))
        form = {"grant_type": "client_credentials", "client_id": "id", "client_secret": "s"}
        token = http.post(f"{server.url}/services/oauth2/token", data=form, timeout=10).json()
        sf = Salesforce(
            instance_url=token["instance_url"],
            session_id=token["access_token"],
            session=http,
            version=V,
        )
        return Env(standin, server.url, http, sf, token["access_token"])

    yield _start
    for server, http in served:
        http.close()
        server.stop()


def install_fixtures() -> tuple[Any, Any]:
    """(tls, start) fixtures for a test module to bind to those names."""
    return (
        pytest.fixture(scope="module", name="tls")(tls_fixture),
        pytest.fixture(name="start")(start_fixture),
    )


def error_body(exc: pytest.ExceptionInfo[Any]) -> dict[str, Any]:
    """The one error of a Salesforce error answer (a JSON list of {message, errorCode})."""
    content: Any = exc.value.content
    return dict(content[0])


def error_code(exc: pytest.ExceptionInfo[Any]) -> str:
    return str(error_body(exc)["errorCode"])
