"""Commands for reps and managers: who-knows, rate, introductions, plans, credits, network, audit.

Service modules are imported inside each command, not at the top: a command loads only what it
uses, which keeps `carnet`'s start-up short (each such import is marked `# lazy: start-up`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

import typer

from connector.cli.app import (
    AsOpt,
    ConfigOpt,
    JsonOpt,
    app,
    emit,
    governed,
    intro_app,
    loading,
    out,
    plan_app,
    run,
)


@app.command("who-knows")
def who_knows(
    query: str,
    as_: AsOpt,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    limit: Annotated[
        int, typer.Option("--limit", min=0, help="people of an org listed, strongest first; 0: all")
    ] = 50,
) -> None:
    """Who of ours knows a person (email) or people at an org (name or domain)."""
    with loading():
        from connector.cli.governance_views import render_who_knows  # lazy: start-up
        from connector.governance.relationships import member_by_email  # lazy: start-up
        from connector.governance.whoknows import who_knows as answer  # lazy: start-up

    doc = governed(
        config,
        lambda c, s: answer(
            s, member_by_email(s, as_), query, c.config.sharing, limit=limit or None
        ),
    )
    emit(doc, as_json, render_who_knows)


@app.command()
def rate(
    person_email: str,
    rating: int,
    as_: AsOpt,
    config: ConfigOpt = None,
    share: Annotated[
        str | None, typer.Option("--share", help="private, discoverable or shared")
    ] = None,
    exclusive: Annotated[bool | None, typer.Option("--exclusive/--no-exclusive")] = None,
) -> None:
    """Rate your relationship with a person (1-5) and set what you share."""
    from connector.cli.governance_views import render_rate  # lazy: start-up
    from connector.governance.relationships import rate_by_email  # lazy: start-up

    doc = governed(
        config,
        lambda c, s: rate_by_email(
            s, as_, person_email, rating, share, exclusive, c.config.sharing
        ),
    )
    render_rate(doc)


@app.command()
def review(as_: AsOpt, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Your relationships waiting for your choice, and when each is shared by default."""
    from connector.cli.governance_views import render_review  # lazy: start-up
    from connector.governance.relationships import member_by_email  # lazy: start-up
    from connector.governance.review import waiting_for  # lazy: start-up

    doc = governed(config, lambda c, s: waiting_for(s, member_by_email(s, as_), c.config.sharing))
    emit(doc, as_json, render_review)


@intro_app.command("request")
def intro_request(
    person_email: str,
    as_: AsOpt,
    reason: Annotated[str, typer.Option("--reason")],
    config: ConfigOpt = None,
) -> None:
    """Ask the colleague who knows a person for an introduction."""
    from connector.cli.governance_views import say  # lazy: start-up
    from connector.governance.intros import request  # lazy: start-up
    from connector.governance.relationships import member_by_email  # lazy: start-up

    doc = governed(
        config,
        lambda c, s: request(s, member_by_email(s, as_), person_email, reason, c.config.sharing),
    )
    say(
        f"introduction #{doc['id']} to {doc['person']['name']} requested from "
        f"{doc['broker']['name']} <{doc['broker']['email']}>"
    )


@intro_app.command("list")
def intro_list(as_: AsOpt, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Introductions you asked for or were asked for."""
    from connector.cli.governance_views import render_intros  # lazy: start-up
    from connector.governance.intros import list_intros  # lazy: start-up
    from connector.governance.relationships import member_by_email  # lazy: start-up

    doc = governed(config, lambda c, s: list_intros(s, member_by_email(s, as_)))
    emit(doc, as_json, render_intros)


def _intro_transition(name: str) -> Callable[..., None]:
    def command(
        intro_id: int,
        as_: AsOpt,
        config: ConfigOpt = None,
        reason: Annotated[str | None, typer.Option("--reason")] = None,
    ) -> None:
        from connector.governance.intros import transition  # lazy: start-up
        from connector.governance.relationships import member_by_email  # lazy: start-up

        doc = governed(
            config, lambda c, s: transition(s, member_by_email(s, as_), intro_id, name, reason)
        )
        out.print(f"introduction #{doc['id']} is now {doc['status']}", markup=False)

    command.__doc__ = (
        "Cancel an introduction you asked for."
        if name == "cancel"
        else f"As its broker, mark an introduction {'made' if name == 'made' else name + 'd'}."
    )
    return command


for _name in ("approve", "decline", "made", "cancel"):
    intro_app.command(_name)(_intro_transition(_name))


@plan_app.command("show")
def plan_show(
    org: str,
    config: ConfigOpt = None,
    fmt: Annotated[str, typer.Option("--format", help="md, html, svg or json")] = "md",
    as_: Annotated[str | None, typer.Option("--as")] = None,
) -> None:
    """Show an account plan (without --as: the company-wide view a CRM note may hold)."""
    with loading():
        from connector.cli.plans_views import check_format, print_plan  # lazy: start-up
        from connector.governance.relationships import member_by_email  # lazy: start-up
        from connector.plans.plan import show_plan  # lazy: start-up

    form = run(lambda: check_format(fmt))
    doc = governed(
        config,
        lambda c, s: show_plan(s, org, member_by_email(s, as_) if as_ else None, c.config.sharing),
    )
    print_plan(doc, form)


@plan_app.command("set")
def plan_set(
    org: str,
    config: ConfigOpt = None,
    strategy: Annotated[str | None, typer.Option("--strategy")] = None,
    stance: Annotated[
        tuple[str, str] | None, typer.Option("--stance", help="PERSON_EMAIL STANCE")
    ] = None,
    influence: Annotated[
        tuple[str, int] | None, typer.Option("--influence", help="PERSON_EMAIL 1..5")
    ] = None,
    action: Annotated[str | None, typer.Option("--action")] = None,
    as_: Annotated[str | None, typer.Option("--as", help="the member making the change")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Change an account plan."""
    from connector.cli.plans_views import render_plan_set  # lazy: start-up
    from connector.governance.relationships import member_by_email  # lazy: start-up
    from connector.plans.plan_edit import set_plan  # lazy: start-up

    doc = governed(
        config,
        lambda c, s: set_plan(
            s,
            org,
            member_by_email(s, as_) if as_ else None,
            strategy=strategy,
            stance=stance,
            influence=influence,
            action=action,
        ),
    )
    emit(doc, as_json, render_plan_set)


@app.command()
def credits(config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Referral credits: pending, earned and void, with totals per referrer."""
    from connector.cli.plans_views import render_credits  # lazy: start-up
    from connector.governance.credits import list_credits  # lazy: start-up

    doc = governed(config, lambda c, s: list_credits(s))
    emit(doc, as_json, render_credits)


@app.command()
def network(
    config: ConfigOpt = None,
    org: Annotated[str | None, typer.Option("--org")] = None,
    member: Annotated[str | None, typer.Option("--member")] = None,
    as_json: JsonOpt = False,
    as_: Annotated[
        str | None, typer.Option("--as", help="read as this member (default: company-wide)")
    ] = None,
) -> None:
    """Network quality per account and per member."""
    from connector.cli.plans_views import render_network  # lazy: start-up
    from connector.governance.relationships import member_by_email  # lazy: start-up
    from connector.plans.network import network_report  # lazy: start-up

    doc = governed(
        config,
        lambda c, s: network_report(
            s, c.config.sharing, member_by_email(s, as_) if as_ else None, org, member
        ),
    )
    emit(doc, as_json, render_network)


@app.command()
def audit(
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    as_: Annotated[
        str | None, typer.Option("--as", help="read as this member (default: the admin's log)")
    ] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, help="newest events to show")] = 200,
) -> None:
    """The audit log, as a member may read it (--as), or the admin's full log."""
    from connector.cli.governance_views import render_audit  # lazy: start-up
    from connector.governance.audit import list_events  # lazy: start-up
    from connector.governance.relationships import member_by_email  # lazy: start-up

    doc = governed(
        config,
        lambda c, s: list_events(
            s, member_by_email(s, as_) if as_ else None, c.config.sharing, limit
        ),
    )
    emit(doc, as_json, render_audit)
