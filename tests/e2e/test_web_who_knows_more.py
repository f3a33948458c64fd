"""Who knows, on the web, for a large account: the strongest-known people first, a few at a time
(the page's first answer stays small), each "show more" adding the next ones until all are there;
the API answers with its own limit."""

from __future__ import annotations

import re
from pathlib import Path

from connector.core.config import Sharing
from connector.store.db import make_engine, session_factory
from connector.store.migrate import upgrade
from connector.web.pages import WHO_KNOWS_SHOWN
from connector.web.tokens import open_session
from tests import governance_world as w
from tests.e2e.web_support import Client, free_port, served
from tests.unit.test_web_privacy import write_config

PEOPLE = 2 * WHO_KNOWS_SHOWN + 5


def test_an_account_shows_its_strongest_known_people_a_few_at_a_time(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text("not-used-here\n", encoding="utf-8")
    engine = make_engine(f"sqlite:///{tmp_path / 'carnet.db'}")
    upgrade(engine)
    with session_factory(engine)() as s:
        me = w.member(s, "me@us.example", "east", "Me")
        ann = w.member(s, "ann@us.example", "east", "Ann")
        org = w.org(s, "Bigco", ("bigco.example",))
        for i in range(PEOPLE):
            person = w.person(s, f"p{i:02d}@bigco.example", org, f"P{i:02d}")
            w.rel(s, ann, person, rating=5 if i % 2 else 2)
        cookie = open_session(s, me, set(), 1)
        s.commit()
    engine.dispose()
    base = f"http://127.0.0.1:{free_port()}"
    with served(write_config(tmp_path, base, Sharing(default="discoverable")), base):
        c = Client(base)
        c.cookies.set("carnet_session", cookie)
        url, seen = "/who-knows?q=bigco.example", list[str]()
        while url:
            page = c.get(url)
            assert page.status_code == 200
            names = re.findall(r"<h3>(P\d\d) ", page.text)
            assert names[: len(seen)] == seen and len(names) <= len(seen) + WHO_KNOWS_SHOWN
            seen = names
            more = re.search(r'href="(/who-knows\?[^"]+)">Show (\d+) more of (\d+)', page.text)
            if more:
                assert int(more[3]) == PEOPLE
                assert int(more[2]) == min(WHO_KNOWS_SHOWN, PEOPLE - len(names))
            url = more[1].replace("&amp;", "&") if more else ""
        strong = [f"P{i:02d}" for i in range(PEOPLE) if i % 2]
        assert seen == strong + [f"P{i:02d}" for i in range(PEOPLE) if not i % 2]
        assert len(c.get("/api/v1/who-knows?q=bigco.example").json()["people"]) == PEOPLE
