"""Pages the browser channels serve, from templates under ``channels/web/`` with escaping by default.

``string.Template`` plus ``html.escape`` is all these few pages need: every substituted value is
escaped unless the caller wrapped it in ``Safe`` (fragments this module or the caller built from
escaped parts). Escaping by default means a forgotten call shows ``&lt;`` on a page, not a script.
"""

from __future__ import annotations

import html
from functools import cache
from pathlib import Path
from string import Template

WEB_DIR = Path(__file__).resolve().parent / "web"


class Safe(str):
    """Already-escaped HTML; substituted as it is."""


def escape(value: object) -> str:
    if isinstance(value, Safe):
        return value
    return html.escape("" if value is None else str(value), quote=True)


@cache
def _template(name: str) -> Template:
    return Template((WEB_DIR / name).read_text(encoding="utf-8"))


def render(name: str, **values: object) -> str:
    """Fills ``channels/web/{name}``; a missing value is a KeyError (a bug), never an empty hole."""
    return _template(name).substitute({key: escape(value) for key, value in values.items()})


def join(fragments: list[Safe]) -> Safe:
    return Safe("".join(fragments))


# Pages are meant to be framed (widget) or linked (form); scripts only from our origin, nothing inline.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'")
SECURITY_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cache-Control": "no-store",
}
