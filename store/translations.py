"""Customer-facing strings in the customer's language, from gettext catalogs (``store/locales/*.po``).

The ``.po`` files are the source of truth and the only thing in the repo: they are compiled in memory
with Babel the first time a language is asked for, so a fresh clone needs no build step and there is
no stale ``.mo`` to forget. The message ids are the English texts, so English needs no catalog and a
string missing from a catalog falls back to English rather than to a key.

This sits in ``store/`` because every room that speaks to customers needs it (the agent graph's
handoff notice, the gateway's CSAT and confirmation mails, the channels' widget and form pages) and
only the store may be imported by all of them. Lookup is pure once a catalog is loaded; formatters
never load catalogs, they receive already translated text.
"""

from __future__ import annotations

import gettext
import io
import threading
from dataclasses import replace
from pathlib import Path

from store.models import Action

LOCALES_DIR = Path(__file__).resolve().parent / "locales"
DOMAIN = "switchboard"
DEFAULT = "en"

_lock = threading.Lock()
_loaded: dict[str, gettext.NullTranslations] = {}


def available() -> tuple[str, ...]:
    """Languages a customer can be served in: English plus every catalog shipped."""
    return (DEFAULT, *sorted(p.stem for p in LOCALES_DIR.glob("*.po")))


def _compile(language: str) -> gettext.NullTranslations:
    from babel.messages.mofile import write_mo
    from babel.messages.pofile import read_po

    path = LOCALES_DIR / f"{language}.po"
    if not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as fh:
        catalog = read_po(fh, locale=language, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog)  # fuzzy entries are left out, as msgfmt does
    buf.seek(0)
    return gettext.GNUTranslations(buf)


def translations(language: str | None) -> gettext.NullTranslations:
    """The catalog for ``language`` (``"de"``, ``"de-AT"``, ``"de_DE"`` all mean German); English if none."""
    code = (language or DEFAULT).replace("_", "-").split("-")[0].lower()
    if not code.isalpha() or len(code) > 3:
        code = DEFAULT
    found = _loaded.get(code)
    if found is None:
        with _lock:
            found = _loaded.get(code)
            if found is None:
                found = gettext.NullTranslations() if code == DEFAULT else _compile(code)
                _loaded[code] = found
    return found


def served_language(language: str | None) -> str:
    """The language the customer actually gets: theirs when a catalog exists, else English."""
    code = (language or DEFAULT).replace("_", "-").split("-")[0].lower()
    return code if code in available() else DEFAULT


def translate(language: str | None, message: str, **values: object) -> str:
    """``message`` (an English msgid) in ``language``, with ``{name}`` placeholders filled afterwards."""
    text = translations(language).gettext(message)
    return text.format(**values) if values else text


def negotiate(accept_language: str | None) -> str:
    """The best served language for a browser's ``Accept-Language`` header (widget and form pages)."""
    from babel import Locale

    if not accept_language:
        return DEFAULT
    preferred = []
    for part in accept_language.split(",")[:20]:
        tag, _, q = part.strip().partition(";q=")
        try:
            weight = float(q) if q else 1.0
        except ValueError:
            continue
        if tag and tag != "*":
            preferred.append((weight, tag.strip()))
    ordered = [tag.replace("-", "_") for _, tag in sorted(preferred, key=lambda p: -p[0])]
    found = Locale.negotiate(ordered, list(available()), sep="_") if ordered else None
    return found.language if found else DEFAULT


def localized_actions(language: str | None, actions: tuple[Action, ...]) -> tuple[Action, ...]:
    """Buttons keep their ids (channels route presses by id) and get labels in the customer's language."""
    return tuple(replace(a, label=translate(language, a.label)) for a in actions)
