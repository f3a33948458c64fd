"""Every adapter against every fault kind a stand-in answers with that retrying cannot mend (issue
13): a 200 with JSON of the wrong shape, a 200 with an HTML page, a 401 and a 403, each on every
call. The pull stops with the error class the caller acts on, and a message that names the CRM,
the endpoint and what was expected, never an AttributeError nor an empty page.

The fault kinds are those of `carnet sandbox serve --faults` (parsed by sandbox/runner.py).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from connector.core.errors import AuthError, FatalError, RetriableError, UnexpectedAnswer
from connector.core.protocols import Adapter
from sandbox.runner import parse_faults
from tests.contract.cases.base import Case, admin
from tests.contract.test_adapter_contract import SOURCES, _case

CRM = {"salesforce": "Salesforce", "hubspot": "HubSpot", "exchange": "Microsoft Graph"}
KINDS = ["garbage", "html", "401", "403"]


@pytest.fixture(params=SOURCES)
def case(request: pytest.FixtureRequest) -> Case:
    return _case(str(request.param))


@pytest.fixture
def adapter(case: Case, fresh_sandbox: Any) -> Iterator[Adapter]:
    a = case.adapter(fresh_sandbox)
    yield a
    a.close()


def pull_with_every_call_failing(case: Case, adapter: Adapter, sandbox: Any, kind: str) -> Any:
    """The first object pulled in full with every call meeting `kind`; the error it ended on."""
    admin(sandbox, case.source, "POST", "faults", {"rate": 1.0, "kinds": [kind], "seed": 3})
    try:
        with pytest.raises(FatalError) as caught:
            list(adapter.pull(case.spec(case.objects[0]), None, True))
    finally:
        admin(sandbox, case.source, "POST", "faults", {})
    return caught.value


@pytest.mark.parametrize("kind", ["garbage", "html"])
def test_an_answer_of_another_shape_is_one_clear_error(
    case: Case, adapter: Adapter, fresh_sandbox: Any, kind: str
) -> None:
    error = pull_with_every_call_failing(case, adapter, fresh_sandbox, kind)
    assert type(error) is UnexpectedAnswer, repr(error)
    assert error.source == CRM[case.source]
    method, _, path = error.endpoint.partition(" ")
    assert method in ("GET", "POST") and path.startswith("/"), error.endpoint
    if kind == "html":
        assert (error.got, error.expected) == ("an HTML page", "a JSON document")
    else:  # {"results": "nope"}: the key named, and what was wanted instead
        assert "results" in error.got and error.expected.startswith(("a JSON object", "results"))
    assert str(error) == (
        f"{CRM[case.source]} answered {error.endpoint} with {error.got}; expected {error.expected}"
    )


def test_credentials_refused_on_every_call_are_an_auth_error(
    case: Case, adapter: Adapter, fresh_sandbox: Any
) -> None:
    error = pull_with_every_call_failing(case, adapter, fresh_sandbox, "401")
    assert isinstance(error, AuthError), repr(error)
    assert CRM[case.source] in str(error)


def test_a_call_not_permitted_stops_the_pull_without_retrying(
    case: Case, adapter: Adapter, fresh_sandbox: Any
) -> None:
    error = pull_with_every_call_failing(case, adapter, fresh_sandbox, "403")
    assert not isinstance(error, AuthError | RetriableError), repr(error)
    assert CRM[case.source] in str(error) and "403" in str(error), str(error)
    assert api_calls(fresh_sandbox, case) == 1  # refused once, not asked again


def api_calls(sandbox: Any, case: Case) -> int:
    """Calls the stand-in served since its reset, the logins aside (token endpoints, Entra's
    discovery document)."""
    stats = admin(sandbox, case.source, "GET", "stats")
    login = ("token", "openid-configuration")
    return sum(n for route, n in stats["calls"].items() if not route.endswith(login))


@pytest.mark.parametrize("kind", KINDS)
def test_serve_takes_each_new_kind_in_faults(kind: str) -> None:
    assert parse_faults(f"{kind},429@0.5#2") == {"rate": 0.5, "kinds": [kind, "429"], "seed": 2}
