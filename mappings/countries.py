"""Country names and codes, as people type them into a CRM, to ISO 3166-1 alpha-2 codes.

Built from pycountry (ISO codes, English names and their translations) plus the aliases people use
("UK", "USA", "Holland", "Deutschland", "EE.UU."): `country_code("Allemagne") == "DE"`.
"""

from __future__ import annotations

import gettext
import re
import unicodedata
from functools import cache, lru_cache

import pycountry

# Languages whose country names we accept, besides English (the ones sales teams here write in).
LANGUAGES = ("de", "fr", "es", "it", "nl", "pt")

# Names and abbreviations in common use that ISO and its translations do not list, by code.
_ALIASES: dict[str, tuple[str, ...]] = {
    "GB": (
        *("uk", "u k", "great britain", "britain", "england", "scotland", "wales"),
        *("northern ireland", "grossbritannien", "grande bretagne", "gran bretana"),
        *("gran bretagna", "groot brittannie", "engeland", "angleterre", "inglaterra"),
        "inghilterra",
    ),
    "US": (
        *("usa", "u s", "u s a", "america", "united states of america", "the united states"),
        *("us of a", "eeuu", "ee uu", "e u a", "vereinigte staaten von amerika", "amerika"),
        *("etats unis d amerique", "stati uniti d america", "verenigde staten van amerika"),
    ),
    "NL": ("holland", "the netherlands", "niederlande", "paises bajos"),
    "DE": ("brd", "germany", "allemagne", "alemania", "germania", "duitsland", "deutschland"),
    "RU": ("russia", "russland", "russie", "rusia"),
    "KR": (
        *("south korea", "korea", "republic of korea", "sudkorea", "coree du sud"),
        *("corea del sur", "corea del sud", "zuid korea"),
    ),
    "KP": ("north korea", "nordkorea"),
    "CZ": ("czech republic", "tschechien", "republique tcheque"),
    "TR": ("turkey", "turkiye", "turkei"),
    "VN": ("vietnam", "viet nam"),
    "MO": ("macau", "macao"),
    "AE": ("uae", "u a e", "emirates"),
    "CI": ("ivory coast", "cote d ivoire"),
    "VA": ("vatican", "holy see"),
    "CH": ("schweiz", "suisse", "svizzera", "zwitserland", "suiza"),
    "AT": ("oesterreich", "osterreich"),
    "GR": ("el",),  # the EU's own code for Greece
    "IR": ("iran",),
    "SY": ("syria",),
    "LA": ("laos",),
    "BO": ("bolivia",),
    "VE": ("venezuela",),
    "TZ": ("tanzania",),
    "MD": ("moldova",),
    "TW": ("taiwan",),
    "HK": ("hong kong",),
    "CV": ("cape verde",),
    "SZ": ("swaziland",),
    "MM": ("burma",),
    "MK": ("macedonia",),
    "PS": ("palestine",),
    "BN": ("brunei",),
    "FM": ("micronesia",),
}
ALIASES: dict[str, str] = {name: code for code, names in _ALIASES.items() for name in names}
_SPACES = re.compile(r"[^0-9a-z]+")


def fold(text: str) -> str:
    """A name as a lookup key: no accents, lower case, runs of punctuation and spaces as one
    space, a leading "the" dropped. "Côte d'Ivoire" -> "cote d ivoire"."""
    plain = unicodedata.normalize("NFKD", text)
    plain = "".join(c for c in plain if not unicodedata.combining(c)).casefold()
    key = _SPACES.sub(" ", plain.replace("ß", "ss")).strip()
    return key.removeprefix("the ") if key.startswith("the ") and len(key) > 4 else key


def _names(country: object) -> list[str]:
    return [
        n
        for attr in ("name", "common_name", "official_name")
        if (n := getattr(country, attr, None))
    ]


@cache
def _table() -> dict[str, str]:
    """fold(name or code) -> alpha-2; aliases first, then ISO English names, then translations."""
    table: dict[str, str] = {fold(k): v for k, v in ALIASES.items()}
    countries = list(pycountry.countries)
    for c in countries:
        table.setdefault(c.alpha_2.lower(), c.alpha_2)
        table.setdefault(c.alpha_3.lower(), c.alpha_2)
        for name in _names(c):
            table.setdefault(fold(name), c.alpha_2)
    for lang in LANGUAGES:
        try:
            tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
        except OSError:  # a pycountry build without that language's catalogue
            continue
        for c in countries:
            for name in _names(c):
                table.setdefault(fold(tr.gettext(name)), c.alpha_2)
    return table


@lru_cache(maxsize=4096)
def country_code(text: str) -> str | None:
    """The ISO 3166-1 alpha-2 code of a country name or code, or None if it is not one."""
    key = fold(text)
    if not key:
        return None
    found = _table().get(key)
    if found is None and "," in text:  # "Korea, Republic of" style: try "Republic of Korea"
        head, _, tail = text.partition(",")
        found = _table().get(fold(f"{tail} {head}"))
    return found
