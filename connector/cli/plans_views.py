"""How plan, credits and network answers look at a terminal; `plan show` prints its chosen format.

The JSON form is the service functions' dictionaries as they are; this module only draws them.
"""

from __future__ import annotations

import json
import sys
from typing import Any

from rich.table import Table

from connector.cli.governance_views import cell, out, say
from connector.core.errors import UsageError
from connector.core.text import json_safe, terminal_safe

FORMATS = ("md", "html", "svg", "json")


def check_format(fmt: str) -> str:
    f = fmt.strip().lower()
    if f not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return f


def print_plan(doc: dict[str, Any], fmt: str) -> None:
    from connector.plans.render import RENDERERS  # lazy: start-up

    if fmt == "json":  # the same JSON, with what a terminal would act on as \u escapes
        text = json_safe(json.dumps(doc, indent=2, ensure_ascii=False, default=str)) + "\n"
    else:  # each renderer escapes for its format; none leaves an escape sequence or override
        text = terminal_safe(RENDERERS[fmt](doc))
    sys.stdout.write(text)


def render_plan_set(d: dict[str, Any]) -> None:
    if not d["changes"]:
        say(f"the plan of {d['org']['name']} already says that: nothing changed")
        return
    say(f"updated the plan of {d['org']['name']}: {', '.join(sorted(d['changes']))}")


def render_credits(d: dict[str, Any]) -> None:
    table = Table("#", "status", "referrer", "deal", "org", "owner", "percent", "amount")
    for c in d["credits"]:
        opp = c["opportunity"]
        table.add_row(
            cell(c["id"]),
            cell(c["status"]),
            cell(c["referrer"]["email"]),
            cell(opp["name"]),
            cell(opp["org"]),
            cell(opp["owner"]["email"] if opp["owner"] else None),
            cell(f"{c['percent']:g}%"),
            cell(f"{c['amount']:,.2f} {c['currency'] or ''}".strip() if c["amount"] else None),
        )
    out.print(table)
    for t in d["totals"]:
        say(f"{t['referrer']}: {t['status']} {t['amount']:,.2f} {t['currency'] or ''}".rstrip())
    if not d["credits"]:
        say("no referral credits yet")


def render_network(d: dict[str, Any]) -> None:
    say(f"network quality ({d['reader']})")
    if d["accounts"]:
        table = Table(
            "account",
            "people",
            "known",
            "by level",
            "key",
            "key known 3+",
            "single-threaded",
            "countries nobody known",
        )
        for a in d["accounts"]:
            levels = ", ".join(f"{r['level']} {r['known']}/{r['people']}" for r in a["by_level"])
            share = a["key_strong_share"]
            table.add_row(
                cell(a["org"]["name"]),
                cell(a["people"]),
                cell(a["known"]),
                cell(levels),
                cell(a["key"]),
                cell(
                    f"{a['key_known_strong']} ({round(share * 100)}%)"
                    if share is not None
                    else None
                ),
                cell(len(a["single_threaded"]) or "no"),
                cell(", ".join(a["countries_unknown"])),
            )
        out.print(table)
    if d["members"]:
        table = Table(
            "member",
            "network",
            "strength 1/2/3/4/5/-",
            "shared",
            "discoverable",
            "private",
            "intros brokered",
            "credits earned",
        )
        for m in d["members"]:
            dist = "/".join(str(m["strength"][k]) for k in ("1", "2", "3", "4", "5", "none"))
            earned = ", ".join(f"{v:,.2f} {c}".strip() for c, v in m["credits_earned"].items())
            table.add_row(
                cell(m["member"]["email"]),
                cell(m["network_size"]),
                cell(dist),
                cell(m["shareability"]["shared"]),
                cell(m["shareability"]["discoverable"]),
                cell(m["shareability"].get("private", "-")),
                cell(m["intros_brokered"]),
                cell(earned),
            )
        out.print(table)
