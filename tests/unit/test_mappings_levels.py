"""Property tests of the title -> level transform: the shipped rules, case and accents, c-level
words anywhere, assistants, and the first matching rule winning."""

from __future__ import annotations

import string

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mappings.loader import compile_levels, default_levels
from mappings.transforms import LEVELS, Opts, level, plain

LEVEL_OPTS = Opts(levels=compile_levels(default_levels()))


# -- title -> level -------------------------------------------------------------------------------

TITLES = {
    "c_level": [
        "CEO",
        "Chief Executive Officer",
        "Chief Information Security Officer",
        "President & CEO",
        "Co-Founder",
        "Managing Director",
        "Chairman of the Board",
        "Owner",
        "Geschäftsführer",
        "Geschäftsführerin",
        "Vorstandsvorsitzender",
        "Inhaber",
        "Président-directeur général",
        "PDG",
        "Directrice générale",
        "Fondatrice",
        "Director General",
        "Consejero Delegado",
        "Gerente General",
        "Presidenta",
        "Amministratore Delegato",
        "Direttore Generale",
        "Fondatore",
        "Algemeen Directeur",
        "Directeur-eigenaar",
        "Oprichter",
        "Voorzitter raad van bestuur",
    ],
    "vp": [
        "Vice President Sales",
        "SVP Engineering",
        "VP, Marketing",
        "Executive Vice President",
        "Vizepräsident Vertrieb",
        "Bereichsleiterin Einkauf",
        "Stellvertretender Geschäftsführer",
        "Vice-président exécutif",
        "Directeur général adjoint",
        "Vicepresidente de ventas",
        "Vicepresidente commerciale",
        "Vicepresident Operations",
        "General Manager EMEA",
    ],
    "director": [
        "Director of Sales",
        "Senior Director, Product",
        "Head of IT",
        "Chief of Staff",
        "Vertriebsleiter",
        "Leiterin Marketing",
        "Abteilungsleiter Einkauf",
        "Direktor",
        "Directeur commercial",
        "Directrice des achats",
        "Directora de Marketing",
        "Direttore commerciale",
        "Directeur Operations",
        "Hoofd Inkoop",
    ],
    "manager": [
        "Sales Manager",
        "Team Lead",
        "Teamleiter Vertrieb",
        "Projektleiterin",
        "Produktmanager",
        "Chef de projet",
        "Responsable marketing",
        "Jefe de ventas",
        "Gerente de cuentas",
        "Responsabile acquisti",
        "Capo reparto",
        "Teamleider klantenservice",
        "Accountmanager",
    ],
    "staff": [
        "Software Engineer",
        "Account Executive",
        "Executive Assistant",
        "Assistant to the CEO",
        "Intern",
        "Product Owner",
        "Sachbearbeiterin",
        "Assistentin der Geschäftsführung",
        "Vorstandsassistentin",
        "Werkstudent",
        "Ingénieur commercial",
        "Chargée de mission",
        "Assistante de direction",
        "Analista financiero",
        "Asistente de dirección",
        "Impiegata amministrativa",
        "Consulente",
        "Medewerker inkoop",
        "Directieassistente",
    ],
    "unknown": ["Bob", "n/a", "-"],
}


@pytest.mark.parametrize(
    ("title", "want"), [(t, lvl) for lvl, titles in TITLES.items() for t in titles]
)
def test_shipped_level_rules(title: str, want: str) -> None:
    assert level(title, LEVEL_OPTS) == want


@given(st.text(max_size=50))
def test_level_is_always_one_of_the_levels(title: str) -> None:
    assert level(title, LEVEL_OPTS) in LEVELS


@given(st.text(alphabet=string.ascii_letters + " ,&-/", max_size=40))
def test_level_ignores_case(title: str) -> None:
    want = level(title, LEVEL_OPTS)
    assert level(title.upper(), LEVEL_OPTS) == want
    assert level(title.lower(), LEVEL_OPTS) == want


@given(st.sampled_from([t for ts in TITLES.values() for t in ts]))
def test_level_ignores_accents(title: str) -> None:
    assert level(plain(title), LEVEL_OPTS) == level(title, LEVEL_OPTS)


# words without vowels cannot spell any keyword of the rules
filler = st.lists(st.from_regex(r"[bcfhjklmnqstwxz]{2,7}", fullmatch=True), max_size=4)


@given(filler, filler, st.sampled_from(["CEO", "Chief Financial Officer", "Geschäftsführer"]))
def test_a_c_level_word_anywhere_makes_c_level(before: list[str], after: list[str], w: str) -> None:
    assert level(" ".join([*before, w, *after]), LEVEL_OPTS) == "c_level"


@given(filler, st.sampled_from(["CEO", "Managing Director", "Vorstand"]))
def test_the_assistant_of_a_c_level_is_staff(words: list[str], boss: str) -> None:
    assert level(" ".join([*words, "Assistant to the", boss]), LEVEL_OPTS) == "staff"


def test_first_matching_rule_wins() -> None:
    from mappings.schema import LevelRule

    rules = [LevelRule(level="staff", match=["engineer"]), LevelRule(level="vp", match=["vp"])]
    opts = Opts(levels=compile_levels(rules))
    assert level("VP Engineering", opts) == "staff"
    assert level("VP Sales", opts) == "vp"
    assert level("Nurse", opts) == "unknown"
