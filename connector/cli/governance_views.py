"""How who-knows, rate, intro and audit answers look at a terminal (rich tables).

The JSON form is the service functions' dictionaries as they are; this module only draws them.
"""

from __future__ import annotations

import json
from itertools import chain
from typing import Any

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text

from connector.cli.app import out
from connector.core.text import terminal_safe


def cell(value: Any) -> Text:
    """Data never goes through rich markup (a name with brackets stays a name), nor reaches the
    terminal with an escape sequence or a bidi override in it (connector.core.text)."""
    if value is None:
        return Text("-")
    if isinstance(value, bool):
        return Text("yes" if value else "no")
    return Text(terminal_safe(value))


def say(line: str) -> None:
    """One line of an answer, which can hold CRM and user text: terminal-safe, no markup."""
    out.print(terminal_safe(line), markup=False, highlight=False)


def _strength(k: dict[str, Any]) -> str:
    text = str(k["strength"] or "-")
    if k.get("disagreement"):
        text += f" (rated {k['rating']}, score {k['score']})"
    return text


# who-knows lists each person once, then one aligned line per colleague who knows them. A table
# (one row per relationship, the person repeated) drew the same answer in twice the lines at 80
# columns, names wrapped and "discoverable" cut, and cost 90-120 ms to lay out: its ~750 cells
# each measured twice and padded, the query itself 8-30 ms.
KNOWN_BY = ("colleague", "team", "strength", "sharing", "last contact")


def render_who_knows(d: dict[str, Any]) -> None:
    if d["kind"] == "person":
        p = d["person"]
        say(f"{p['name']}" + (f" — {p['title']}" if p.get("title") else ""))
    else:
        known, listed = d["known_people"], len(d["people"])
        more = f", the {listed} strongest listed (--limit 0 lists all)" if listed < known else ""
        say(f"{d['org']['name']}: {known} people known by colleagues you can see{more}")
    if not d["people"]:
        say("no colleague you can see knows them directly")
    else:
        rows = [[_known_by(k) for k in person["known_by"]] for person in d["people"]]
        columns = zip(KNOWN_BY, *chain(*rows), strict=True)
        widths = [max(map(cell_len, column)) for column in columns]
        text = Text(_aligned(KNOWN_BY, widths) + "\n", style="dim")
        for person, lines in zip(d["people"], rows, strict=True):
            if d["kind"] == "org":  # a person query named them already
                text.append(terminal_safe(person["name"]), style="bold")
                text.append(f" — {terminal_safe(person['title'])}" if person.get("title") else "")
                text.append("\n")
            for k, line in zip(person["known_by"], lines, strict=True):
                text.append(_aligned(line, widths) + "\n")
                if k["notes"]:
                    text.append(f"      notes: {terminal_safe(k['notes'])}\n", style="italic")
        text.rstrip()
        out.print(text)
    for path in d["paths"]:
        say(_path_line(path))


def _known_by(k: dict[str, Any]) -> tuple[str, ...]:
    """One colleague's relationship, as the listing's columns (KNOWN_BY), terminal-safe."""
    values = (
        _colleague(k),
        k["member"]["team"],
        _strength(k),
        k["shareability"] + (", exclusive" if k["exclusive"] else ""),
        (k["last_interaction_at"] or "-")[:10],
    )
    return tuple("-" if v is None else terminal_safe(v) for v in values)


def _colleague(k: dict[str, Any]) -> str:
    """Who holds the relationship, as the viewer reads it: "you" for their own."""
    return "you" if k["yours"] else k["member"]["name"]


def _aligned(values: tuple[str, ...], widths: list[int]) -> str:
    """The values left-aligned in columns of `widths` terminal cells (a wide character is two),
    two spaces apart, indented by two."""
    padded = (v + " " * (w - cell_len(v)) for v, w in zip(values, widths, strict=True))
    return ("  " + "  ".join(padded)).rstrip()


def _path_line(path: dict[str, Any]) -> str:
    names = ", ".join(_colleague(k) + f" ({k['strength'] or '-'})" for k in path["known_by"])
    link = "the manager of" if path["link"] == "manager" else "a direct report of"
    via, target = path["via"], path["person"]
    return (
        f"{names} know {via['name']}"
        + (f" ({via['title']})" if via.get("title") else "")
        + f", {link} {target['name']}"
        + (f" ({target['title']})" if target.get("title") else "")
    )


def render_rate(d: dict[str, Any]) -> None:
    verb = "created and rated" if d["created"] else "rated"
    say(
        f"{verb} your relationship with {d['person']['name']}: {d['rating']}, "
        f"{d['shareability']}{', exclusive' if d['exclusive'] else ''}"
    )
    if not d["changes"] and not d["created"]:
        say("nothing changed")
    if d["disagreement"]:
        say(f"note: the computed score from the signals is {d['score']}")


def render_review(d: dict[str, Any]) -> None:
    if not d["waiting"]:
        say("nothing waits for your choice")
        return
    default = d["default"]
    then = "stays private" if default == "private" else f"is shown to colleagues as {default}"
    say(
        f"{len(d['waiting'])} relationships wait for your choice; unless you choose first, each "
        f"{then} from the date in the last column. To choose: "
        "carnet rate EMAIL 1..5 --share private|discoverable|shared"
    )
    table = Table("person", "email", "org", "strength", "found", "default from")
    for w in d["waiting"]:
        p = w["person"]
        table.add_row(
            cell(p["name"] + (f", {p['title']}" if p.get("title") else "")),
            cell(p["email"]),
            cell(p["org"]),
            cell(w["strength"]),
            cell(w["discovered_at"][:16].replace("T", " ")),
            cell(w["published_at"][:16].replace("T", " ")),
        )
    out.print(table)


def render_intros(d: dict[str, Any]) -> None:
    for key, title, other in (
        ("requested", "introductions you asked for", "broker"),
        ("brokering", "introductions asked of you", "requester"),
    ):
        if not d[key]:
            say(f"{title}: none")
            continue
        table = Table("#", "status", "person", other, "reason", "answer", title=title)
        table.title_justify = "left"
        for i in d[key]:
            org = i["person"]["org"]
            table.add_row(
                cell(i["id"]),
                cell(i["status"]),
                cell(i["person"]["name"] + (f" ({org})" if org else "")),
                cell(f"{i[other]['name']} <{i[other]['email']}>"),
                cell(i["reason"]),
                cell(i["response"]),
            )
        out.print(table)


def render_audit(d: dict[str, Any]) -> None:
    if not d["events"]:
        say("no audit events for you" if d["reader"] else "the audit log is empty")
        return
    table = Table("at (UTC)", "actor", "action", "relationships", "details")
    for e in d["events"]:
        rels = "; ".join(f"{r['holder']} -> {r['person']}" for r in e["relationships"])
        details = {k: v for k, v in e["details"].items() if not k.endswith("_id") and v is not None}
        table.add_row(
            cell(e["at"][:16].replace("T", " ")),
            cell(e["actor"]["email"] if e["actor"] else None),
            cell(e["action"]),
            cell(rels),
            cell(json.dumps(details, ensure_ascii=False, default=str)),
        )
    out.print(table)
