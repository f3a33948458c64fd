"""Seed steps that make the world untidy the way real ones are: Exchange address books that
overlap the CRMs imperfectly, malformed contact data, duplicates and already-made merges.
"""

from __future__ import annotations

import random
import unicodedata
from collections import defaultdict

from sandbox import seed_tables as T
from sandbox.seed_base import Generator, case_variant, slug
from sandbox.world import (
    HUBSPOT,
    SALESFORCE,
    Account,
    Activity,
    AddressBookEntry,
    Contact,
    Member,
    Merge,
)

MALFORMED_KINDS = ("no_email", "bad_email", "long_name", "unicode", "html", "email_format")
_CJK_NAMES = [("伟", "王"), ("娜", "李"), ("민준", "김"), ("静", "张")]


# -- Exchange address books ---------------------------------------------------------------------
def add_address_books(gen: Generator) -> None:
    """Each member's mailbox: CRM people they own or worked with, plus private people."""
    world, rng = gen.world, gen.rng
    factor = world.scale * 50 / len(world.members)  # 50-300 entries a member at scale 1
    owned: dict[str, set[str]] = defaultdict(set)
    for c in world.contacts:
        owned[c.owner_key].add(c.key)
    contacts = {c.key: c for c in world.contacts}
    accounts = {a.key: a for a in world.accounts}
    for member in world.members:
        size = max(5, round(rng.randint(50, 300) * factor))
        known = sorted(owned[member.key] | gen.worked_with[member.key])
        n_crm = min(len(known), round(size * rng.uniform(0.5, 0.7)))
        picks = rng.sample(known, n_crm)
        with_second = [j for j, key in enumerate(picks) if contacts[key].second_email]
        if n_crm >= 2 and with_second:  # slot 1 shows a second address: the CRM's when it can
            picks[1], picks[with_second[0]] = picks[with_second[0]], picks[1]
        entries = []
        for j, key in enumerate(picks):
            contact = contacts[key]
            entries.append(_crm_entry(gen, member, contact, accounts[contact.account_key], j))
        if n_crm >= 4 and n_crm < size and rng.random() < 0.5:  # the same person filed twice
            entries.append(_refiled(gen, rng.choice(entries)))
        entries += [_private_entry(gen, member) for _ in range(size - len(entries))]
        for entry in entries:
            entry.key = f"ab-{len(world.address_books) + 1:06d}"
            world.address_books.append(entry)


def _variant(rng: random.Random, j: int) -> str:
    """How an entry's email relates to the CRM's; every mailbox has a case and a second one."""
    if j < 2:
        return ("case", "second")[j]
    return rng.choices(["same", "case", "second", "none"], [55, 25, 15, 5])[0]


def _crm_entry(
    gen: Generator, member: Member, contact: Contact, account: Account, j: int
) -> AddressBookEntry:
    rng, email = gen.rng, contact.email or ""
    variant = _variant(rng, j) if email else "none"
    emails = {"same": [email], "case": [case_variant(email, rng)], "none": []}.get(variant)
    if emails is None:  # a second address: the CRM's second email, or one only Outlook knows
        lang = T.COUNTRIES[contact.country].lang
        second = contact.second_email or gen.personal_email(email.split("@")[0], lang)
        emails = [second] if rng.random() < 0.6 else [second, email]
    return AddressBookEntry(
        key="",
        member_key=member.key,
        folder="Contacts" if rng.random() < 0.75 else rng.choice(T.ADDRESS_BOOK_FOLDERS),
        given_name=contact.first_name,
        surname=contact.last_name,
        emails=emails,
        company=account.name if rng.random() < 0.9 else None,
        job_title=contact.title if rng.random() < 0.8 else None,
        phone=contact.phone if rng.random() < 0.7 else None,
        contact_key=contact.key,
        age_days=gen.age(),
    )


def _private_entry(gen: Generator, member: Member) -> AddressBookEntry:
    """Someone in no CRM: a friend, a former colleague, a recruiter, a supplier."""
    rng = gen.rng
    country = T.COUNTRIES[member.country] if rng.random() < 0.7 else gen.country()
    name = gen.person(country)
    local = f"{slug(name.first_latin)}.{slug(name.last_latin)}"
    company, u = None, rng.random()
    if u < 0.55:
        emails = [gen.personal_email(local, country.lang)]
    elif u < 0.9:
        company, stem = gen.company(country)
        domain = f"{stem}-mail.{country.tld}" if f"{stem}.{country.tld}" in gen.domains else ""
        emails = [gen.unique_email(local, domain or f"{stem}.{country.tld}")]
    else:
        emails = []
    level = rng.choice(T.LEVELS[1:])
    return AddressBookEntry(
        key="",
        member_key=member.key,
        folder="Contacts" if rng.random() < 0.7 else rng.choice(T.PRIVATE_FOLDERS),
        given_name=name.first,
        surname=name.last,
        emails=emails,
        company=company,
        job_title=gen.title(country, level, name.female) if company else None,
        phone=gen.phone(country) if rng.random() < 0.6 else None,
        age_days=gen.age(),
    )


def _refiled(gen: Generator, entry: AddressBookEntry) -> AddressBookEntry:
    emails = [case_variant(e, gen.rng) for e in entry.emails]
    return AddressBookEntry(
        key="",
        member_key=entry.member_key,
        folder=gen.rng.choice(T.ADDRESS_BOOK_FOLDERS),
        given_name=entry.given_name,
        surname=entry.surname,
        emails=emails,
        company=entry.company,
        job_title=None,
        contact_key=entry.contact_key,
        age_days=gen.age(),
    )


# -- malformed data -----------------------------------------------------------------------------
def add_malformed(gen: Generator) -> None:
    """Spoil a few contacts the ways real CRM data is spoilt, tagging each in `malformed`."""
    world = gen.world
    candidates = [c for c in world.contacts if c.level != "c_level" and c.email]
    per_kind = max(2, round(len(world.contacts) * 0.004))
    picks = gen.rng.sample(candidates, min(len(candidates), per_kind * len(MALFORMED_KINDS)))
    for i, contact in enumerate(picks):
        kind = MALFORMED_KINDS[i % len(MALFORMED_KINDS)]
        _spoil(gen, contact, kind, i // len(MALFORMED_KINDS))
        contact.malformed = kind


def _spoil(gen: Generator, c: Contact, kind: str, n: int) -> None:
    email = c.email or ""
    local, _, domain = email.partition("@")
    if kind == "no_email":
        c.email = None
    elif kind == "bad_email":
        bad = [f"{local}@", "n/a", f"{local}(at){domain}", f"{local}@@{domain}", "none", local]
        c.email = bad[n % len(bad)]
    elif kind == "email_format":
        c.email = f"  {email.upper()} " if n % 2 == 0 else f"{email.title()} "
    elif kind == "long_name":
        pool = gen.pool(T.COUNTRIES[c.country].locale).last
        parts = [c.last_name]
        while len("-".join(parts)) < 310:
            parts.append(gen.rng.choice(pool)[0])
        c.last_name = "-".join(parts)
    elif kind == "unicode":
        _unicode_name(c, n)
    elif kind == "html":
        if n % 2 == 0:
            c.title = f"<b>{c.title}</b>"
        else:
            c.last_name = f"{c.last_name}<script>alert('x')</script>"


def _unicode_name(c: Contact, n: int) -> None:
    if n % 3 == 0:
        c.first_name = f"{c.first_name} 🚀"
    elif n % 3 == 1:  # decomposed accents: 'Núñez' as N, u, U+0301, n, U+0303, e, z
        c.last_name = unicodedata.normalize("NFD", f"{c.last_name}-Núñez")
    else:
        c.first_name, c.last_name = _CJK_NAMES[(n // 3) % len(_CJK_NAMES)]


# -- duplicates and merges ------------------------------------------------------------------------
def add_duplicates(gen: Generator) -> None:
    """Duplicate contacts (half of them already merged away) and merged-away accounts, per CRM."""
    _duplicate_contacts(gen, max(4, round(len(gen.world.contacts) * 0.01)))
    _duplicate_accounts(gen, max(2, round(len(gen.world.accounts) * 0.005)))


def _duplicate_contacts(gen: Generator, n: int) -> None:
    world, rng = gen.world, gen.rng
    for crm in (SALESFORCE, HUBSPOT):
        eligible = [c for c in world.contacts if crm in c.crms and c.malformed is None and c.email]
        for i, orig in enumerate(rng.sample(eligible, min(len(eligible), n // 2))):
            dup = _duplicate_contact(gen, orig, crm)
            world.contacts.append(dup)
            if i % 2 == 0:
                world.merges.append(Merge(crm, _object(crm, "contact"), orig.key, dup.key))
                continue
            world.activities.append(  # a live duplicate that someone logged a call against
                Activity(
                    key=f"act-{len(world.activities) + 1:06d}",
                    kind="call",
                    subject="Follow-up call",
                    member_key=dup.owner_key,
                    contact_key=dup.key,
                    days_ago=round(rng.uniform(1, 90), 3),
                    crms={crm},
                )
            )


def _duplicate_accounts(gen: Generator, n: int) -> None:
    world, rng = gen.world, gen.rng
    merged: set[str] = set()
    for i in range(n):
        crm = (SALESFORCE, HUBSPOT)[i % 2]
        tops = [
            a
            for a in world.accounts
            if crm in a.crms
            and a.parent_key is None
            and a.key not in merged
            and "-dup-" not in a.key
        ]
        if not tops:
            continue
        orig = tops[rng.randrange(len(tops))]
        merged.add(orig.key)
        dup = _duplicate_account(gen, orig, crm)
        world.accounts.append(dup)
        world.merges.append(Merge(crm, _object(crm, "account"), orig.key, dup.key))


def _object(crm: str, kind: str) -> str:
    names = {"contact": ("Contact", "contacts"), "account": ("Account", "companies")}
    return names[kind][0 if crm == SALESFORCE else 1]


def _duplicate_contact(gen: Generator, orig: Contact, crm: str) -> Contact:
    rng, email = gen.rng, orig.email or ""
    if crm == SALESFORCE:  # Salesforce lets two contacts share an address
        dup_email: str | None = email if rng.random() < 0.6 else case_variant(email, rng)
    elif rng.random() < 0.7:  # HubSpot does not: the duplicate came in with another address
        dup_email = gen.personal_email(email.split("@")[0], T.COUNTRIES[orig.country].lang)
    else:
        dup_email = None
    tag = "sf" if crm == SALESFORCE else "hs"
    return Contact(
        key=f"{orig.key}-dup-{tag}",
        first_name=orig.first_name,
        last_name=orig.last_name,
        email=dup_email,
        title=orig.title,
        level=orig.level,
        country=orig.country,
        account_key=orig.account_key,
        owner_key=orig.owner_key if rng.random() < 0.5 else gen.teammate(orig.owner_key),
        phone=orig.phone,
        crms={crm},
        age_days=round(orig.age_days + rng.uniform(30, 400), 3),
    )


def _duplicate_account(gen: Generator, orig: Account, crm: str) -> Account:
    country = T.COUNTRIES[orig.country]
    name = orig.name.upper() if gen.rng.random() < 0.5 else f"{orig.name} ({country.name})"
    tag = "sf" if crm == SALESFORCE else "hs"
    return Account(
        key=f"{orig.key}-dup-{tag}",
        name=name,
        domain=orig.domain,
        country=orig.country,
        industry=orig.industry,
        owner_key=orig.owner_key,
        crms={crm},
        age_days=round(orig.age_days + gen.rng.uniform(30, 400), 3),
    )
