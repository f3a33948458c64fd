"""Property tests of the mapping transforms: emails, countries, stage -> status, domains, times,
numbers and flags (title -> level is in test_mappings_levels.py)."""

from __future__ import annotations

import gettext
from datetime import UTC, datetime, timedelta

import pycountry
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from mappings.countries import LANGUAGES, country_code
from mappings.transforms import (
    Bad,
    Opts,
    boolean,
    domain,
    email,
    join,
    number,
    stage,
    to_date,
    to_datetime,
)

NO = Opts()

# -- email ----------------------------------------------------------------------------------------

local_part = st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9._%+-]{0,20}[a-zA-Z0-9]", fullmatch=True).filter(
    lambda s: ".." not in s
)
label = st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,10}[a-zA-Z0-9])?", fullmatch=True)
host = st.builds(
    lambda labels, tld: ".".join([*labels, tld]),
    st.lists(label, min_size=1, max_size=3),
    st.from_regex(r"[a-zA-Z]{2,6}", fullmatch=True),
)
address = st.builds(lambda a, b: f"{a}@{b}", local_part, host)
padding = st.text(" \t\n", max_size=3)


@given(address, padding, padding)
def test_a_valid_email_is_trimmed_and_lower_cased(addr: str, before: str, after: str) -> None:
    assert email(before + addr + after, NO) == addr.lower()


@given(address)
def test_email_unwraps_mailto_and_display_names(addr: str) -> None:
    assert email(f"MAILTO:{addr}", NO) == addr.lower()
    assert email(f'"Doe, Jane" <{addr}>', NO) == addr.lower()


@given(st.text(max_size=60))
def test_email_of_any_text_is_a_normal_form_or_a_problem(text: str) -> None:
    try:
        out = email(text, NO)
    except Bad as exc:
        assert "not a valid email address" in str(exc)
        return
    if out is None:
        assert text.strip() == "" or text.strip().lower() in ("mailto:", "<>")
        return
    assert out == out.lower().strip()
    assert out.count("@") >= 1 and not any(c.isspace() for c in out)
    assert email(out, NO) == out  # idempotent


@given(local_part, host, st.sampled_from([" ", "..", "@", ",", "\t"]))
def test_broken_addresses_are_problems_not_crashes(local: str, dom: str, junk: str) -> None:
    with pytest.raises(Bad):
        email(f"{local}{junk}x@{dom}" if junk != "@" else f"{local}@@{dom}", NO)


@pytest.mark.parametrize(
    "text",
    [
        "bob",
        "bob@",
        "@example.com",
        "bob@localhost",
        "bob@-x.com",
        "bob@example.123",
        "a b@example.com",
        ".bob@example.com",
    ],
)
def test_known_invalid_emails(text: str) -> None:
    with pytest.raises(Bad):
        email(text, NO)


# -- countries ------------------------------------------------------------------------------------

countries = st.sampled_from(list(pycountry.countries))


def _case(text: str, how: int) -> str:
    return [text, text.upper(), text.lower(), text.title()][how % 4]


@given(countries, st.integers(0, 3), padding)
def test_every_iso_code_and_name_gives_its_alpha2(c: object, how: int, pad: str) -> None:
    code = c.alpha_2  # type: ignore[attr-defined]
    assert country_code(_case(code, how)) == code
    assert country_code(pad + _case(c.alpha_3, how) + pad) == code  # type: ignore[attr-defined]
    assert country_code(_case(c.name, how)) == code  # type: ignore[attr-defined]


@given(countries, st.sampled_from(LANGUAGES))
def test_country_names_in_other_languages(c: object, lang: str) -> None:
    tr = gettext.translation("iso3166-1", pycountry.LOCALES_DIR, languages=[lang])
    assert country_code(tr.gettext(c.name)) == c.alpha_2  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("text", "code"),
    [
        ("Deutschland", "DE"),
        ("Allemagne", "DE"),
        ("UK", "GB"),
        ("U.K.", "GB"),
        ("USA", "US"),
        ("United States of America", "US"),
        ("EE.UU.", "US"),
        ("Holland", "NL"),
        ("The Netherlands", "NL"),
        ("Schweiz", "CH"),
        ("España", "ES"),
        ("Brasil", "BR"),
        ("Vereinigtes Königreich", "GB"),
        ("Royaume-Uni", "GB"),
        ("Korea, Republic of", "KR"),
        ("South Korea", "KR"),
        ("Türkiye", "TR"),
        ("Côte d'Ivoire", "CI"),
        ("Österreich", "AT"),
    ],
)
def test_country_aliases(text: str, code: str) -> None:
    assert country_code(text) == code


@given(st.text(max_size=30))
def test_country_of_any_text_is_an_iso_code_or_none(text: str) -> None:
    code = country_code(text)
    assert code is None or pycountry.countries.get(alpha_2=code) is not None


def test_an_unknown_country_is_a_problem_naming_it() -> None:
    from mappings.transforms import country

    with pytest.raises(Bad, match="unknown country 'Narnia'"):
        country("Narnia", NO)


# -- stage -> status ------------------------------------------------------------------------------

flag = st.sampled_from([True, False, "true", "false", "True", "FALSE", 1, 0])


def _truth(v: object) -> bool:
    return str(v).lower() in ("true", "1")


@given(flag, flag)
def test_stage_from_closed_and_won_flags(closed: object, won: object) -> None:
    want = "open" if not _truth(closed) else "won" if _truth(won) else "lost"
    assert stage([closed, won], NO) == want


@given(st.sampled_from(["open", "won", "lost"]), st.integers(0, 3), padding)
def test_stage_from_one_status_field(status: str, how: int, pad: str) -> None:
    assert stage([pad + _case(status, how) + pad], NO) == status


def test_stage_without_a_status_is_none_and_a_bad_one_a_problem() -> None:
    assert stage([None], NO) is None
    assert stage([None, None], NO) is None
    with pytest.raises(Bad):
        stage(["appointmentscheduled"], NO)


# -- domains, times, numbers, flags, join ---------------------------------------------------------


@given(
    host,
    st.sampled_from(["", "http://", "https://", "HTTPS://"]),
    st.booleans(),
    st.sampled_from(["", "/", "/about?x=1", ":8443/path"]),
)
def test_domain_of_a_website_is_the_bare_lower_case_host(
    h: str, scheme: str, www: bool, tail: str
) -> None:
    assume(not h.lower().startswith("www."))
    assert domain(f"{scheme}{'www.' if www else ''}{h}{tail}", NO) == h.lower()


@pytest.mark.parametrize("text", ["not a domain", "http://", "localhost", "foo@"])
def test_bad_websites_are_problems(text: str) -> None:
    with pytest.raises(Bad):
        domain(text, NO)


moments = st.datetimes(
    min_value=datetime(1990, 1, 1), max_value=datetime(2090, 1, 1), timezones=st.just(UTC)
).map(lambda d: d.replace(microsecond=d.microsecond // 1000 * 1000))


@given(moments)
def test_every_crm_time_format_gives_the_same_moment(dt: datetime) -> None:
    ms = (dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(milliseconds=1)
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{dt.microsecond // 1000:03d}"
    forms = [
        f"{base}.{frac}+0000",  # Salesforce
        ms,  # HubSpot epoch ms
        str(ms),
        f"{base}.{frac}Z",  # HubSpot ISO
        f"{base}.{frac}0000Z",  # Graph, 7 fraction digits
        (dt + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.") + frac + "+02:00",
    ]
    for form in forms:
        assert to_datetime(form, NO) == dt, form


@given(moments)
def test_dates_from_dates_and_times(dt: datetime) -> None:
    assert to_date(dt.strftime("%Y-%m-%d"), NO) == dt.date()
    assert to_date((dt - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(seconds=1), NO) == dt.date()
    assert to_datetime(dt.strftime("%Y-%m-%d"), NO).date() == dt.date()


@given(st.floats(allow_nan=False, allow_infinity=False, min_value=-1e12, max_value=1e12))
def test_numbers_from_text(x: float) -> None:
    assert number(repr(x), NO) == x
    assert number(f"{x:,.2f}", NO) == pytest.approx(round(x, 2))


def test_number_problems_and_ranges() -> None:
    from mappings.transforms import integer

    with pytest.raises(Bad):
        number("lots", NO)
    with pytest.raises(Bad):
        number(True, NO)
    assert integer("4", Opts(min=1, max=5)) == 4
    with pytest.raises(Bad, match=r"outside 1\.\.5"):
        integer(7, Opts(min=1, max=5))
    with pytest.raises(Bad, match="whole number"):
        integer("2.5", NO)


@given(st.booleans(), st.integers(0, 3))
def test_flags(value: bool, how: int) -> None:
    words = ["true", "yes", "1", "on"] if value else ["false", "no", "0", "off"]
    assert boolean(_case(words[how], how), NO) is value
    assert boolean(value, NO) is value


@given(st.lists(st.one_of(st.none(), st.text(max_size=8)), max_size=4))
def test_join_leaves_out_empty_parts(parts: list[str | None]) -> None:
    kept = [p.strip() for p in parts if p is not None and p.strip()]
    assert join(parts, NO) == (" ".join(kept) or None)
