"""Salesforce adapter logins against the stand-in through simple-salesforce: JWT bearer, password,
refused and unreachable logins, session expiry mid-pull, shed load, the error mapping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jwt
import pytest

from adapters.salesforce.auth import jwt_assertion, token_form
from adapters.salesforce.client import translate
from connector.core.errors import (
    AuthError,
    BudgetExhausted,
    FatalError,
    RateLimited,
    RetriableError,
)
from connector.core.records import ObjectSpec
from tests.contract.cases.salesforce import CASE
from tests.contract.salesforce_adapter_kit import (
    Make,
    calls,
    faults,
    make,
    pull_all,
    records,
    rsa_key,
    sf,
)

__all__ = ["make", "sf"]  # the fixtures


# -- logins ----------------------------------------------------------------------------------------
def a_username(sandbox: Any) -> str:
    return str(CASE.records(sandbox, "User")[0]["Username"])


def test_jwt_bearer_login_signs_the_assertion_and_pulls(
    fresh_sandbox: Any, make: Make, tmp_path: Path
) -> None:
    key_file, public = rsa_key(tmp_path)
    fresh_sandbox.salesforce.standin.register_certificate(public.decode())
    user = a_username(fresh_sandbox)
    adapter = make(auth="jwt", username=user, private_key_file=key_file)
    got = {r.id for r in records(pull_all(adapter, "User"))}
    assert got == CASE.live_ids(fresh_sandbox, "User")
    assertion = jwt_assertion(adapter.settings, now=1_700_000_000)
    claims = jwt.decode(
        assertion,
        public,
        algorithms=["RS256"],
        audience=adapter.settings.login_url,
        options={"verify_exp": False},
    )
    assert claims == {
        "iss": adapter.settings.client_id,
        "sub": user,
        "aud": adapter.settings.login_url,
        "exp": 1_700_000_180,
    }


def test_password_login_appends_the_security_token(
    fresh_sandbox: Any, make: Make, tmp_path: Path
) -> None:
    (tmp_path / "pw").write_text("s3cret\n")
    (tmp_path / "tok").write_text("TOKEN\n")
    user = a_username(fresh_sandbox)
    fresh_sandbox.salesforce.standin.register_password(user, "s3cret" + "TOKEN")
    adapter = make(
        auth="password",
        username=user,
        password_file=tmp_path / "pw",
        security_token_file=tmp_path / "tok",
    )
    form = token_form(adapter.settings, adapter.settings.secret)
    assert form["grant_type"] == "password" and form["password"] == "s3cret" + "TOKEN"
    assert form["username"] == user and form["client_id"] == adapter.settings.client_id
    assert {r.id for r in records(pull_all(adapter, "Account"))}


def test_refused_credentials_are_an_auth_error_without_the_secret(make: Make) -> None:
    adapter = make(client_id="")
    secret = adapter.settings.secret("client_secret")
    with pytest.raises(AuthError) as caught:
        pull_all(adapter, "User")
    assert "invalid_client" in str(caught.value) and secret not in str(caught.value)


def test_an_unreachable_login_is_retried_then_retriable(make: Make) -> None:
    adapter = make(login_url="https://127.0.0.1:9")
    with pytest.raises(RetriableError):
        pull_all(adapter, "User")


# -- session expiry --------------------------------------------------------------------------------
def test_an_expired_session_mid_pull_logs_in_again(fresh_sandbox: Any, make: Make) -> None:
    adapter = make(batch_size=200)
    pages = adapter.pull(CASE.spec("Task"), None, True)
    first = next(pages)
    faults(fresh_sandbox, {"once": ["expire"]})
    rest = list(pages)
    ids = [r.id for r in records([first, *rest])]
    assert len(ids) == len(set(ids))
    assert set(ids) == CASE.live_ids(fresh_sandbox, "Task")
    assert adapter.client.logins == 2
    assert calls(fresh_sandbox)["POST /services/oauth2/token"] == 2


def test_a_second_expiry_in_a_row_is_an_auth_error(fresh_sandbox: Any, make: Make) -> None:
    adapter = make()
    faults(fresh_sandbox, {"once": ["expire", "expire"]})
    with pytest.raises(AuthError):
        pull_all(adapter, "User")


def test_shed_load_is_retried_after_the_retry_after_delay(fresh_sandbox: Any, make: Make) -> None:
    adapter = make()
    waits: list[float] = []
    adapter.client.sleep = waits.append
    faults(fresh_sandbox, {"once": ["429"]})
    assert {r.id for r in records(pull_all(adapter, "User"))}
    assert waits == [1.0]  # the Retry-After of the 503 SERVER_UNAVAILABLE


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (503, [{"errorCode": "SERVER_UNAVAILABLE", "message": "try later"}], RateLimited),
        (500, [{"errorCode": "UNKNOWN_EXCEPTION", "message": "ErrorId 1"}], RetriableError),
        (403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED", "message": "TotalRequests Limit exceeded."}],
         BudgetExhausted),
        (403, [{"errorCode": "REQUEST_LIMIT_EXCEEDED",
                "message": "ConcurrentPerOrgLongTxn Limit exceeded."}], RateLimited),
        (403, [{"errorCode": "INSUFFICIENT_ACCESS", "message": "no"}], FatalError),
        (400, [{"errorCode": "MALFORMED_QUERY", "message": "unexpected token: 'FORM'"}],
         FatalError),
        (404, [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}],
         FatalError),
    ],
)  # fmt: skip
def test_salesforce_errors_map_onto_what_carnet_does_next(
    status: int, body: Any, expected: type[Exception]
) -> None:
    err = translate(status, body, "Salesforce Contact query", 1.0)
    assert type(err) is expected
    assert "Salesforce Contact query" in str(err)
    if isinstance(err, RateLimited) and status == 503:
        assert err.retry_after == 1.0


def test_an_unknown_field_is_fatal_and_names_object_and_field(make: Make) -> None:
    with pytest.raises(FatalError, match=r"Contact.*Nope__c"):
        list(make().pull(ObjectSpec("Contact", ("Email", "Nope__c")), None, True))
