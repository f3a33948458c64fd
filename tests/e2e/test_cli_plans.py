"""`carnet plan show|set`, `carnet credits` and `carnet network` as a user runs them, on a store
holding the hand-made Globex account: every format, exit 2 on bad input, privacy in the output."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from connector.governance.credits import derive_credits
from connector.store.db import make_engine, session_factory
from connector.store.migrate import upgrade
from tests import governance_world as w
from tests.conftest import run_carnet
from tests.store.test_plans import SHARING, add_credited_deal, build_world


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("plans")
    config = w.write_config(folder, SHARING)
    engine = make_engine(f"sqlite:///{folder / 'carnet.db'}")
    upgrade(engine)
    with session_factory(engine)() as s:
        world = build_world(s)
        add_credited_deal(s, world, 1000.0, "EUR", "open")
        derive_credits(s, 10.0)
        s.commit()
    engine.dispose()
    return config


def carnet(config: Path, *args: str) -> tuple[int, str, str]:
    r = run_carnet("--config", str(config), *args, env={"COLUMNS": "200"})
    return r.returncode, r.stdout, r.stderr


def test_plan_show_every_format(store: Path) -> None:
    code, md, err = carnet(store, "plan", "show", "Globex")
    assert code == 0, err
    assert md.startswith("# Account plan: Globex") and "Felix Finanz: only Ann (4)" in md
    code, page, _ = carnet(store, "plan", "show", "globex.example", "--format", "html")
    assert code == 0 and page.startswith("<!DOCTYPE html>") and "Sue Staff" in page
    code, svg, _ = carnet(store, "plan", "show", "Globex", "--format", "svg")
    assert code == 0 and ET.fromstring(svg).tag == "{http://www.w3.org/2000/svg}svg"
    code, text, _ = carnet(store, "plan", "show", "Globex", "--format", "json")
    doc = json.loads(text)
    assert doc["coverage"]["key_known_strong"] == 3 and doc["audience"] == "crm"
    for output in (md, page, svg, text):
        assert "cat@us.example" not in output  # cat's only relationship here is private


def test_plan_show_as_the_private_holder(store: Path) -> None:
    code, text, err = carnet(
        store, "plan", "show", "Globex", "--format", "json", "--as", "cat@us.example"
    )
    assert code == 0, err
    vera = next(s for s in json.loads(text)["stakeholders"] if s["name"] == "Vera Vente")
    assert [k["member"]["email"] for k in vera["known_by"]] == ["cat@us.example", "dan@us.example"]


@pytest.mark.parametrize(
    "args, message",
    [
        (("plan", "show", "Initech"), "no org matches"),
        (("plan", "show", "Glob"), "several orgs"),
        (("plan", "show", "Globex", "--format", "pdf"), "--format must be one of"),
        (("plan", "show", "Globex", "--as", "zed@us.example"), "no member"),
        (("plan", "set", "Globex", "--stance", "felix@globex.example", "friend"), "stance"),
        (("plan", "set", "Globex", "--influence", "felix@globex.example", "7"), "influence"),
        (("plan", "set", "Globex"), "plan set needs"),
        (("network", "--member", "zed@us.example"), "no member"),
    ],
)
def test_bad_usage_exits_2(store: Path, args: tuple[str, ...], message: str) -> None:
    code, _, err = carnet(store, *args)
    assert code == 2 and message in err and "Traceback" not in err


def test_plan_set_then_show(store: Path) -> None:
    code, text, err = carnet(
        store,
        "plan",
        "set",
        "Globex",
        "--strategy",
        "Expand & <renew>",
        "--stance",
        "dora@globex.example",
        "ally",
        "--action",
        "QBR booked",
        "--as",
        "ann@us.example",
        "--json",
    )
    assert code == 0, err
    assert set(json.loads(text)["changes"]) == {"strategy", "stakeholders", "action"}
    _, page, _ = carnet(store, "plan", "show", "Globex", "--format", "html")
    assert "Expand &amp; &lt;renew&gt;" in page and "QBR booked" in page


def test_credits_and_network(store: Path) -> None:
    code, text, err = carnet(store, "credits", "--json")
    assert code == 0, err
    (credit,) = json.loads(text)["credits"]
    assert (credit["status"], credit["amount"], credit["referrer"]["email"]) == (
        "pending",
        100.0,
        "bob@us.example",
    )
    code, table, _ = carnet(store, "credits")
    assert code == 0 and "Globex renewal" in table
    code, text, _ = carnet(store, "network", "--org", "Globex", "--json")
    (acct,) = json.loads(text)["accounts"]
    assert acct["key_known_strong"] == 3 and len(acct["single_threaded"]) == 4
    code, text, _ = carnet(
        store, "network", "--member", "cat@us.example", "--as", "cat@us.example", "--json"
    )
    assert json.loads(text)["members"][0]["shareability"]["private"] == 1
    code, text, _ = carnet(store, "network", "--member", "cat@us.example", "--json")
    assert json.loads(text)["members"][0]["network_size"] == 0
    code, table, err = carnet(store, "network")
    assert code == 0 and "Globex" in table and "bob@us.example" in table, err
