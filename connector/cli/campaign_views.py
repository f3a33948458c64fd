"""How `carnet campaign ...` answers look at a terminal (rich tables and one-line answers).

The JSON form is the service functions' dictionaries as they are (connector/governance/
campaigns.py); this module only draws them, every datum through `cell()` / `say()`, never markup.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table

from connector.cli.governance_views import cell, out, say


def _title(c: dict[str, Any]) -> str:
    return f'campaign #{c["id"]} "{c["name"]}"'


def _dates(c: dict[str, Any]) -> str | None:
    starts, ends = c.get("starts_on"), c.get("ends_on")
    if starts and ends and ends != starts:
        return f"{starts} to {ends}"
    return starts or (f"until {ends}" if ends else None)


def _criteria(k: dict[str, Any]) -> str:
    parts = []
    if k.get("orgs"):
        parts.append("at " + ", ".join(k["orgs"]))
    if k.get("levels"):
        parts.append("level " + ", ".join(k["levels"]))
    if k.get("countries"):
        parts.append("in " + ", ".join(k["countries"]))
    if k.get("min_strength"):
        parts.append(f"known at strength {k['min_strength']}+")
    return "; ".join(parts) or "anyone"


def _crm(statuses: dict[str, Any] | None) -> str | None:
    return ", ".join(f"{k}: {v}" for k, v in sorted((statuses or {}).items())) or None


def _person(p: dict[str, Any]) -> str:
    return p["name"] + (f", {p['title']}" if p.get("title") else "")


def render_created(c: dict[str, Any]) -> None:
    say(f"{_title(c)} created as a draft, {c['capacity']} seats, for: {_criteria(c['criteria'])}")
    say(f"reps see it once you open it: carnet campaign open {c['id']} --as {c['owner']['email']}")


_STATE_LINES = {
    "open": "is open: reps can nominate guests from their networks",
    "closed": (
        "is closed: nominations have ended, and so has your view of nominations you could not "
        "otherwise see; decide on the rest, then close --done after the event"
    ),
    "done": "is done",
}


def render_state(c: dict[str, Any]) -> None:
    say(f"{_title(c)} {_STATE_LINES.get(c['state'], 'is ' + c['state'])}")


def render_list(campaigns: list[dict[str, Any]]) -> None:
    if not campaigns:
        say("no campaign is open, and you own none")
        return
    table = Table("#", "campaign", "state", "owner", "dates", "guests", "yours")
    for c in campaigns:
        if c["role"] == "owner":
            yours = f"owner: {c['nominations']} nominations, {c['waiting']} waiting"
        else:
            yours = f"{c['mine']} nominated, {c['candidates']} more of your contacts match"
        table.add_row(
            cell(c["id"]),
            cell(c["name"]),
            cell(c["state"]),
            cell(c["owner"]["name"]),
            cell(_dates(c)),
            cell(f"{c['guests']} / {c['capacity']}"),
            cell(yours),
        )
    out.print(table)


def render_show(d: dict[str, Any]) -> None:
    c = d["campaign"]
    say(f"{_title(c)}: {c['state']}, owner {c['owner']['name']} <{c['owner']['email']}>")
    facts = [_dates(c), f"{c['guests']} of {c['capacity']} seats taken"]
    say(" · ".join(f for f in facts if f) + f" · for: {_criteria(c['criteria'])}")
    if c.get("purpose"):
        say(c["purpose"])
    if d["role"] == "owner":
        _nominations(d["nominations"], c)
        _guests(d["guests"])
    if d["candidates"] or d["role"] == "rep":
        _candidates(d["candidates"], c)
    _mine(d["mine"])


def _nominations(rows: list[dict[str, Any]], c: dict[str, Any]) -> None:
    if not rows:
        say("nominations: none you may see")
        return
    table = Table("#", "status", "person", "org", "nominated by", "strength", "note", "reason")
    table.title, table.title_justify = "nominations", "left"
    for n in rows:
        table.add_row(
            cell(n["id"]),
            cell(n["status"]),
            cell(_person(n["person"])),
            cell(n["person"]["org"]),
            cell(n["nominator"]["name"]),
            cell(n["strength"]),
            cell(n["note"]),
            cell(n["reason"]),
        )
    out.print(table)
    if any(n["disclosed"] for n in rows):
        say(
            "some of these you see only because they were nominated to you, for this campaign, "
            "until it closes"
        )


def _guests(guests: list[dict[str, Any]]) -> None:
    if not guests:
        say("guests: none accepted yet")
        return
    table = Table("person", "org", "nominated by", "in the CRM", title="guests")
    table.title_justify = "left"
    for g in guests:
        by = [n["name"] for n in g["nominators"]]
        if g["by_colleague"]:
            by.append("a colleague")
        table.add_row(
            cell(g["name"] + (f", {g['title']}" if g.get("title") else "")),
            cell(g["org"]),
            cell(", ".join(by)),
            cell(_crm(g["crm_status"])),
        )
    out.print(table)


def _candidates(rows: list[dict[str, Any]], c: dict[str, Any]) -> None:
    if c["state"] != "open":
        return
    if not rows:
        say("your contacts who match: none left to nominate")
        return
    table = Table(
        "person", "email", "org", "strength", "your sharing", title="your contacts who match"
    )
    table.title_justify = "left"
    for k in rows:
        share = k["shareability"] + (", exclusive" if k["exclusive"] else "")
        table.add_row(
            cell(_person(k["person"])),
            cell(k["person"].get("email")),
            cell(k["person"]["org"]),
            cell(k["strength"]),
            cell(share),
        )
    out.print(table)
    say(
        f"to put one forward (only the owner sees it, until the campaign closes): "
        f"carnet campaign nominate {c['id']} EMAIL --as YOU"
    )


def _mine(rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    table = Table("#", "status", "person", "note", "owner's reason", "in the CRM")
    table.title, table.title_justify = "your nominations", "left"
    for n in rows:
        table.add_row(
            cell(n["id"]),
            cell(n["status"]),
            cell(_person(n["person"])),
            cell(n["note"]),
            cell(n["reason"]),
            cell(_crm(n["crm_status"])),
        )
    out.print(table)


def render_nomination(n: dict[str, Any]) -> None:
    who = n["person"]["name"] + (f" ({n['person']['org']})" if n["person"].get("org") else "")
    head = f"nomination #{n['id']} of {who} to campaign #{n['campaign_id']}"
    if n["status"] == "nominated":
        say(f"{head}: made; only the campaign's owner sees it, until the campaign closes")
    elif n["status"] == "declined":
        say(f"{head}: declined ({n['reason']})")
    elif n["status"] == "accepted":
        say(f"{head}: accepted, {n['person']['name']} is a guest")
    else:
        say(f"{head}: {n['status']}")
