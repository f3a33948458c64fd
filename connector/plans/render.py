"""Draw an account plan (the dict `plan.build_plan` returns) as Markdown or HTML, and the table
of all renderers (the SVG map is in render_svg).

Pure functions over that dict. Every text that came from a user or a CRM is escaped for its
format: HTML and SVG through html.escape (of characters XML allows), Markdown with its own syntax
escaped by backslashes and nothing HTML-escaped (a plain-text Salesforce Note shows the Markdown
as it is; the HubSpot note's HTML is made from it in connector.writeback.notes).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from connector.core.text import md_escape
from connector.plans.render_base import LEVEL_NAMES, STANCE_FILL, audience_line, e, tree
from connector.plans.render_svg import to_svg


def known_text(s: dict[str, Any]) -> str:
    return ", ".join(
        f"{k['member']['name']} ({k['strength'] or '-'})" + (" (you)" if k["yours"] else "")
        for k in s["known_by"]
    )


def _pct(share: float | None) -> str:
    return "-" if share is None else f"{round(share * 100)}%"


# -- Markdown ------------------------------------------------------------------------------------


def _md(value: Any) -> str:
    return ("" if value is None else md_escape(value)) or "-"


def to_markdown(doc: dict[str, Any]) -> str:
    cov = doc["coverage"]
    lines = [f"# Account plan: {_md(doc['org']['name'])}", "", f"_{_md(audience_line(doc))}_", ""]
    lines += ["## Strategy", "", _md(doc["strategy"]), ""]
    if doc["objectives"]:
        lines += ["## Objectives", "", _md(doc["objectives"]), ""]
    lines += ["## Coverage", "", "| level | people | known | share |", "|---|---|---|---|"]
    lines += [
        f"| {LEVEL_NAMES[r['level']]} | {r['people']} | {r['known']} | {_pct(r['share'])} |"
        for r in cov["by_level"]
    ]
    lines += ["", "| country | people | known | share |", "|---|---|---|---|"]
    lines += [
        f"| {_md(r['country'] or 'unknown')} | {r['people']} | {r['known']} | {_pct(r['share'])} |"
        for r in cov["by_country"]
    ]
    lines += [
        "",
        f"Key stakeholders: {cov['key']}; known: {cov['key_known']}; known well (strength 3+): "
        f"{cov['key_known_strong']} ({_pct(cov['key_strong_share'])}).",
        "",
        "## Single-threaded risk",
        "",
    ]
    people = {s["id"]: s for s in doc["stakeholders"]}
    risky = [people[i] for i in doc["single_threaded"]]
    lines += [f"- {_md(s['name'])}: only {_md(known_text(s))} knows them" for s in risky] or [
        "- none"
    ]
    lines += ["", "## Stakeholders", ""]
    lines += [("  " * depth) + "- " + _md_person(s) for s, depth in tree(doc)]
    lines += ["", "## Actions", ""]
    lines += [_md_action(a) for a in doc["actions"]] or ["- none yet"]
    return "\n".join(lines) + "\n"


def _md_person(s: dict[str, Any]) -> str:
    bits = [
        f"**{_md(s['name'])}**",
        _md(s["title"]) if s["title"] else None,
        LEVEL_NAMES[s["level"]],
        _md(s["country"]) if s["country"] else None,
        f"stance: {s['stance']}",
        f"influence: {s['influence']}" if s["influence"] else None,
        f"role: {_md(s['role'])}" if s["role"] else None,
        f"known by: {_md(known_text(s))}" if s["known_by"] else "known by nobody visible",
        "**single-threaded**" if s["single_threaded"] else None,
    ]
    return " · ".join(b for b in bits if b)


def _md_action(a: dict[str, Any]) -> str:
    who = f" — {_md(a['by']['name'])}" if a["by"] else ""
    return f"- {a['at'][:10]}: {_md(a['text'])}{who} ({_md(a['source'])})"


# -- HTML ----------------------------------------------------------------------------------------

_CSS = (
    "body{font-family:sans-serif;margin:2em;color:#222}table{border-collapse:collapse;margin:"
    ".5em 0}td,th{border:1px solid #ccc;padding:.25em .6em;text-align:left}"
    ".risk{color:#b71c1c;font-weight:bold}ul.tree{list-style:none}ul.tree ul{list-style:none}"
    ".stance{display:inline-block;width:.8em;height:.8em;border:1px solid #555;margin-right:.3em}"
)


def to_html(doc: dict[str, Any]) -> str:
    name = e(doc["org"]["name"])
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>Account plan: {name}</title><style>{_CSS}</style></head><body>",
        f"<h1>Account plan: {name}</h1><p><em>{e(audience_line(doc))}</em></p>",
        f"<h2>Strategy</h2><p>{e(doc['strategy']) or '-'}</p>",
    ]
    if doc["objectives"]:
        parts.append(f"<h2>Objectives</h2><p>{e(doc['objectives'])}</p>")
    parts += _html_coverage(doc)
    parts.append("<h2>Stakeholders</h2>")
    parts += _html_tree(doc)
    parts.append("<h2>Actions</h2><ul>")
    parts += [
        f"<li>{e(a['at'][:10])}: {e(a['text'])}"
        + (f" — {e(a['by']['name'])}" if a["by"] else "")
        + f" ({e(a['source'])})</li>"
        for a in doc["actions"]
    ] or ["<li>none yet</li>"]
    parts.append("</ul></body></html>")
    return "\n".join(parts) + "\n"


def _html_coverage(doc: dict[str, Any]) -> list[str]:
    cov = doc["coverage"]
    rows = ["<h2>Coverage</h2><table><tr><th>level</th><th>people</th><th>known</th>"]
    rows[0] += "<th>share</th></tr>"
    rows += [
        f"<tr><td>{LEVEL_NAMES[r['level']]}</td><td>{r['people']}</td><td>{r['known']}</td>"
        f"<td>{_pct(r['share'])}</td></tr>"
        for r in cov["by_level"]
    ]
    rows.append("</table><table><tr><th>country</th><th>people</th><th>known</th><th>share</th>")
    rows += [
        f"<tr><td>{e(r['country'] or 'unknown')}</td><td>{r['people']}</td><td>{r['known']}</td>"
        f"<td>{_pct(r['share'])}</td></tr>"
        for r in cov["by_country"]
    ]
    rows.append(
        f"</table><p>Key stakeholders: {cov['key']}; known: {cov['key_known']}; known well "
        f"(strength 3+): {cov['key_known_strong']} ({_pct(cov['key_strong_share'])}).</p>"
    )
    return rows


def _html_tree(doc: dict[str, Any]) -> Iterator[str]:
    depth_now = -1
    for s, depth in tree(doc):
        while depth_now < depth:
            yield '<ul class="tree">'
            depth_now += 1
        while depth_now > depth:
            yield "</ul>"
            depth_now -= 1
        yield _html_person(s)
    while depth_now >= 0:
        yield "</ul>"
        depth_now -= 1


def _html_person(s: dict[str, Any]) -> str:
    fill = STANCE_FILL[s["stance"]]
    bits = [
        e(s["title"]),
        LEVEL_NAMES[s["level"]],
        e(s["country"]),
        f"stance: {e(s['stance'])}",
        f"influence: {s['influence']}" if s["influence"] else "",
        f"role: {e(s['role'])}" if s["role"] else "",
        f"known by: {e(known_text(s))}" if s["known_by"] else "known by nobody visible",
    ]
    risk = ' <span class="risk">single-threaded</span>' if s["single_threaded"] else ""
    return (
        f'<li><span class="stance" style="background:{fill}"></span><strong>{e(s["name"])}'
        f"</strong> — {' · '.join(b for b in bits if b)}{risk}</li>"
    )


RENDERERS = {"md": to_markdown, "html": to_html, "svg": to_svg}
