"""The state and drawing helpers the seed generator's steps share: one seeded `random.Random`,
per-locale Faker name pools, and the registries that keep emails, domains and names unique.
"""

from __future__ import annotations

import random
import re
import unicodedata
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from faker import Faker

from sandbox import seed_tables as T
from sandbox.world import Contact, Member, World

_TRANSLIT = str.maketrans({"ß": "ss", "æ": "ae", "Æ": "Ae", "ø": "o", "Ø": "O", "ł": "l", "đ": "d"})
_POOL_SIZE = {"male": 150, "female": 150, "last": 250}


def ascii_fold(text: str) -> str:
    """Lower-case ASCII for an email or domain ('Müller' -> 'muller', 'Groß' -> 'gross')."""
    folded = unicodedata.normalize("NFKD", text.translate(_TRANSLIT))
    return folded.encode("ascii", "ignore").decode().lower()


def slug(text: str, sep: str = "") -> str:
    return re.sub(r"[^a-z0-9]+", sep, ascii_fold(text)).strip(sep)


def case_variant(email: str, rng: random.Random) -> str:
    """The same address with other letter case ('john.doe@acme.com' -> 'John.Doe@acme.com')."""
    local, _, domain = email.partition("@")
    options = [
        f"{local.title()}@{domain}",
        email.upper(),
        f"{local}@{domain.upper()}",
        f"{local.title()}@{domain.title()}",
    ]
    start = rng.randrange(len(options))
    for k in range(len(options)):
        candidate = options[(start + k) % len(options)]
        if candidate != email:
            return candidate
    return email.upper()


@dataclass
class PersonName:
    first: str  # as written in the CRM
    last: str
    first_latin: str  # romanized, for email addresses
    last_latin: str
    female: bool


@dataclass
class _Pool:
    male: list[tuple[str, str]]  # (native, latin)
    female: list[tuple[str, str]]
    last: list[tuple[str, str]]


def _draw_pool(fake: Faker, locale: str) -> _Pool:
    def unique(draw: Callable[[], Any], n: int) -> list[tuple[str, str]]:
        seen: dict[str, tuple[str, str]] = {}
        for _ in range(n * 2):
            value = draw()
            pair = (value[0], value[2]) if isinstance(value, tuple) else (value, value)
            seen.setdefault(pair[0], pair)
            if len(seen) >= n:
                break
        return list(seen.values())

    draws: tuple[Callable[[], Any], ...]
    if locale == "ja_JP":  # (kanji, kana, romanized)
        draws = (fake.first_name_male_pair, fake.first_name_female_pair, fake.last_name_pair)
    else:
        draws = (fake.first_name_male, fake.first_name_female, fake.last_name)
    male, female, last = (unique(d, _POOL_SIZE[k]) for d, k in zip(draws, _POOL_SIZE, strict=True))
    return _Pool(male, female, last)


@dataclass
class Generator:
    """The state one `generate` call shares between its steps."""

    seed: int
    world: World
    rng: random.Random = field(init=False)
    emails: set[str] = field(default_factory=set)  # lower-cased, every address handed out
    domains: set[str] = field(default_factory=set)
    account_names: set[str] = field(default_factory=set)
    by_account: dict[str, list[Contact]] = field(default_factory=lambda: defaultdict(list))
    worked_with: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    _fakers: dict[str, Faker] = field(default_factory=dict)
    _pools: dict[str, _Pool] = field(default_factory=dict)
    _members: dict[str, Member] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.rng = random.Random(self.seed)
        self.country_codes = list(T.COUNTRIES)
        self.country_weights = [c.weight for c in T.COUNTRIES.values()]

    # -- Faker, seeded per locale from the world's seed ----------------------------------------
    def faker(self, locale: str) -> Faker:
        if locale not in self._fakers:
            fake = Faker(locale)
            fake.seed_instance(random.Random(f"{self.seed}:{locale}").getrandbits(32))
            self._fakers[locale] = fake
        return self._fakers[locale]

    def pool(self, locale: str) -> _Pool:
        if locale not in self._pools:
            self._pools[locale] = _draw_pool(self.faker(locale), locale)
        return self._pools[locale]

    # -- people ------------------------------------------------------------------------------------
    def country(self) -> T.Country:
        code = self.rng.choices(self.country_codes, self.country_weights)[0]
        return T.COUNTRIES[code]

    def person(self, country: T.Country) -> PersonName:
        pool = self.pool(country.locale)
        female = self.rng.random() < 0.45
        first = self.rng.choice(pool.female if female else pool.male)
        last = self.rng.choice(pool.last)
        if country.code == "JP" and self.rng.random() < 0.4:  # romanized in the CRM
            first, last = (first[1], first[1]), (last[1], last[1])
        return PersonName(first[0], last[0], first[1], last[1], female)

    def title(self, country: T.Country, level: str, female: bool, ceo: bool = False) -> str:
        local = country.lang != "en" and self.rng.random() < 0.45
        lang = country.lang if local else "en"
        template = self.rng.choice(T.TITLES[lang]["ceo" if ceo else level])
        male_form, _, female_form = template.partition("|")
        text = female_form if female and female_form else male_form
        return text.replace("{dept}", self.rng.choice(T.DEPARTMENTS[lang]))

    def phone(self, country: T.Country) -> str:
        r = self.rng
        if country.dial == "1":
            return f"+1 {r.randint(201, 989)}-{r.randint(200, 999)}-{r.randint(0, 9999):04d}"
        return f"+{country.dial} {r.randint(10, 99)} {r.randint(1000000, 9999999)}"

    def age(self) -> float:
        """Days since a record was last modified: some today, most within the year."""
        u = self.rng.random()
        high = 1.0 if u < 0.1 else 30.0 if u < 0.4 else 365.0 if u < 0.9 else 1000.0
        return round(self.rng.uniform(0.01, high), 3)

    # -- unique emails, domains, names -------------------------------------------------------
    def unique_email(self, local: str, domain: str) -> str:
        local = re.sub(r"[^a-z0-9._-]+", "", local.lower()).strip(".") or "info"
        email, n = f"{local}@{domain}", 1
        while email in self.emails:
            n += 1
            email = f"{local}{n}@{domain}"
        self.emails.add(email)
        return email

    def personal_email(self, local: str, lang: str) -> str:
        domain = self.rng.choice(T.PERSONAL_DOMAINS.get(lang, T.PERSONAL_DOMAINS["en"]))
        return self.unique_email(f"{local}{self.rng.randint(1, 99)}", domain)

    def unique_domain(self, stem: str, tld: str) -> str:
        domain, n = f"{stem}.{tld}", 1
        while domain in self.domains:
            n += 1
            domain = f"{stem}{n}.{tld}"
        self.domains.add(domain)
        return domain

    def unique_name(self, name: str) -> str:
        candidate, n = name, 1
        while candidate in self.account_names:
            n += 1
            candidate = f"{name} ({n})"
        self.account_names.add(candidate)
        return candidate

    def company(self, country: T.Country) -> tuple[str, str]:
        """A company name and the stem of its domain."""
        if country.code == "JP":
            kanji, _kana, roman = self.faker(country.locale).last_name_pair()
            jp_word, en_word = self.rng.choice(T.JP_COMPANY_WORDS)
            stem = f"{slug(roman)}-{slug(en_word)}"
            if self.rng.random() < 0.4:
                return f"株式会社{kanji}{jp_word}", stem
            return f"{roman} {en_word} Co., Ltd.", stem
        name = self.faker(country.locale).company()
        words = [w for w in re.split(r"[^a-z0-9]+", ascii_fold(name)) if w]
        kept = [w for w in words if w not in T.COMPANY_STOPWORDS][:2] or words[:1] or ["company"]
        return name, "-".join(kept)

    # -- our members ---------------------------------------------------------------------------
    def member(self, key: str) -> Member:
        if len(self._members) != len(self.world.members):
            self._members = {m.key: m for m in self.world.members}
        return self._members[key]

    def teammate(self, member_key: str) -> str:
        """Another member of the same team (the member itself when it is alone)."""
        team = self.member(member_key).team
        mates = [m.key for m in self.world.members if m.team == team and m.key != member_key]
        return self.rng.choice(mates) if mates else member_key

    def owner_for(self, region: str, segment: str) -> str:
        teams = [t for t, reg, seg in T.TEAMS if reg == region and seg in ("", segment)]
        keys = [m.key for m in self.world.members if m.team in teams]
        if not keys:  # a small world may have nobody in that segment or region
            keys = [m.key for m in self.world.members if m.team.startswith(region)]
        return self.rng.choice(keys or [m.key for m in self.world.members])
