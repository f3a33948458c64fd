"""Deterministic seed data for the sandbox: our sales force, its market, deals, activities and
Exchange address books, built as a neutral `World` by `generate(seed, scale)`."""

from __future__ import annotations

import random
from collections import defaultdict
from dataclasses import dataclass

from sandbox import seed_tables as T
from sandbox.seed_base import Generator, slug
from sandbox.seed_people import add_address_books, add_duplicates, add_malformed
from sandbox.world import (
    HUBSPOT,
    SALESFORCE,
    Account,
    Activity,
    Contact,
    ContactRole,
    Member,
    Opportunity,
    World,
)

_EMAIL_FORMATS = ["{f}.{l}", "{f}.{l}", "{f}.{l}", "{fi}{l}", "{f}_{l}", "{f}{li}"]


@dataclass(frozen=True)
class Counts:
    members: int
    accounts: int
    contacts: int
    opportunities: int


def counts(scale: float) -> Counts:
    """How many of each record `generate` makes at this scale (linear, with floors)."""
    if not scale > 0:
        raise ValueError(f"scale must be a positive number, got {scale!r}")
    return Counts(
        members=max(5, round(50 * scale)),
        accounts=max(20, round(2000 * scale)),
        contacts=max(200, round(20000 * scale)),
        opportunities=max(30, round(3000 * scale)),
    )


def generate(seed: int, scale: float) -> World:
    """The sandbox's world for this seed and scale; equal worlds for equal arguments.

    Everything is drawn from one `random.Random(seed)` and Faker instances seeded from it (never
    the global random, never the wall clock: times are ages in days). Faker only fills small
    per-locale name pools that records then pick from, which keeps scale 1 to a second or two.
    """
    n = counts(scale)
    gen = Generator(seed, World(seed=seed, scale=scale))
    add_members(gen, n.members)
    add_accounts(gen, n.accounts, n.contacts)
    add_opportunities(gen, n.opportunities)
    add_activities(gen)
    add_address_books(gen)
    add_malformed(gen)
    add_duplicates(gen)
    return gen.world


# -- members ------------------------------------------------------------------------------------
def add_members(gen: Generator, n: int) -> None:
    """The first member of each team leads it (a lead's title) and reports to the first lead
    (m-001, the head of sales, who reports to nobody); the others report to their team's lead.
    So every world of two members or more has a hierarchy, three levels deep from seven. It
    draws nothing from the random source: the rest of the world is what it was before."""
    for i in range(n):
        team, region, _segment = T.TEAMS[i % len(T.TEAMS)]
        regional = [c for c in T.COUNTRIES.values() if c.region == region]
        country = gen.rng.choices(regional, [c.weight for c in regional])[0]
        name = gen.person(country)
        lead = i < len(T.TEAMS)
        title = gen.rng.choice(T.LEAD_TITLES if lead else T.REP_TITLES)
        local = f"{slug(name.first_latin)}.{slug(name.last_latin)}"
        gen.world.members.append(
            Member(
                key=f"m-{i + 1:03d}",
                first_name=name.first,
                last_name=name.last,
                email=gen.unique_email(local, T.OUR_DOMAIN),
                team=team,
                country=country.code,
                title=title,
                crms={SALESFORCE, HUBSPOT},
                manager_key=None
                if i == 0
                else "m-001"
                if lead
                else f"m-{i % len(T.TEAMS) + 1:03d}",
            )
        )


# -- accounts and their people --------------------------------------------------------------------
_FORCED_PARENT = {3: 0, 4: 3}  # a three-level hierarchy in every world, however small
_FORCED_CRMS = {0: {SALESFORCE, HUBSPOT}, 1: {HUBSPOT}, 2: {SALESFORCE}}


def add_accounts(gen: Generator, n: int, n_contacts: int) -> None:
    sizes = split_total(gen.rng, n_contacts, n, minimum=3)
    depth: dict[str, int] = {}
    roots: dict[str, Account] = {}  # each account's top-level ancestor (itself at the top)
    for i in range(n):
        parent = _pick_parent(gen, i, depth)
        account = _account(gen, i, parent, parent and roots[parent.key], sizes[i])
        roots[account.key] = roots[parent.key] if parent else account
        depth[account.key] = depth[parent.key] + 1 if parent else 0
        gen.world.accounts.append(account)
        contacts = account_contacts(gen, account, sizes[i])
        gen.by_account[account.key] = contacts
        gen.world.contacts.extend(contacts)


def split_total(rng: random.Random, total: int, parts: int, minimum: int) -> list[int]:
    """`parts` heavy-tailed sizes of at least `minimum` that add up to `total`."""
    minimum = min(minimum, total // parts)
    weights = [min(rng.paretovariate(1.5), 12.0) for _ in range(parts)]
    extra, wsum = total - minimum * parts, sum(weights)
    raw = [extra * w / wsum for w in weights]
    sizes = [minimum + int(r) for r in raw]
    by_fraction = sorted(range(parts), key=lambda j: int(raw[j]) - raw[j])
    for j in by_fraction[: total - sum(sizes)]:
        sizes[j] += 1
    return sizes


def _pick_parent(gen: Generator, i: int, depth: dict[str, int]) -> Account | None:
    accounts = gen.world.accounts
    if i in _FORCED_PARENT:
        return accounts[_FORCED_PARENT[i]]
    if i < 5 or gen.rng.random() >= 0.12:
        return None
    candidates = [a for a in accounts[: max(5, i // 3)] if depth[a.key] < 2]
    return gen.rng.choice(candidates)


def _account(
    gen: Generator, i: int, parent: Account | None, root: Account | None, size: int
) -> Account:
    """A top-level account, or (with `root`) a subsidiary named after its group."""
    rng = gen.rng
    if root is None:
        country = gen.country()
        name, stem = gen.company(country)
        crms = _FORCED_CRMS.get(i) or _draw_crms(rng)
        industry = rng.choice(T.INDUSTRIES)
    else:
        abroad = rng.random() < 0.6
        country = gen.country() if abroad else T.COUNTRIES[root.country]
        word = country.name if abroad else rng.choice(["Services", "Digital", "Solutions"])
        name, stem = f"{root.name} {word}", f"{root.domain.split('.')[0]}-{slug(word)}"
        crms, industry = set(root.crms), root.industry
    segment = "Enterprise" if size >= 12 or root is not None else "Mid-Market"
    return Account(
        key=f"a-{i + 1:05d}",
        name=gen.unique_name(name),
        domain=gen.unique_domain(stem, country.tld),
        country=country.code,
        industry=industry,
        owner_key=gen.owner_for(country.region, segment),
        parent_key=parent.key if parent else None,
        crms=crms,
        age_days=round(rng.uniform(0.5, 400), 3),
    )


def _draw_crms(rng: random.Random) -> set[str]:
    u = rng.random()  # Salesforce holds 80 %, HubSpot 40 %, both 20 %
    return {SALESFORCE} if u < 0.6 else {SALESFORCE, HUBSPOT} if u < 0.8 else {HUBSPOT}


def level_plan(k: int) -> list[str]:
    """Levels of an account's k contacts, top down: a pyramid under one to three C-levels."""
    if k <= 2:
        return ["c_level", "staff"][:k]
    n_c = 1 + (k >= 8) + (k >= 16)
    n_vp = max(int(k >= 5), round(k * 0.10))
    n_dir = max(int(k >= 3), round(k * 0.15))
    n_mgr = max(int(k >= 4), round(k * 0.22))
    n_staff = k - n_c - n_vp - n_dir - n_mgr
    return (["c_level"] * n_c + ["vp"] * n_vp + ["director"] * n_dir + ["manager"] * n_mgr) + [
        "staff"
    ] * n_staff


def account_contacts(gen: Generator, account: Account, k: int) -> list[Contact]:
    rng, start = gen.rng, len(gen.world.contacts)
    fmt = rng.choice(_EMAIL_FORMATS)
    contacts = []
    for j, level in enumerate(level_plan(k)):
        home = T.COUNTRIES[account.country]
        country = home if rng.random() < 0.7 else gen.country()
        name = gen.person(country)
        f, last = slug(name.first_latin), slug(name.last_latin)
        local = fmt.format(f=f, l=last, fi=f[:1], li=last[:1])
        owner = account.owner_key if rng.random() < 0.75 else gen.teammate(account.owner_key)
        contact = Contact(
            key=f"c-{start + j + 1:06d}",
            first_name=name.first,
            last_name=name.last,
            email=gen.unique_email(local, account.domain),
            title=gen.title(country, level, name.female, ceo=j == 0),
            level=level,
            country=country.code,
            account_key=account.key,
            owner_key=owner,
            phone=gen.phone(country) if rng.random() < 0.8 else None,
            second_email=gen.personal_email(local, country.lang) if rng.random() < 0.1 else None,
            crms=set(account.crms),
            age_days=gen.age(),
        )
        contacts.append(contact)
    link_reports_to(rng, contacts)
    return contacts


def link_reports_to(rng: random.Random, contacts: list[Contact]) -> None:
    """Each contact reports to someone one level up (C-levels to the CEO, the first contact)."""
    if not contacts:
        return
    by_level: dict[str, list[Contact]] = defaultdict(list)
    for c in contacts:
        by_level[c.level].append(c)
    ceo = contacts[0]
    for c in contacts[1:]:
        if c.level == "c_level":
            c.reports_to_key = ceo.key
            continue
        above = T.LEVELS[: T.LEVELS.index(c.level)]
        bosses = next(by_level[lv] for lv in reversed(above) if by_level[lv])
        if c.level in ("manager", "staff") and rng.random() < 0.04:
            continue  # an incomplete org chart, as in every real CRM
        c.reports_to_key = rng.choice(bosses).key


# -- deals and activities -----------------------------------------------------------------------
def add_opportunities(gen: Generator, n: int) -> None:
    rng = gen.rng
    stage_names = [s for s, _ in T.STAGES]
    weights = [6, 6, 6, 6, 6, 6, 6, 6, 26, 26]
    stages = stage_names + rng.choices(stage_names, weights, k=max(0, n - len(stage_names)))
    rng.shuffle(stages)
    accounts = gen.world.accounts
    picks = rng.choices(accounts, [len(gen.by_account[a.key]) for a in accounts], k=n)
    for i, (account, stage) in enumerate(zip(picks, stages[:n], strict=True)):
        gen.world.opportunities.append(_opportunity(gen, i, account, stage))


def _opportunity(gen: Generator, i: int, account: Account, stage: str) -> Opportunity:
    rng = gen.rng
    currency = T.COUNTRIES[account.country].currency
    usd = min(max(rng.lognormvariate(10.6, 1.0), 2_000), 3_000_000)
    amount = float(round(usd * T.FX_PER_USD[currency], -2))
    closed, won = stage.startswith("Closed"), stage == "Closed Won"
    close_in = -rng.uniform(1, 540) if closed else rng.uniform(-15, 200)
    age = -close_in + rng.uniform(0, 5) if closed else rng.uniform(0.05, 60)
    crm = rng.choice(sorted(account.crms)) if len(account.crms) > 1 else next(iter(account.crms))
    owner = account.owner_key if rng.random() < 0.8 else gen.teammate(account.owner_key)
    return Opportunity(
        key=f"o-{i + 1:05d}",
        name=f"{account.name} - {rng.choice(T.DEAL_KINDS)}",
        account_key=account.key,
        owner_key=owner,
        amount=amount,
        currency=currency,
        stage=stage,
        is_closed=closed,
        is_won=won,
        close_in_days=round(close_in, 3),
        roles=_roles(gen, account, owner),
        crms={crm},
        age_days=round(age, 3),
    )


def _roles(gen: Generator, account: Account, owner_key: str) -> list[ContactRole]:
    people = gen.by_account[account.key]
    chosen = gen.rng.sample(people, min(len(people), gen.rng.choice([1, 2, 2, 3, 3, 4])))
    chosen.sort(key=lambda c: T.LEVELS.index(c.level))
    for c in chosen:
        gen.worked_with[owner_key].add(c.key)
    return [
        ContactRole(c.key, gen.rng.choice(T.ROLES_BY_LEVEL[c.level]), is_primary=j == 0)
        for j, c in enumerate(chosen)
    ]


def add_activities(gen: Generator) -> None:
    rng, members = gen.rng, gen.world.members
    kinds, kind_weights = ["call", "email", "meeting", "task"], [3, 4, 2, 2]
    for contact in list(gen.world.contacts):
        for _ in range(rng.choices(range(7), [6, 14, 28, 24, 14, 9, 5])[0]):
            u = rng.random()
            member = (
                contact.owner_key
                if u < 0.55
                else gen.teammate(contact.owner_key)
                if u < 0.85
                else rng.choice(members).key
            )
            kind = rng.choices(kinds, kind_weights)[0]
            gen.worked_with[member].add(contact.key)
            crms = sorted(contact.crms)
            gen.world.activities.append(
                Activity(
                    key=f"act-{len(gen.world.activities) + 1:06d}",
                    kind=kind,
                    subject=rng.choice(T.ACTIVITY_SUBJECTS[kind]),
                    member_key=member,
                    contact_key=contact.key,
                    days_ago=_activity_age(rng),
                    crms={rng.choice(crms)},
                )
            )


def _activity_age(rng: random.Random) -> float:
    u = rng.random()  # recent, this half-year, and old
    low, high = (0.0, 30.0) if u < 0.35 else (30.0, 180.0) if u < 0.75 else (180.0, 900.0)
    return round(rng.uniform(low, high), 3)
