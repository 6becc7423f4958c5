"""The weekly digest as an email: figures (computed by ``gateway.ops.digest``) → subject, text and HTML.

Pure like every formatter: the charts are referenced by the ``src`` the caller gives for each chart
name (``cid:…`` for the email's inline image parts), never fetched or rendered here.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from formatters.markup import escape_html, squash

CHART_TITLES = {
    "volume": "Conversations per week",
    "categories": "Categories: this week vs last week",
    "rates": "Auto-resolution and suggestion adoption",
    "csat": "CSAT average per week",
}
TREND_WORDS = {"up": "rising", "down": "falling", "flat": "steady"}
# The same topics the console's insights page lists, so the digest says what they are made of.
GAPS_MEANING = "questions the knowledge base could not answer, grouped by meaning"
_CELL = "padding:4px 8px;border-bottom:1px solid #ddd;text-align:left"


def percent(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.0f}%"


def change(value: float | None) -> str:
    return "new" if value is None else f"{value * 100:+.0f}%"


def score(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}"


def gap_volume(gap: Mapping[str, Any]) -> str:
    """A gap topic's size and direction; the title is its most typical question, so examples follow it."""
    return (f"{gap['volume']} questions in two weeks ({gap['this_week']} this week, {gap['last_week']} the week"
            f" before, {TREND_WORDS.get(gap['trend'], gap['trend'])})")


def subject(figures: Mapping[str, Any], tenant_name: str) -> str:
    team = squash(tenant_name) or "Support"
    return f"{team} weekly digest: {figures['period']['start'][:10]} to {figures['period']['end'][:10]}"


def headline(figures: Mapping[str, Any]) -> list[tuple[str, str]]:
    """(label, value) pairs shown first, in the text and HTML parts alike."""
    v, a, c, s = figures["volume"], figures["auto_resolution"], figures["csat"], figures["adoption"]
    return [
        ("Conversations", f"{v['this_week']} (last week {v['last_week']}, {change(v['change'])})"),
        ("Auto-resolved", f"{percent(a['this_week'])} (last week {percent(a['last_week'])})"),
        ("CSAT average", f"{score(c['this_week'])} from {c['answers']} answers (last week {score(c['last_week'])})"),
        ("Suggestions adopted", f"{percent(s['this_week'])} of {s['decided']} decided (last week {percent(s['last_week'])})"),
    ]


def render(figures: Mapping[str, Any], chart_src: Mapping[str, str], *, tenant_name: str) -> dict[str, str]:
    """``{"subject", "text", "html", "language"}``; ``chart_src`` maps chart name → img src (missing: no image)."""
    return {"subject": subject(figures, tenant_name), "text": _text(figures), "html": _html(figures, chart_src, tenant_name),
            "language": "en"}


def _text(figures: Mapping[str, Any]) -> str:
    lines = [f"Weekly digest, {figures['period']['start'][:10]} to {figures['period']['end'][:10]}", ""]
    lines += [f"{label}: {value}" for label, value in headline(figures)]
    if figures["emerging"]:
        lines += ["", "Emerging categories:"]
        lines += [f"- {e['category']}: {e['this_week']} (last week {e['last_week']})" for e in figures["emerging"]]
    if figures["kb_gaps"]:
        lines += ["", f"Top knowledge-base gaps ({GAPS_MEANING}):"]
        for gap in figures["kb_gaps"]:
            lines.append(f"- {squash(gap['title'])}: {gap_volume(gap)}")
            lines += [f'    "{squash(q)}"' for q in gap["examples"][1:]]
    return "\n".join(lines) + "\n"


def _html(figures: Mapping[str, Any], chart_src: Mapping[str, str], tenant_name: str) -> str:
    rows = "".join(f'<tr><th style="{_CELL}">{escape_html(label)}</th><td style="{_CELL}">{escape_html(value)}</td></tr>'
                   for label, value in headline(figures))
    parts = [f"<h1>{escape_html(subject(figures, tenant_name))}</h1>", f'<table style="border-collapse:collapse">{rows}</table>']
    for name, title in CHART_TITLES.items():
        if name in chart_src:
            parts.append(f"<h2>{escape_html(title)}</h2>"
                         f'<img src="{escape_html(chart_src[name])}" alt="{escape_html(title)}" width="600">')
    if figures["emerging"]:
        items = "".join(f"<li>{escape_html(e['category'])}: {e['this_week']} (last week {e['last_week']})</li>"
                        for e in figures["emerging"])
        parts.append(f"<h2>Emerging categories</h2><ul>{items}</ul>")
    if figures["kb_gaps"]:
        items = "".join(
            f"<li>{escape_html(squash(g['title']))}: {escape_html(gap_volume(g))}"
            + ("<ul>" + "".join(f"<li>{escape_html(squash(q))}</li>" for q in g["examples"][1:]) + "</ul>"
               if len(g["examples"]) > 1 else "")
            + "</li>" for g in figures["kb_gaps"])
        parts.append(f"<h2>Top knowledge-base gaps</h2><p>{escape_html(GAPS_MEANING.capitalize())}.</p><ul>{items}</ul>")
    body = "\n".join(parts)
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f"<title>{escape_html(subject(figures, tenant_name))}</title>\n</head>\n<body>\n{body}\n</body>\n</html>\n")
