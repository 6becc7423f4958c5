"""Find the part of an email body the customer actually typed.

The agent and the classifier must see the customer's new words, not the whole history the mail
client pasted underneath; the full body is kept elsewhere (``raw["body"]``) for agents.

We build on ``email-reply-parser`` (the zapier Python port of GitHub's Ruby gem) because its
fragment scanner handles ``>`` quotes, inline replies and English ``On … wrote:`` headers well, and
add only what it misses, in three small passes:

1. **Cut at hard boundaries first** (before the library sees the text): Outlook header blocks
   (``From:/Sent:/To:/Subject:``, ``*From:*`` bold variants, ``De:/Envoyé:``, ``Von:/Gesendet:`` …),
   ``-----Original Message-----`` and its localized forms, and attribution lines in other languages
   or wrapped over up to three lines (``Am … schrieb …:``, ``Le … a écrit :``, ``El … escribió:``,
   ``Il giorno … ha scritto:``, ``Op … schreef …:``). An attribution is *not* cut when the customer
   answered inline below it: then the quotes are context for the answers.
2. **Run the library** and take the visible text the way the Ruby gem defines it: every non-hidden
   fragment, quoted or not. The Python port's ``parse_reply`` also drops quoted fragments that sit
   *above* the customer's text (inline answers, bottom posting), which loses the question being
   answered.
3. **Cut trailing mobile/client signatures** the library only sees after a blank line ("Sent from my
   iPhone", "Get Outlook for iOS", "Sent from Mail for Windows", localized "Von meinem iPhone
   gesendet" …) and a bare ``--`` / ``-- `` delimiter.

Where the library disagrees with the Ruby fixtures (``github/email_reply_parser`` test suite,
checked against PyPI email-reply-parser 0.5.12, see ``tests/channels/test_email_parse.py``), it
fails three of them:

* ``email_1_1.txt`` and ``email_1_8.txt``: whitespace only. Ruby keeps each fragment's trailing
  newline (and a fragment that is just ``"\\n"``), the Python ``Fragment.content`` strips it; the
  visible reply is the same words. Nothing to fix, we compare whitespace-normalized.
* ``email_sent_from_my_not_signature.txt``: a real bug. The port's ``SIG_REGEX``
  ``^Sent from my (\\w+\\s*){1,3}`` is applied with ``re.match``, i.e. not anchored at the line end,
  so the sentence "Sent from my desk, is much easier then my mobile phone." is taken for a phone
  signature and hidden. The Ruby gem anchors the pattern to the whole line. We protect such lines
  from the library (a sentinel prefix, removed afterwards) so only short whole-line
  ``Sent from my <device>`` signatures are stripped.
"""

from __future__ import annotations

import re

from email_reply_parser import EmailReplyParser

_SEPARATOR_LINE = re.compile(r"^\s*[-_=*]{3,}\s*$")

_ORIGINAL_MESSAGE = re.compile(
    r"^\s*[-_=]{2,}\s*(original message|ursprüngliche nachricht|originalnachricht|message d'origine"
    r"|message original|mensaje original|messaggio originale|oorspronkelijk bericht|mensagem original"
    r"|forwarded message|weitergeleitete nachricht|message transféré|mensaje reenviado"
    r"|messaggio inoltrato|doorgestuurd bericht)\s*[-_=]{2,}\s*$",
    re.IGNORECASE,
)

# Outlook's quoted-header block: a From line, then a Sent/Date line and a To/Subject line.
_HDR_FROM = re.compile(r"^\s*\*?(from|de|von|van|da|od|fra|från|от)\s*:\*?\s*\S", re.IGNORECASE)
_HDR_SENT = re.compile(
    r"^\s*\*?(sent|date|envoyé|gesendet|datum|enviado|fecha|inviato|data|verzonden|skickat|sendt"
    r"|отправлено)\s*:\*?",
    re.IGNORECASE,
)
_HDR_TO_SUBJECT = re.compile(
    r"^\s*\*?(to|à|a|an|para|aan|til|till|кому|subject|objet|betreff|asunto|oggetto|onderwerp|assunto"
    r"|ämne|emne|тема|cc)\s*:\*?",
    re.IGNORECASE,
)
_HEADER_BLOCK_SPAN = 6

# "On … wrote:" and its translations, possibly wrapped by the sender's client over up to 3 lines.
_ATTRIBUTION = re.compile(
    r"^\s*(on|am|le|el|il giorno|il|op|em|den|w dniu|dne)\s.{0,300}?"
    r"\b(wrote|schrieb|a écrit|escribió|escribio|ha scritto|schreef|escreveu|skrev|napisał|napsal)"
    r"\b[^\n]{0,160}?:\s*$",
    re.IGNORECASE,
)
_ATTRIBUTION_START = re.compile(r"^\s*(on|am|le|el|il|op|em|den|w dniu|dne)\s", re.IGNORECASE)
_ATTRIBUTION_VERB = re.compile(
    r"\b(wrote|schrieb|a écrit|escribió|escribio|ha scritto|schreef|escreveu|skrev|napisał|napsal)\b",
    re.IGNORECASE,
)
_ATTRIBUTION_LINES = 3
# The customer's words are at the top; past this many characters there is only history, and the
# line scans below (ours and the library's) need not walk megabytes of it.
MAX_SCAN_CHARS = 512 * 1024

_SIGNATURE_LINE = re.compile(
    r"^\s*(sent from my [\w'’ -]{1,40}?|sent from mail for windows( 1[01])?|get outlook for (ios|android)"
    r"|sent from outlook( for (ios|android|mac))?|sent from yahoo mail( for \w+)?|sent with proton ?mail.*"
    r"|von meinem [\w -]{1,30} gesendet|gesendet von meinem [\w -]{1,30}|envoyé de mon [\w -]{1,30}"
    r"|enviado desde mi [\w -]{1,30}|inviato da(l mio)? [\w -]{1,30}|verzonden vanaf mijn [\w -]{1,30}"
    r"|enviado do meu [\w -]{1,30})[.!]?\s*(<[^<>\s]+>)?\s*$",
    re.IGNORECASE,
)
_SIG_DELIMITER = re.compile(r"^--\s?$")
_SENT_FROM_PROSE = re.compile(r"^\s*sent from my\b", re.IGNORECASE)
_QUOTED = re.compile(r"^\s*>")
_FOOTER_START = re.compile(r"^\s*(--|__)")


def visible_reply(body: str) -> str:
    """The customer's newly written text, or the whole body if nothing would remain."""
    text = body[:MAX_SCAN_CHARS].replace("\r\n", "\n").replace("\r", "\n")
    if not text.strip():
        return ""
    lines = text.split("\n")
    cut = _boundary(lines)
    if cut is not None:
        lines = _drop_trailing_separators(lines[:cut])
    reply = _library_visible_text("\n".join(lines))
    reply = _strip_signature("\n".join(line.rstrip() for line in reply.split("\n")))
    return reply if reply else text.strip()


def _boundary(lines: list[str]) -> int | None:
    """Index of the first line where quoted history starts, if it has customer text above it."""
    seen_text = False
    for i, line in enumerate(lines):
        if seen_text and (
            _ORIGINAL_MESSAGE.match(line)
            or _is_header_block(lines, i)
            or (_attribution_end(lines, i) is not None and not _answered_inline(lines, i))
        ):
            return i
        if line.strip() and not _QUOTED.match(line) and not _SEPARATOR_LINE.match(line):
            seen_text = True
    return None


def _is_header_block(lines: list[str], i: int) -> bool:
    if not _HDR_FROM.match(lines[i]):
        return False
    window = lines[i + 1 : i + 1 + _HEADER_BLOCK_SPAN]
    return any(_HDR_SENT.match(line) for line in window) and any(
        _HDR_TO_SUBJECT.match(line) for line in window
    )


def _attribution_end(lines: list[str], i: int) -> int | None:
    """Last line index of an attribution starting at line ``i`` (joined over wrapped lines)."""
    if not _ATTRIBUTION_START.match(lines[i]):
        return None
    joined = ""
    for j in range(i, min(i + _ATTRIBUTION_LINES, len(lines))):
        if not lines[j].strip():
            return None
        joined = f"{joined} {lines[j].strip()}" if joined else lines[j].strip()
        if len(joined) > 500:
            return None
        if _ATTRIBUTION_VERB.search(joined) and _ATTRIBUTION.match(joined):
            return j
    return None


def _answered_inline(lines: list[str], i: int) -> bool:
    """True when unquoted text follows the quote block under an attribution (interleaved answers)."""
    end = _attribution_end(lines, i)
    assert end is not None
    seen_quote = False
    for line in lines[end + 1 :]:
        if _QUOTED.match(line):
            seen_quote = True
        elif line.strip():
            if not seen_quote or _FOOTER_START.match(line) or _SIGNATURE_LINE.match(line):
                return False
            return True
    return False


def _drop_trailing_separators(lines: list[str]) -> list[str]:
    while lines and (not lines[-1].strip() or _SEPARATOR_LINE.match(lines[-1])):
        lines.pop()
    return lines


def _library_visible_text(text: str) -> str:
    r"""Ruby-gem visible text (non-hidden fragments) of the library's fragments, made safe first.

    Two things are hidden from the library behind a sentinel that is removed afterwards: prose
    "Sent from my …" lines (its signature bug) and every "On" that does not start an attribution
    line. The latter matters: the library's multi-line header regex
    ``(?!On.*On\s.+?wrote:)(On\s(.+?)wrote:)`` runs over the whole body with DOTALL and backtracks
    super-linearly in the number of "On"s ("Only", "Online" …) when no "wrote:" follows; a 20 KB
    body took minutes. With only real attribution lines left it stays linear in practice.
    """
    sentinel = next(c for c in ("\ue000", "\ue001", "\ue002", "\ufdd0") if c not in text)
    lines = text.split("\n")
    protected: list[str] = []
    for i, line in enumerate(lines):
        if _SENT_FROM_PROSE.match(line) and not _SIGNATURE_LINE.match(line):
            line = sentinel + line
        if "On" in line and not (line.lstrip().startswith("On") and _attribution_end(lines, i) is not None):
            line = line.replace("On", f"O{sentinel}n")
        protected.append(line)
    message = EmailReplyParser.read("\n".join(protected))
    visible = "\n".join(f.content for f in message.fragments if not f.hidden)
    return visible.replace(sentinel, "").strip()


def _strip_signature(text: str) -> str:
    lines = text.split("\n")
    for i, line in enumerate(lines):
        if i > 0 and (_SIG_DELIMITER.match(line) or _SIGNATURE_LINE.match(line)):
            return "\n".join(lines[:i]).strip()
    return text.strip()
