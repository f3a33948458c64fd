"""The sandbox's seed data: deterministic, sized by scale, and shaped like a real sales org's data
(hierarchies, reports-to chains, every stage, overlapping address books, duplicates, bad records).
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import Counter, defaultdict

import pytest

from sandbox import seed_tables as T
from sandbox.seed import counts, generate, level_plan, split_total
from sandbox.seed_people import MALFORMED_KINDS
from sandbox.world import HUBSPOT, SALESFORCE, Contact, World

VALID_EMAIL = re.compile(r"^[a-z0-9._-]+@[a-z0-9-]+(\.[a-z0-9-]+)+$")
RANK = {level: i for i, level in enumerate(T.LEVELS)}


@pytest.fixture(scope="module")
def world() -> World:
    return generate(1, 0.01)


@pytest.fixture(scope="module")
def mid_world() -> World:
    return generate(3, 0.1)


def live(world: World) -> tuple[set[str], set[str]]:
    losers = {m.loser_key for m in world.merges}
    return losers, {c.key for c in world.contacts if "-dup-" in c.key}


# -- determinism and size ---------------------------------------------------------------------
def test_same_seed_gives_an_equal_world_whatever_the_global_random_state() -> None:
    random.seed(123)
    first = generate(7, 0.01)
    state = random.getstate()
    random.seed(456)
    second = generate(7, 0.01)
    assert first == second
    random.seed(123)
    generate(7, 0.01)
    assert random.getstate() == state  # the global random is never drawn from


def test_different_seeds_give_different_worlds() -> None:
    a, b = generate(1, 0.01), generate(2, 0.01)
    assert a != b
    assert [c.email for c in a.contacts] != [c.email for c in b.contacts]


@pytest.mark.parametrize(
    ("scale", "expected"),
    [(1, (50, 2000, 20000, 3000)), (0.5, (25, 1000, 10000, 1500)), (0.01, (5, 20, 200, 30))],
)
def test_counts_scale_linearly_with_floors(scale: float, expected: tuple[int, ...]) -> None:
    n = counts(scale)
    assert (n.members, n.accounts, n.contacts, n.opportunities) == expected


@pytest.mark.parametrize("scale", [0, -1, float("nan")])
def test_a_scale_that_is_not_positive_is_refused(scale: float) -> None:
    with pytest.raises(ValueError, match="scale"):
        generate(1, scale)


def test_small_world_has_the_planned_counts(world: World) -> None:
    _, dups = live(world)
    originals = [c for c in world.contacts if c.key not in dups]
    assert len(world.members) == 5
    assert len([a for a in world.accounts if "-dup-" not in a.key]) == 20
    assert len(originals) == 200
    assert len(world.opportunities) == 30
    assert 2 <= len(world.activities) / len(originals) <= 3.2
    assert len({m.team for m in world.members}) == 5


def test_scale_one_has_the_full_structure() -> None:
    """(How long the sandbox takes to be ready, generation included, is a benchmark's:
    `python -m bench salesforce_pull`.)"""
    big = generate(1, 1.0)
    _, dups = live(big)
    assert len(big.members) == 50
    assert len([a for a in big.accounts if "-dup-" not in a.key]) == 2000
    assert len([c for c in big.contacts if c.key not in dups]) == 20000
    assert len(big.opportunities) == 3000
    assert 40_000 <= len(big.activities) <= 60_000
    sizes = Counter(e.member_key for e in big.address_books)
    assert set(sizes) == {m.key for m in big.members}
    assert min(sizes.values()) >= 50 and max(sizes.values()) <= 300
    in_hubspot = sum(HUBSPOT in a.crms for a in big.accounts) / len(big.accounts)
    in_salesforce = sum(SALESFORCE in a.crms for a in big.accounts) / len(big.accounts)
    assert 0.3 <= in_hubspot <= 0.5 and in_salesforce >= 0.7
    assert len({m.team for m in big.members}) == len(T.TEAMS)
    assert len({c.country for c in big.contacts}) == len(T.COUNTRIES)


@pytest.mark.parametrize(("k", "top"), [(1, 1), (3, 1), (5, 1), (12, 2), (40, 3)])
def test_level_plan_is_a_pyramid(k: int, top: int) -> None:
    plan = level_plan(k)
    assert len(plan) == k and plan.count("c_level") == top
    assert [RANK[lv] for lv in plan] == sorted(RANK[lv] for lv in plan)


def test_split_total_adds_up_with_a_minimum() -> None:
    sizes = split_total(random.Random(5), 1000, 97, minimum=3)
    assert sum(sizes) == 1000 and min(sizes) >= 3 and max(sizes) > 20


# -- references and CRM placement -------------------------------------------------------------
def test_every_reference_resolves(world: World) -> None:
    members = {m.key for m in world.members}
    accounts = {a.key: a for a in world.accounts}
    contacts = {c.key: c for c in world.contacts}
    for name, keys in [
        ("member", [m.key for m in world.members]),
        ("account", list(accounts)),
        ("contact", list(contacts)),
        ("opportunity", [o.key for o in world.opportunities]),
        ("activity", [a.key for a in world.activities]),
        ("address book", [e.key for e in world.address_books]),
    ]:
        assert len(keys) == len(set(keys)), f"{name} keys repeat"
    assert all(a.owner_key in members for a in world.accounts)
    assert all(a.parent_key is None or a.parent_key in accounts for a in world.accounts)
    for c in world.contacts:
        assert c.account_key in accounts and c.owner_key in members
        boss = contacts.get(c.reports_to_key or "")
        assert c.reports_to_key is None or (boss and boss.account_key == c.account_key)
    assert all(a.member_key in members and a.contact_key in contacts for a in world.activities)
    assert all(e.member_key in members for e in world.address_books)
    assert all(e.contact_key is None or e.contact_key in contacts for e in world.address_books)


def test_each_crm_holds_its_part(world: World) -> None:
    accounts = {a.key: a for a in world.accounts}
    contacts = {c.key: c for c in world.contacts}
    placements = Counter(frozenset(a.crms) for a in world.accounts)
    assert {frozenset({SALESFORCE}), frozenset({HUBSPOT}), frozenset({SALESFORCE, HUBSPOT})} <= set(
        placements
    )
    assert all(m.crms == {SALESFORCE, HUBSPOT} and m.has_mailbox for m in world.members)
    assert all(c.crms <= accounts[c.account_key].crms for c in world.contacts)
    for o in world.opportunities:
        assert len(o.crms) == 1 and o.crms <= accounts[o.account_key].crms
        assert all(o.crms <= contacts[r.contact_key].crms for r in o.roles)
    assert all(
        len(a.crms) == 1 and a.crms <= contacts[a.contact_key].crms for a in world.activities
    )
    both = [c for c in world.contacts if c.crms == {SALESFORCE, HUBSPOT} and c.email]
    assert both, "the same person must appear in both CRMs with the same email"
    hubspot_part = world.in_crm(HUBSPOT)
    assert hubspot_part.contacts and hubspot_part.opportunities and hubspot_part.activities


def test_hubspot_never_holds_two_live_contacts_with_one_valid_email(mid_world: World) -> None:
    losers = {m.loser_key for m in mid_world.merges}
    emails = Counter(
        c.email.lower()
        for c in mid_world.contacts
        if HUBSPOT in c.crms and c.key not in losers and c.email and VALID_EMAIL.match(c.email)
    )
    assert emails and emails.most_common(1)[0][1] == 1


# -- hierarchies ----------------------------------------------------------------------------------
def test_accounts_form_acyclic_hierarchies_up_to_three_levels(world: World) -> None:
    parents = {a.key: a.parent_key for a in world.accounts}
    depths = []
    for key in parents:
        seen, node = {key}, parents[key]
        while node is not None:
            assert node not in seen, f"account hierarchy cycle at {key}"
            seen.add(node)
            node = parents[node]
        depths.append(len(seen))
    assert max(depths) >= 3
    children = [a for a in world.accounts if a.parent_key]
    assert (
        any(
            a.country != next(p for p in world.accounts if p.key == a.parent_key).country
            for a in children
        )
        or len(children) < 4
    )


def test_reports_to_chains_are_acyclic_and_go_up_in_level(mid_world: World) -> None:
    contacts = {c.key: c for c in mid_world.contacts}
    longest = 0
    for c in mid_world.contacts:
        chain, node = [c], c
        while node.reports_to_key:
            boss = contacts[node.reports_to_key]
            assert boss not in chain, f"reports-to cycle at {c.key}"
            same_c_level = boss.level == node.level == "c_level" and boss.reports_to_key is None
            assert RANK[boss.level] < RANK[node.level] or same_c_level
            chain.append(boss)
            node = boss
        longest = max(longest, len(chain))
    assert longest >= 5  # staff -> manager -> director -> VP -> (CFO ->) CEO
    tops = Counter(
        c.account_key for c in mid_world.contacts if c.level == "c_level" and not c.reports_to_key
    )
    originals = {c.account_key for c in mid_world.contacts if "-dup-" not in c.key}
    assert set(tops) >= originals  # every account has its CEO at the top


def test_contacts_of_an_account_live_in_several_countries(world: World) -> None:
    countries: dict[str, set[str]] = defaultdict(set)
    for c in world.contacts:
        countries[c.account_key].add(c.country)
    big = [
        k
        for k, cs in countries.items()
        if len([c for c in world.contacts if c.account_key == k]) >= 8
    ]
    assert sum(len(countries[k]) >= 2 for k in big) >= len(big) / 2


def _title_patterns() -> dict[str, list[re.Pattern[str]]]:
    patterns: dict[str, list[re.Pattern[str]]] = defaultdict(list)
    for lang, table in T.TITLES.items():
        for key, templates in table.items():
            level = "c_level" if key == "ceo" else key
            for template in templates:
                for form in template.split("|"):
                    regex = re.escape(form).replace(re.escape("{dept}"), ".+")
                    patterns[level].append(re.compile(f"^{regex}$"))
                    patterns[f"lang:{lang}"].append(re.compile(f"^{regex}$"))
    return patterns


def test_titles_match_the_level_they_claim_in_several_languages(mid_world: World) -> None:
    patterns = _title_patterns()
    for c in mid_world.contacts:
        if c.malformed == "html":
            continue
        assert any(p.match(c.title) for p in patterns[c.level]), (c.title, c.level)
    titles = {c.title for c in mid_world.contacts}
    for lang in T.TITLES:
        assert any(p.match(t) for t in titles for p in patterns[f"lang:{lang}"]), lang
    assert any(t.startswith("Geschäftsführer") for t in titles)
    assert any(t.startswith("Directeur ") for t in titles)


# -- deals and activities -------------------------------------------------------------------------
def test_opportunities_cover_every_stage_with_consistent_flags(world: World) -> None:
    stages = Counter(o.stage for o in world.opportunities)
    assert set(stages) == {s for s, _ in T.STAGES}
    contacts = {c.key: c for c in world.contacts}
    for o in world.opportunities:
        assert o.is_closed == o.stage.startswith("Closed")
        assert o.is_won == (o.stage == "Closed Won")
        assert o.close_in_days < 0 if o.is_closed else o.close_in_days > -20
        assert o.amount > 0 and o.currency == T.COUNTRIES[_country(world, o.account_key)].currency
        assert o.roles and sum(r.is_primary for r in o.roles) == 1
        assert all(contacts[r.contact_key].account_key == o.account_key for r in o.roles)
        assert {r.role for r in o.roles} <= {r for rs in T.ROLES_BY_LEVEL.values() for r in rs}


def _country(world: World, account_key: str) -> str:
    return next(a.country for a in world.accounts if a.key == account_key)


def test_activities_are_recent_and_old(world: World) -> None:
    ages = [a.days_ago for a in world.activities]
    assert min(ages) >= 0 and any(d < 30 for d in ages) and any(d > 180 for d in ages)
    assert {a.kind for a in world.activities} == {"call", "email", "meeting", "task"}
    assert all(c.age_days >= 0 for c in world.contacts)


# -- untidy data --------------------------------------------------------------------------------
def test_every_kind_of_malformed_contact_is_present(world: World) -> None:
    by_kind: dict[str, list[Contact]] = defaultdict(list)
    for c in world.contacts:
        if c.malformed:
            by_kind[c.malformed].append(c)
    assert set(by_kind) == set(MALFORMED_KINDS)
    assert all(c.email is None for c in by_kind["no_email"])
    bad = [c.email for c in by_kind["bad_email"]]
    assert "n/a" in bad and any(e and e.endswith("@") for e in bad)
    assert not any(e and VALID_EMAIL.match(e) for e in bad)
    assert all(len(c.first_name) + len(c.last_name) >= 300 for c in by_kind["long_name"])
    assert all("<" in c.title + c.last_name for c in by_kind["html"])
    for c in by_kind["email_format"]:
        assert c.email and (c.email != c.email.strip() or c.email != c.email.lower())
        assert VALID_EMAIL.match(c.email.strip().lower())


def test_unicode_names_have_emoji_combining_accents_and_cjk(mid_world: World) -> None:
    names = [
        c.first_name + " " + c.last_name for c in mid_world.contacts if c.malformed == "unicode"
    ]
    assert any(any(ord(ch) > 0x1F000 for ch in n) for n in names)  # emoji
    assert any(any(unicodedata.combining(ch) for ch in n) for n in names)
    cjk = [
        n
        for n in names
        if any("\u4e00" <= ch <= "\u9fff" or "\uac00" <= ch <= "\ud7a3" for ch in n)
    ]
    assert cjk


def test_duplicates_and_merges_exist_in_both_crms(world: World) -> None:
    contacts = {c.key: c for c in world.contacts}
    accounts = {a.key: a for a in world.accounts}
    kinds = {(m.crm, m.object) for m in world.merges}
    assert kinds == {
        (SALESFORCE, "Contact"),
        (SALESFORCE, "Account"),
        (HUBSPOT, "contacts"),
        (HUBSPOT, "companies"),
    }
    losers = {m.loser_key for m in world.merges}
    for m in world.merges:
        records = contacts if m.object in ("Contact", "contacts") else accounts
        winner, loser = records[m.winner_key], records[m.loser_key]
        assert loser.crms == {m.crm} and m.crm in winner.crms and m.winner_key not in losers
        if isinstance(loser, Contact) and isinstance(winner, Contact):
            assert loser.account_key == winner.account_key and loser.last_name == winner.last_name
    live_dups = [c for c in world.contacts if "-dup-" in c.key and c.key not in losers]
    assert {next(iter(c.crms)) for c in live_dups} == {SALESFORCE, HUBSPOT}
    sf_dups = [c for c in world.contacts if c.key.endswith("-dup-sf")]
    for dup in sf_dups:
        original = contacts[dup.key.removesuffix("-dup-sf")]
        assert dup.email and original.email and dup.email.lower() == original.email.lower()
    assert not any(accounts[c.account_key].key in losers for c in world.contacts)


# -- address books ------------------------------------------------------------------------------
def test_address_books_overlap_the_crm_imperfectly(world: World) -> None:
    contacts = {c.key: c for c in world.contacts}
    worked = defaultdict(set)
    for a in world.activities:
        worked[a.member_key].add(a.contact_key)
    for o in world.opportunities:
        worked[o.owner_key].update(r.contact_key for r in o.roles)
    exact = case_only = second = 0
    for e in world.address_books:
        if e.contact_key is None:
            continue
        c = contacts[e.contact_key]
        assert c.owner_key == e.member_key or c.key in worked[e.member_key]
        if c.malformed or not c.email:
            continue
        lowered = [x.lower() for x in e.emails]
        exact += c.email in e.emails
        case_only += c.email not in e.emails and c.email.lower() in lowered
        second += bool(e.emails) and any(x != c.email.lower() for x in lowered)
    assert exact and case_only and second
    seconds_known = [
        e
        for e in world.address_books
        if e.contact_key and (s := contacts[e.contact_key].second_email) and s in e.emails
    ]
    assert seconds_known, "some address-book entries carry the CRM's second email"


def test_address_books_hold_private_people_and_sub_folders(world: World) -> None:
    crm_emails = {c.email.lower() for c in world.contacts if c.email}
    private = [e for e in world.address_books if e.contact_key is None]
    assert private and not any(x.lower() in crm_emails for e in private for x in e.emails)
    assert {e.folder for e in world.address_books} - {"Contacts"}
    sizes = Counter(e.member_key for e in world.address_books)
    assert set(sizes) == {m.key for m in world.members}
    assert all(5 <= n <= 30 for n in sizes.values())
