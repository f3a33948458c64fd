"""Exchange adapter tests beyond the shared contract, against the Graph + Entra stand-in: the
certificate credential, a mailbox list, the page size asked, 410 recovery, token expiry mid-pull,
Retry-After, deletions and moves, the cursor round trip, and what push and describe answer.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import math
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from adapters.exchange.adapter import ExchangeAdapter
from adapters.exchange.contacts import ContactsPull, dump_cursor, load_cursor
from connector.core.config import load_config
from connector.core.errors import UsageError
from connector.core.http import BASE_DELAY
from connector.core.records import Page, RawRecord, Write
from tests.contract.cases.base import admin
from tests.contract.cases.exchange import CASE

DELTA_ROUTE = "GET /v1.0/users/{user}/contactFolders/{folder}/contacts/delta"
TOKEN_ROUTE = "POST /{tenant}/oauth2/v2.0/token"


# -- helpers ----------------------------------------------------------------------------------
class Recorder:
    """Every response the adapter's session saw (token requests included), and every retry sleep."""

    def __init__(self, adapter: ExchangeAdapter):
        self.responses: list[requests.Response] = []
        self.sleeps: list[float] = []
        adapter.graph.http.hooks["response"].append(self._hook)
        adapter.graph.sleep = self.sleeps.append

    def _hook(self, resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        self.responses.append(resp)

    def delta(self) -> list[requests.Response]:
        return [r for r in self.responses if "/contacts/delta" in r.url]


def make_adapter(sandbox: Any, **overrides: Any) -> tuple[ExchangeAdapter, Recorder]:
    settings = load_config(sandbox.urls["config"]).sources.exchange
    assert settings is not None
    settings = settings.model_copy(update=overrides)
    adapter = ExchangeAdapter(settings, settings.secret)
    return adapter, Recorder(adapter)


@pytest.fixture
def exchange(fresh_sandbox: Any) -> Iterator[tuple[ExchangeAdapter, Recorder]]:
    adapter, recorder = make_adapter(fresh_sandbox)
    yield adapter, recorder
    adapter.close()


def pull(
    adapter: ExchangeAdapter, obj: str, cursor: str | None = None, full: bool = False
) -> tuple[list[Page], str | None]:
    pages = list(adapter.pull(CASE.spec(obj), cursor, full))
    assert pages and pages[-1].done and all(not p.done for p in pages[:-1])
    return pages, pages[-1].cursor


def records(pages: list[Page]) -> list[RawRecord]:
    return [r for p in pages for r in p.records]


def stats(sandbox: Any) -> Counter[str]:
    return Counter(admin(sandbox, "exchange", "GET", "stats")["calls"])


def contacts(sandbox: Any) -> list[dict[str, Any]]:
    return list(admin(sandbox, "exchange", "GET", "records/contacts"))


def users(sandbox: Any) -> list[dict[str, Any]]:
    return list(admin(sandbox, "exchange", "GET", "records/users"))


# -- credentials ------------------------------------------------------------------------------
def _certificate_pem(tmp_path: Path) -> tuple[Path, str]:
    """A PEM file with a new RSA key and its self-signed certificate; the SHA-1 thumbprint as
    the Azure portal shows it (upper-case hex), here written with colons to test normalising."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "carnet-exchange-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "carnet-app.pem"
    path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        + cert.public_bytes(serialization.Encoding.PEM)
    )
    sha1 = cert.fingerprint(hashes.SHA1()).hex()
    return path, ":".join(sha1[i : i + 2] for i in range(0, len(sha1), 2))


def test_certificate_credential_gets_a_token_with_a_signed_assertion(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    path, thumbprint = _certificate_pem(tmp_path)
    adapter, rec = make_adapter(
        fresh_sandbox,
        client_secret_file=None,
        certificate_file=path,
        certificate_thumbprint=thumbprint,
    )
    pages, _ = pull(adapter, "users", full=True)
    assert {r.id for r in records(pages)} == {u["id"] for u in users(fresh_sandbox)}
    posted = [parse_qs(str(r.request.body)) for r in rec.responses if r.request.method == "POST"]
    assert len(posted) == 1 and "client_secret" not in posted[0]
    assert posted[0]["client_assertion_type"] == [
        "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
    ]


def test_a_thumbprint_of_another_certificate_is_a_usage_error(
    fresh_sandbox: Any, tmp_path: Path
) -> None:
    path, _ = _certificate_pem(tmp_path)
    with pytest.raises(UsageError, match="certificate_thumbprint"):
        make_adapter(
            fresh_sandbox,
            client_secret_file=None,
            certificate_file=path,
            certificate_thumbprint="AB" * 20,
        )


# -- mailboxes ----------------------------------------------------------------------------------
def test_a_mailbox_list_reads_only_those_mailboxes(
    fresh_sandbox: Any, caplog: pytest.LogCaptureFixture
) -> None:
    everyone = sorted(users(fresh_sandbox), key=lambda u: u["id"])
    first, second = everyone[0], everyone[1]
    listed = [first["userPrincipalName"].upper(), second["mail"], "nobody@nowhere.test"]
    adapter, _ = make_adapter(fresh_sandbox, mailboxes=listed)
    with caplog.at_level(logging.WARNING, logger="adapters.exchange.adapter"):
        user_pages, _ = pull(adapter, "users", full=True)
    assert {r.id for r in records(user_pages)} == {first["id"], second["id"]}
    assert "nobody@nowhere.test" in caplog.text
    pages, _ = pull(adapter, "contacts", full=True)
    got = records(pages)
    want = {
        c["id"] for c in contacts(fresh_sandbox) if c["_mailbox"] in (first["id"], second["id"])
    }
    assert {r.id for r in got} == want and want
    assert {r.container for r in got} == {first["id"], second["id"]}


@pytest.mark.parametrize(
    "change", [{"accountEnabled": False}, {"userType": "Guest"}, {"mail": None}]
)
def test_disabled_accounts_and_users_without_a_mailbox_are_members_whose_mailbox_is_not_read(
    exchange: tuple[ExchangeAdapter, Recorder], fresh_sandbox: Any, change: dict[str, Any]
) -> None:
    adapter, _ = exchange
    off = sorted(users(fresh_sandbox), key=lambda u: u["id"])[0]["id"]
    admin(fresh_sandbox, "exchange", "POST", "records/users", {"id": off, **change})
    user_pages, _ = pull(adapter, "users", full=True)
    assert off in {r.id for r in records(user_pages)}
    pages, _ = pull(adapter, "contacts", full=True)
    assert {r.id for r in records(pages)} == {
        c["id"] for c in contacts(fresh_sandbox) if c["_mailbox"] != off
    }
    assert off not in {r.container for r in records(pages)}


def test_a_mailbox_no_longer_read_forces_a_full_pass(fresh_sandbox: Any) -> None:
    adapter, _ = make_adapter(fresh_sandbox)
    _, cursor = pull(adapter, "contacts", full=True)
    keep = sorted(users(fresh_sandbox), key=lambda u: u["id"])[0]
    narrowed, _ = make_adapter(fresh_sandbox, mailboxes=[keep["userPrincipalName"]])
    pages, new_cursor = pull(narrowed, "contacts", cursor)
    assert all(p.full for p in pages)
    assert {r.container for r in records(pages)} == {keep["id"]}
    assert set(json.loads(new_cursor or "{}")) == {keep["id"]}


# -- page size ----------------------------------------------------------------------------------
def _folder_sizes(sandbox: Any) -> Counter[tuple[str, str]]:
    return Counter((c["_mailbox"], c["parentFolderId"]) for c in contacts(sandbox))


@pytest.mark.parametrize("page_size", [7, 1000])
def test_the_page_size_is_asked_for_not_graphs_default_of_ten(
    fresh_sandbox: Any, page_size: int
) -> None:
    adapter, rec = make_adapter(fresh_sandbox, page_size=page_size)
    pages, _ = pull(adapter, "contacts", full=True)
    served = min(page_size, 200)  # Outlook caps a contact delta page at 200
    sizes = _folder_sizes(fresh_sandbox)
    expected = sum(math.ceil(n / served) for n in sizes.values())
    assert stats(fresh_sandbox)[DELTA_ROUTE] == expected
    if served > 10:
        assert expected < sum(math.ceil(n / 10) for n in sizes.values())
    assert {r.headers.get("Preference-Applied") for r in rec.delta()} == {
        f"odata.maxpagesize={served}"
    }
    assert max(len(p.records) for p in pages) <= served


# -- 410, tokens, throttling ------------------------------------------------------------------
def test_an_expired_delta_token_starts_a_full_pass_that_keeps_the_old_cursor_until_done(
    exchange: tuple[ExchangeAdapter, Recorder], fresh_sandbox: Any
) -> None:
    adapter, _ = exchange
    _, cursor = pull(adapter, "contacts", full=True)
    ids = sorted(CASE.live_ids(fresh_sandbox, "contacts"))
    admin(fresh_sandbox, "exchange", "DELETE", f"records/contacts/{ids[0]}")
    admin(fresh_sandbox, "exchange", "POST", "records/contacts", {"id": ids[1], "jobTitle": "CRO"})
    admin(fresh_sandbox, "exchange", "POST", "expire-delta")

    pages, new_cursor = pull(adapter, "contacts", cursor)
    assert all(p.full for p in pages)
    assert all(p.cursor is None for p in pages[:-1]) and new_cursor not in (None, cursor)
    live = {r.id: r for r in records(pages) if not r.deleted}
    assert set(live) == CASE.live_ids(fresh_sandbox, "contacts")  # ids[0] not seen: tombstoned
    assert live[ids[1]].fields["jobTitle"] == "CRO"

    again, _ = pull(adapter, "contacts", new_cursor)
    assert records(again) == [] and not again[-1].full


def test_a_token_that_expires_mid_pull_is_renewed(
    exchange: tuple[ExchangeAdapter, Recorder], fresh_sandbox: Any
) -> None:
    adapter, _ = exchange
    pulling = adapter.pull(CASE.spec("contacts"), None, True)
    pages = [next(pulling)]
    # the stand-in's clock passes the token's hour; msal's cache still thinks it is good
    fresh_sandbox.clock.offset += dt.timedelta(seconds=3601)
    pages += list(pulling)
    assert {r.id for r in records(pages)} == CASE.live_ids(fresh_sandbox, "contacts")
    assert stats(fresh_sandbox)[TOKEN_ROUTE] == 2


def test_a_token_revoked_by_the_expire_fault_is_renewed(
    exchange: tuple[ExchangeAdapter, Recorder], fresh_sandbox: Any
) -> None:
    adapter, rec = exchange
    admin(fresh_sandbox, "exchange", "POST", "faults", {"once": ["expire"]})
    pages, _ = pull(adapter, "users", full=True)
    assert {r.id for r in records(pages)} == CASE.live_ids(fresh_sandbox, "users")
    assert stats(fresh_sandbox)[TOKEN_ROUTE] == 2 and rec.sleeps == []


@pytest.mark.parametrize("kind", ["429", "503", "429-no-retry-after", "500"])
def test_throttling_and_server_errors_are_retried_honouring_retry_after(
    exchange: tuple[ExchangeAdapter, Recorder], fresh_sandbox: Any, kind: str
) -> None:
    adapter, rec = exchange
    admin(fresh_sandbox, "exchange", "POST", "faults", {"once": [kind]})
    pages, _ = pull(adapter, "users", full=True)
    assert {r.id for r in records(pages)} == CASE.live_ids(fresh_sandbox, "users")
    assert len(rec.sleeps) == 1
    if kind in ("429", "503"):  # the stand-in asks for Retry-After: 1
        assert rec.sleeps == [1.0]
    else:  # no Retry-After: the policy's first backoff step, with jitter
        assert BASE_DELAY / 2 <= rec.sleeps[0] <= BASE_DELAY


# -- changes, deletions, moves, the cursor ----------------------------------------------------
def test_deletions_come_as_deleted_and_moves_stay_live(
    exchange: tuple[ExchangeAdapter, Recorder], fresh_sandbox: Any
) -> None:
    adapter, _ = exchange
    _, cursor = pull(adapter, "contacts", full=True)
    sizes = _folder_sizes(fresh_sandbox)
    mailbox, folder = next(k for k in sizes if sum(1 for m, _ in sizes if m == k[0]) > 1)
    other = next(f for m, f in sizes if m == mailbox and f != folder)
    in_folder = sorted(
        c["id"]
        for c in contacts(fresh_sandbox)
        if (c["_mailbox"], c["parentFolderId"]) == (mailbox, folder)
    )
    gone, moved = in_folder[0], in_folder[-1]
    admin(fresh_sandbox, "exchange", "DELETE", f"records/contacts/{gone}")
    admin(
        fresh_sandbox,
        "exchange",
        "POST",
        "records/contacts",
        {"id": moved, "parentFolderId": other},
    )

    pages, _ = pull(adapter, "contacts", cursor)
    got = records(pages)
    assert not any(p.full for p in pages)
    assert [(r.id, r.container) for r in got if r.deleted] == [(gone, mailbox)]
    assert {r.fields["parentFolderId"] for r in got if r.id == moved} == {other}
    assert {r.id for r in got} == {gone, moved}


def test_a_cursor_round_trip_with_no_change_yields_nothing(
    exchange: tuple[ExchangeAdapter, Recorder], fresh_sandbox: Any
) -> None:
    adapter, _ = exchange
    _, cursor = pull(adapter, "contacts", full=True)
    links = load_cursor(cursor)
    assert links is not None
    assert {(m, f) for m, folders in links.items() for f in folders} == set(
        _folder_sizes(fresh_sandbox)
    )
    before = stats(fresh_sandbox)
    pages, again = pull(adapter, "contacts", cursor)
    assert records(pages) == [] and len(pages) == 1 and not pages[0].full
    calls = stats(fresh_sandbox) - before
    # the mailbox list, one folder list per mailbox, one delta call per folder; nothing else
    assert calls == Counter(
        {
            "GET /v1.0/users": 1,
            "GET /v1.0/users/{user}/contactFolders": len(links),
            DELTA_ROUTE: len(_folder_sizes(fresh_sandbox)),
        }
    )
    assert set(load_cursor(again) or {}) == set(links)


def test_cursor_text_round_trips_and_foreign_text_means_no_cursor() -> None:
    links = {"u2": {"f1": "https://g/delta?$deltatoken=b"}, "u1": {"f9": "x", "f2": "y"}}
    text = dump_cursor({**links, "u3": {}})
    assert text == ('{"u1":{"f2":"y","f9":"x"},"u2":{"f1":"https://g/delta?$deltatoken=b"}}')
    assert load_cursor(text) == links
    for foreign in (None, "", "2024-01-01T00:00:00Z", "[1]", '{"u1": {"f1": 3}}', '{"u1": "x"}'):
        assert load_cursor(foreign) is None


def test_an_item_twice_in_a_page_becomes_one_record(
    exchange: tuple[ExchangeAdapter, Recorder],
) -> None:
    adapter, _ = exchange
    pull_ = ContactsPull(adapter.graph, [], CASE.spec("contacts"), 100)
    items = [
        {"id": "a", "jobTitle": "old", "lastModifiedDateTime": "2024-05-01T10:00:00Z"},
        {"id": "b", "jobTitle": "x"},
        {"id": "a", "jobTitle": "new", "lastModifiedDateTime": "2024-05-02T10:00:00Z"},
    ]
    got = pull_._records("mbx", items)
    assert [(r.id, r.fields["jobTitle"], r.container) for r in got] == [
        ("b", "x", "mbx"),
        ("a", "new", "mbx"),
    ]
    assert got[1].modstamp == dt.datetime(2024, 5, 2, 10, tzinfo=dt.UTC)


# -- push, describe, usage --------------------------------------------------------------------
def test_push_writes_nothing_and_says_so(exchange: tuple[ExchangeAdapter, Recorder]) -> None:
    adapter, rec = exchange
    results = adapter.push([Write("contacts", "c1", {"jobTitle": "x"}, key="7")])
    assert [(r.key, r.ok, r.retriable) for r in results] == [("7", False, False)]
    assert "does not write to Exchange" in (results[0].error or "")
    assert adapter.push([]) == [] and rec.responses == []


def test_describe_knows_every_mapped_field(exchange: tuple[ExchangeAdapter, Recorder]) -> None:
    adapter, _ = exchange
    for obj in CASE.objects:
        fields = adapter.describe(obj)
        assert set(CASE.spec(obj).fields) <= set(fields)
        assert not any(f.writable for f in fields.values())
    assert adapter.describe("contacts")["emailAddresses"].type.startswith("Collection(")
    with pytest.raises(UsageError):
        adapter.describe("events")


def test_usage_counts_graph_calls(
    exchange: tuple[ExchangeAdapter, Recorder], fresh_sandbox: Any
) -> None:
    adapter, _ = exchange
    pull(adapter, "contacts", full=True)
    calls = stats(fresh_sandbox)
    graph_calls = sum(n for route, n in calls.items() if route.startswith("GET /v1.0/"))
    assert adapter.usage().calls == graph_calls and adapter.usage().share() is None
