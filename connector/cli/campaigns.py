"""`carnet campaign ...`: invitation campaigns at the command line (docs/campaigns.md).

Thin like every command group: parse, call connector.governance.campaigns, print. `--as` is the
operator's tool, as everywhere in the CLI. Who may own a campaign comes from the config's `web:`
roles, read by email: a `group:NAME` cannot be checked without a sign-in (see `owner_refusal`).
Service modules are imported inside each command (`# lazy: start-up`), as in people.py.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from connector.cli.app import AsOpt, ConfigOpt, JsonOpt, campaign_app, emit, fail, governed, run
from connector.core.errors import UsageError

if TYPE_CHECKING:  # in annotations only: the ORM, the models and the config load when used
    from sqlalchemy.orm import Session

    from connector.core.web_config import Web
    from connector.store.app import App
    from connector.store.models import Member

CampaignArg = Annotated[int, typer.Argument(help="the campaign's number (carnet campaign list)")]
PersonArg = Annotated[str, typer.Argument(help="the person's email")]
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def parse_date(value: str | None, option: str) -> date | None:
    """A YYYY-MM-DD option as a date; a UsageError naming the option otherwise."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        if _DATE.fullmatch(text):  # fromisoformat alone also takes 20270604 and 2027-W23
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise UsageError(f"{option} {text!r}: expected a date as YYYY-MM-DD, such as 2027-06-04")


def owner_refusal(session: Session, web: Web | None, owner: Member) -> str | None:
    """Why `owner` may not own a campaign, or None when they may. With a `web:` section, owners
    are its managers and admins as the web's roles say (connector.web.roles: the emails named,
    and with `managers: [crm]` whoever has an active report in the CRM's hierarchy); a
    `group:NAME` entry needs the sign-in's groups, which the CLI does not have, so it is named in
    the refusal. No `web:`: anyone."""
    from connector.web.roles import roles_for  # lazy: start-up

    if web is None or roles_for(session, web, owner):
        return None
    why = (
        f"{owner.email} may not own a campaign: owners are the managers and admins the config "
        "names (web.managers, web.admins)"
    )
    groups = sorted(n for n in (*web.managers, *web.admins) if n.startswith("group:"))
    if groups:
        why += f"; the command line cannot check groups ({', '.join(groups)}): list the email"
    return why


def _criteria(
    orgs: list[str] | None,
    levels: list[str] | None,
    countries: list[str] | None,
    min_strength: int | None,
) -> dict[str, Any]:
    """The target criteria given, the empty ones left out (the service checks the values)."""
    found: dict[str, Any] = {}
    for key, values in (("orgs", orgs), ("levels", levels), ("countries", countries)):
        if values:
            found[key] = list(values)
    if min_strength is not None:
        found["min_strength"] = min_strength
    return found


def _as(session: Session, email: str) -> Member:
    from connector.governance.relationships import member_by_email  # lazy: start-up

    return member_by_email(session, email)


@campaign_app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="the campaign's name (at most 80 characters)")],
    as_: AsOpt,
    config: ConfigOpt = None,
    capacity: Annotated[
        int | None, typer.Option("--capacity", help="seats: guests at most")
    ] = None,
    purpose: Annotated[str | None, typer.Option("--purpose", help="what it is, for reps")] = None,
    starts: Annotated[str | None, typer.Option("--starts", help="YYYY-MM-DD")] = None,
    ends: Annotated[str | None, typer.Option("--ends", help="YYYY-MM-DD")] = None,
    org: Annotated[list[str] | None, typer.Option("--org", help="org name or domain")] = None,
    level: Annotated[list[str] | None, typer.Option("--level", help="c_level, vp, ...")] = None,
    country: Annotated[list[str] | None, typer.Option("--country", help="ISO-2 code")] = None,
    min_strength: Annotated[
        int | None, typer.Option("--min-strength", help="1..5: people known at least this well")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Create a campaign (a draft: reps see it once you open it). Criteria repeat and combine."""
    from connector.cli.campaign_views import render_created  # lazy: start-up
    from connector.governance.campaigns import NotYours, create_campaign  # lazy: start-up

    if capacity is None:
        fail(UsageError("--capacity N is required: how many guests the campaign has room for"))
    seats: int = capacity
    starts_on = run(lambda: parse_date(starts, "--starts"))
    ends_on = run(lambda: parse_date(ends, "--ends"))
    criteria = _criteria(org, level, country, min_strength)

    def work(c: App, s: Session) -> Any:
        owner = _as(s, as_)
        refusal = owner_refusal(s, c.config.web, owner)
        if refusal:
            raise NotYours(refusal)
        return create_campaign(
            s,
            owner,
            name=name,
            capacity=seats,
            purpose=purpose,
            starts_on=starts_on,
            ends_on=ends_on,
            criteria=criteria,
            may_own=True,
        )

    emit(governed(config, work), as_json, render_created)


def _move(target: str, as_: str, campaign_id: int, config: Path | None, as_json: bool) -> None:
    from connector.cli.campaign_views import render_state  # lazy: start-up
    from connector.governance.campaigns import set_state  # lazy: start-up

    doc = governed(config, lambda c, s: set_state(s, campaign_id, _as(s, as_), target))
    emit(doc, as_json, render_state)


@campaign_app.command("open")
def open_(
    campaign_id: CampaignArg, as_: AsOpt, config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """Open a draft for nominations (the owner)."""
    _move("open", as_, campaign_id, config, as_json)


@campaign_app.command("close")
def close(
    campaign_id: CampaignArg,
    as_: AsOpt,
    config: ConfigOpt = None,
    done: Annotated[
        bool, typer.Option("--done", help="a closed campaign's event is over: mark it done")
    ] = False,
    as_json: JsonOpt = False,
) -> None:
    """End the nominations of an open campaign (the owner); with --done, end a closed one."""
    _move("done" if done else "closed", as_, campaign_id, config, as_json)


@campaign_app.command("list")
def list_(as_: AsOpt, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """The open campaigns, and the ones you own."""
    from connector.cli.campaign_views import render_list  # lazy: start-up
    from connector.governance.campaigns import list_campaigns  # lazy: start-up

    doc = governed(config, lambda c, s: list_campaigns(s, _as(s, as_), c.config.sharing))
    emit(doc, as_json, render_list)


@campaign_app.command("show")
def show(
    campaign_id: CampaignArg, as_: AsOpt, config: ConfigOpt = None, as_json: JsonOpt = False
) -> None:
    """A campaign: its owner sees nominations and guests; a rep, their matches and nominations."""
    from connector.cli.campaign_views import render_show  # lazy: start-up
    from connector.governance.campaigns import show_campaign  # lazy: start-up

    doc = governed(
        config, lambda c, s: show_campaign(s, campaign_id, _as(s, as_), c.config.sharing)
    )
    emit(doc, as_json, render_show)


@campaign_app.command("nominate")
def nominate(
    campaign_id: CampaignArg,
    person_email: PersonArg,
    as_: AsOpt,
    config: ConfigOpt = None,
    note: Annotated[str | None, typer.Option("--note", help="a word for the owner")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Put one person you know forward for an open campaign (only its owner will see it)."""
    from connector.cli.campaign_views import render_nomination  # lazy: start-up
    from connector.governance.campaigns import nominate as put_forward  # lazy: start-up

    doc = governed(
        config,
        lambda c, s: put_forward(
            s, campaign_id, _as(s, as_), person_email, c.config.sharing, note=note
        ),
    )
    emit(doc, as_json, render_nomination)


@campaign_app.command("withdraw")
def withdraw(
    campaign_id: CampaignArg,
    person_email: PersonArg,
    as_: AsOpt,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Take back your nomination of a person, while the owner has not decided on it."""
    from connector.cli.campaign_views import render_nomination  # lazy: start-up
    from connector.governance.campaigns import withdraw as take_back  # lazy: start-up

    doc = governed(config, lambda c, s: take_back(s, campaign_id, _as(s, as_), person_email))
    emit(doc, as_json, render_nomination)


def _decide(accept: bool) -> Callable[..., None]:
    def command(
        campaign_id: CampaignArg,
        nomination_id: Annotated[int, typer.Argument(help="the nomination's number")],
        as_: AsOpt,
        config: ConfigOpt = None,
        reason: Annotated[str | None, typer.Option("--reason", help="why, for the rep")] = None,
        as_json: JsonOpt = False,
    ) -> None:
        from connector.cli.campaign_views import render_nomination  # lazy: start-up
        from connector.governance.campaigns import decide  # lazy: start-up

        doc = governed(
            config,
            lambda c, s: decide(
                s, campaign_id, nomination_id, _as(s, as_), accept, reason, c.config.sharing
            ),
        )
        emit(doc, as_json, render_nomination)

    command.__doc__ = (
        "Accept a nomination: the person becomes a guest, within capacity (the owner)."
        if accept
        else "Decline a nomination, saying why (the owner); an accepted guest is removed."
    )
    return command


campaign_app.command("accept")(_decide(True))
campaign_app.command("decline")(_decide(False))
