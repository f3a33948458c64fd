"""Draw an account plan (the dict `plan.build_plan` returns) as an SVG map: stakeholders in bands
by level under their managers, our members on the left, lines for who knows whom.
"""

from __future__ import annotations

from typing import Any

from connector.plans.render_base import LEVEL_NAMES, STANCE_FILL, audience_line, e, tree
from connector.store.models import LEVELS

BOX_W, BOX_H, GAP_X, ROW_H = 170, 46, 16, 96
MEMBER_W, MEMBER_H, MEMBER_GAP = 190, 34, 12
LEFT, TOP, PEOPLE_X = 20, 70, 260
MAX_DRAWN, PER_LINE, MAX_MEMBERS = 60, 10, 15
MEMBER_COLOURS = ("#1565c0", "#6a1b9a", "#00838f", "#ef6c00", "#5d4037", "#ad1457", "#2e7d32")
FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'


def _cut(text: Any, n: int) -> str:
    t = "" if text is None else str(text)
    return e(t if len(t) <= n else t[: n - 1] + "…")


def drawn(doc: dict[str, Any], limit: int = MAX_DRAWN) -> tuple[dict[str, Any], int]:
    """A large account's map shows the people who matter: key stakeholders, the people someone of
    ours knows, and their managers up the chain (so the tree holds together), at most `limit`.
    Returns the doc to draw and how many people were left out."""
    people = doc["stakeholders"]
    if len(people) <= limit:
        return doc, 0
    by_id = {p["id"]: p for p in people}
    keep: set[int] = set()
    for p in sorted(people, key=lambda p: (not p["key"], -(p["strength"] or 0), p["id"])):
        if not (p["key"] or p["known"]) or len(keep) >= limit:
            continue
        chain: list[int] = []
        cur: dict[str, Any] | None = p
        while cur is not None and cur["id"] not in keep and len(chain) < limit:
            chain.append(cur["id"])
            cur = by_id.get(cur["reports_to_id"]) if cur["reports_to_id"] else None
        if len(keep) + len(chain) <= limit:
            keep.update(chain)
    shown = [p for p in people if p["id"] in keep]
    roots = [p["id"] for p in shown if p["reports_to_id"] not in keep]
    return {**doc, "stakeholders": shown, "roots": roots}, len(people) - len(shown)


def _layout(
    doc: dict[str, Any],
) -> tuple[dict[int, tuple[float, float]], list[tuple[str, float, int]]]:
    """Each stakeholder's box corner: one band per level present, C-level on top, wrapping after
    PER_LINE boxes; within a band, the reports-to tree's depth-first order, so reports sit under
    their managers. Also the bands: (level, top, lines)."""
    order = tree(doc)
    count = {lv: sum(1 for s, _ in order if s["level"] == lv) for lv in LEVELS}
    bands: list[tuple[str, float, int]] = []
    y = float(TOP)
    for lv in LEVELS:
        if count[lv]:
            lines = -(-count[lv] // PER_LINE)
            bands.append((lv, y, lines))
            y += lines * ROW_H
    top = {lv: band_y for lv, band_y, _ in bands}
    slot = dict.fromkeys(LEVELS, 0)
    pos: dict[int, tuple[float, float]] = {}
    for s, _depth in order:
        lv = s["level"]
        line, col = divmod(slot[lv], PER_LINE)
        pos[s["id"]] = (PEOPLE_X + col * (BOX_W + GAP_X), top[lv] + line * ROW_H)
        slot[lv] += 1
    return pos, bands


def render_svg(doc: dict[str, Any], picked: tuple[dict[str, Any], int] | None = None) -> str:
    """The map of `doc`; `picked`: what `drawn` gave of its stakeholders, when the caller has it."""
    sub, left_out = picked or drawn(doc)
    if left_out:  # else every stakeholder is drawn, as `doc` holds them
        doc = {**doc, "stakeholders": sub["stakeholders"], "roots": sub["roots"]}
    pos, bands = _layout(doc)
    members, more = _members(doc)
    widest = max([x for x, _ in pos.values()], default=PEOPLE_X) + BOX_W
    bottom = max(
        bands[-1][1] + bands[-1][2] * ROW_H if bands else TOP,
        TOP + len(members) * (MEMBER_H + MEMBER_GAP),
    )
    width, height = max(int(widest) + 40, 900), int(bottom) + 120
    note = f" — {left_out} more people not drawn" if left_out else ""
    note += f" — {more} more colleagues not drawn" if more else ""
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" {FONT} font-size="12">',
        f'<rect x="0" y="0" width="{width}" height="{height}" fill="#ffffff"/>',
        f'<text x="{LEFT}" y="30" font-size="20" font-weight="bold" fill="#111">'
        f"Account plan: {_cut(doc['org']['name'], 80)}</text>",
        f'<text x="{LEFT}" y="50" fill="#555">{e(audience_line(doc))}{e(note)}</text>',
    ]
    out += _level_labels(bands, width)
    out += _reports_to_lines(doc, pos)
    out += _member_lines(doc, pos, members)
    out += [_person_box(s, *pos[s["id"]]) for s in doc["stakeholders"]]
    out += [_member_box(m, y) for m, y in members.values()]
    out += _legend(int(bottom) + 20)
    out.append("</svg>")
    return "\n".join(out) + "\n"


def _members(doc: dict[str, Any]) -> tuple[dict[str, tuple[dict[str, Any], float]], int]:
    """Our members who visibly know someone drawn, in a column on the left: email -> (member, y);
    those with the most links first, at most MAX_MEMBERS (and how many more there were)."""
    found: dict[str, dict[str, Any]] = {}
    links: dict[str, int] = {}
    for s in doc["stakeholders"]:
        for k in s["known_by"]:
            email = k["member"]["email"]
            found.setdefault(email, {**k["member"], "yours": k["yours"]})
            links[email] = links.get(email, 0) + (k["strength"] or 1)
    ranked = sorted(found.values(), key=lambda m: (-links[m["email"]], m["name"], m["email"]))
    shown = sorted(ranked[:MAX_MEMBERS], key=lambda m: (m["name"], m["email"]))
    column: dict[str, tuple[dict[str, Any], float]] = {
        m["email"]: (
            {**m, "colour": MEMBER_COLOURS[i % len(MEMBER_COLOURS)]},
            TOP + i * (MEMBER_H + MEMBER_GAP),
        )
        for i, m in enumerate(shown)
    }
    return column, len(ranked) - len(shown)


def _level_labels(bands: list[tuple[str, float, int]], width: int) -> list[str]:
    out = []
    for i, (lv, y, lines) in enumerate(bands):
        out.append(
            f'<rect x="{PEOPLE_X - 10}" y="{y - 12}" width="{width - PEOPLE_X - 10}" '
            f'height="{lines * ROW_H - ROW_H + BOX_H + 24}" '
            f'fill="{"#f7f9fc" if i % 2 == 0 else "#ffffff"}"/>'
        )
        out.append(
            f'<text x="{width - 20}" y="{y - 1}" text-anchor="end" fill="#90a4ae" '
            f'font-size="11">{LEVEL_NAMES[lv]}</text>'
        )
    return out


def _reports_to_lines(doc: dict[str, Any], pos: dict[int, tuple[float, float]]) -> list[str]:
    out = []
    for s in doc["stakeholders"]:
        boss = s["reports_to_id"]
        if boss is None or boss not in pos:
            continue
        (cx, cy), (bx, by) = pos[s["id"]], pos[boss]
        out.append(
            f'<line x1="{cx + BOX_W / 2}" y1="{cy}" x2="{bx + BOX_W / 2}" y2="{by + BOX_H}" '
            'stroke="#9e9e9e" stroke-width="1.2"/>'
        )
    return out


def _member_lines(
    doc: dict[str, Any],
    pos: dict[int, tuple[float, float]],
    members: dict[str, tuple[dict[str, Any], float]],
) -> list[str]:
    out = []
    for s in doc["stakeholders"]:
        px, py = pos[s["id"]]
        for k in s["known_by"]:
            if k["member"]["email"] not in members:
                continue
            m, my = members[k["member"]["email"]]
            x1, y1 = LEFT + MEMBER_W, my + MEMBER_H / 2
            x2, y2 = px, py + BOX_H / 2
            mid = (x1 + x2) / 2
            out.append(
                f'<path d="M{x1},{y1} C{mid},{y1} {mid},{y2} {x2},{y2}" fill="none" '
                f'stroke="{m["colour"]}" stroke-opacity="0.55" '
                f'stroke-width="{k["strength"] or 1}"/>'
            )
    return out


def _person_box(s: dict[str, Any], x: float, y: float) -> str:
    border = "#e65100" if s["single_threaded"] else ("#37474f" if s["key"] else "#90a4ae")
    dash = ' stroke-dasharray="5,3"' if s["single_threaded"] else ""
    weight = 2.5 if s["key"] or s["single_threaded"] else 1
    sub = " · ".join(b for b in (s["title"], s["country"]) if b)
    return (
        f"<g><title>{e(s['name'])}: {e(s['title'])} (stance {e(s['stance'])})</title>"
        f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="6" '
        f'fill="{STANCE_FILL[s["stance"]]}" stroke="{border}" stroke-width="{weight}"{dash}/>'
        f'<text x="{x + 8}" y="{y + 18}" font-weight="bold" fill="#111">{_cut(s["name"], 22)}'
        f'</text><text x="{x + 8}" y="{y + 35}" fill="#333" font-size="10.5">{_cut(sub, 28)}'
        "</text></g>"
    )


def _member_box(m: dict[str, Any], y: float) -> str:
    label = m["name"] + (" (you)" if m["yours"] else "")
    return (
        f'<g><rect x="{LEFT}" y="{y}" width="{MEMBER_W}" height="{MEMBER_H}" rx="17" '
        f'fill="#ffffff" stroke="{m["colour"]}" stroke-width="2"/>'
        f'<text x="{LEFT + 14}" y="{y + 21}" fill="{m["colour"]}" font-weight="bold">'
        f"{_cut(label, 24)}</text></g>"
    )


def _legend(y: int) -> list[str]:
    out = [f'<text x="{LEFT}" y="{y + 12}" font-weight="bold" fill="#111">Stance</text>']
    x = LEFT + 60
    for stance, fill in STANCE_FILL.items():
        out.append(
            f'<rect x="{x}" y="{y}" width="16" height="16" fill="{fill}" stroke="#555"/>'
            f'<text x="{x + 22}" y="{y + 12}" fill="#333">{stance}</text>'
        )
        x += 105
    y += 32
    out.append(f'<text x="{LEFT}" y="{y + 4}" font-weight="bold" fill="#111">Strength</text>')
    x = LEFT + 80
    for n in range(1, 6):
        out.append(
            f'<line x1="{x}" y1="{y}" x2="{x + 40}" y2="{y}" stroke="#1565c0" stroke-width="{n}"/>'
            f'<text x="{x + 46}" y="{y + 4}" fill="#333">{n}</text>'
        )
        x += 75
    out.append(
        f'<rect x="{x + 10}" y="{y - 9}" width="30" height="18" fill="#fff" stroke="#e65100" '
        f'stroke-width="2.5" stroke-dasharray="5,3"/><text x="{x + 46}" y="{y + 4}" '
        'fill="#333">single-threaded key stakeholder</text>'
    )
    return out


def to_svg(doc: dict[str, Any]) -> str:
    return render_svg(doc)
