"""CSAT: ask after resolution on the customer's channel, take one 1–5 answer per conversation.

Chat and Slack get buttons (``csat_1``..``csat_5``, which both channels already route back as customer
actions); email and the web form get a link to ``/csat/{token}``. The token is a one-time token (only
its hash is stored) and is the whole capability: the page needs no cookie, so there is nothing for a
cross-site request to ride on, and opening the link (mail scanners do) changes nothing; only the POST
answers. Links and buttons expire with the survey.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from aiohttp import web
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from gateway.ops.routing import utcnow
from gateway.ops.settings import ops_setting
from gateway.replies import send_reply
from store import audit, conversations, csat, one_time_tokens, tenants, translations
from store.models import Action, AuthorKind, Channel, Reply, ReplyKind

PURPOSE = "csat"
BUTTONS = tuple(Action(f"csat_{n}", label) for n, label in enumerate(["1 😞", "2", "3", "4", "5 😍"], start=1))
BUTTON_CHANNELS = (Channel.CHAT, Channel.SLACK)
QUESTION = "How did we do? Rate this conversation from 1 (poor) to 5 (great)."
MAX_COMMENT = 2000


class CsatService:
    def __init__(self, pool: AsyncConnectionPool, base_url: str, clock: Callable[[], datetime] = utcnow) -> None:
        self.pool = pool
        self.base_url = base_url.rstrip("/")
        self.clock = clock

    # -- asking -------------------------------------------------------------------------------
    async def send_due(self, tenant_id: int, *, now: datetime) -> list[int]:
        """Surveys every conversation resolved in the last day that has not been asked yet."""
        async with self.pool.connection() as conn:
            settings = ops_setting(await tenants.get(conn, tenant_id), "csat")
            if not settings.get("enabled", True):
                return []
            due = await csat.due_for_survey(conn, tenant_id, now=now, within_seconds=86400,
                                            include_auto_resolved=bool(settings.get("survey_auto_resolved", True)))
        sent = []
        for row in due:
            async with self.pool.connection() as conn, conn.transaction():
                if await self.send_survey(conn, tenant_id, row["id"], now=now,
                                          days=float(settings.get("link_days", 7))):
                    sent.append(row["id"])
        return sent

    async def send_survey(self, conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, *,
                          now: datetime, days: float = 7) -> bool:
        conv = await conversations.get(conn, tenant_id, conversation_id, lock=True)
        channel = conv.last_channel
        if not await csat.claim_survey(conn, tenant_id, conversation_id, channel=channel.value, now=now,
                                       expires_at=now + timedelta(days=days)):
            return False
        language = translations.served_language(conv.language)  # what the classifier last detected
        question = translations.translate(language, QUESTION)
        if channel in BUTTON_CHANNELS:
            reply = Reply(ReplyKind.NOTICE, question, actions=BUTTONS, language=language)
        else:
            token = await one_time_tokens.issue(conn, tenant_id, purpose=PURPOSE, subject_id=conversation_id,
                                                data={"channel": channel.value}, ttl_seconds=days * 86400)
            link = translations.translate(language, "Answer here (one click, no sign-in): {link}",
                                          link=f"{self.base_url}/csat/{token}")
            reply = Reply(ReplyKind.NOTICE, f"{question}\n\n{link}", language=language)
        msg = await send_reply(conn, tenant_id, conversation_id, reply, author_kind=AuthorKind.SYSTEM,
                               channel=channel, base_url=self.base_url)
        await csat.attach_message(conn, tenant_id, conversation_id, msg.id)
        return True

    # -- answering ----------------------------------------------------------------------------
    async def answer(self, conn: AsyncConnection[Any], tenant_id: int, conversation_id: int, score: int, *,
                     actor: str, now: datetime, comment: str | None = None, channel: str | None = None) -> bool:
        """Records the first answer; False for a second answer or an expired survey."""
        survey = await csat.survey(conn, tenant_id, conversation_id)
        if survey is not None and now > survey.expires_at:
            return False
        conv = await conversations.get(conn, tenant_id, conversation_id)
        first = await csat.record_answer(conn, tenant_id, conversation_id, score=score, comment=comment,
                                         channel=channel or conv.last_channel.value, actor=actor, now=now)
        if first:
            await audit.record(conn, tenant_id, actor=actor, action="csat.answered", subject_type="conversation",
                               subject_id=conversation_id, details={"score": score})
        return first

    # -- the email link -----------------------------------------------------------------------
    def routes(self) -> list[web.RouteDef]:
        return [web.get("/csat/{token}", self.page), web.post("/csat/{token}", self.submit)]

    async def page(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        async with self.pool.connection() as conn:
            found = await one_time_tokens.peek(conn, token, purpose=PURPOSE)
        if found is None:
            return _page("Link expired", "<p>This survey link has expired or was already used. Thank you!</p>", 410)
        pre = request.query.get("score", "")
        choices = "".join(
            f'<label><input type="radio" name="score" value="{n}" required{" checked" if pre == str(n) else ""}>'
            f" {n}</label> " for n in range(1, 6))
        form = (f'<form method="post" action="/csat/{html.escape(token, quote=True)}">'
                f"<fieldset><legend>{html.escape(QUESTION)}</legend>{choices}</fieldset>"
                f'<p><label for="comment">Anything to add? (optional)</label><br>'
                f'<textarea id="comment" name="comment" maxlength="{MAX_COMMENT}" rows="4" cols="50"></textarea></p>'
                '<button type="submit">Send</button></form>')
        return _page("How did we do?", form)

    async def submit(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        data = await request.post()
        raw = str(data.get("score", ""))
        if raw not in {"1", "2", "3", "4", "5"}:
            return _page("Pick a score", "<p>Please choose a score from 1 to 5 and send again.</p>", 422)
        comment = str(data.get("comment", "")).strip()[:MAX_COMMENT] or None
        now = self.clock()
        async with self.pool.connection() as conn, conn.transaction():
            used = await one_time_tokens.use(conn, token, purpose=PURPOSE)
            if used is None:
                return _page("Link expired", "<p>This survey link has expired or was already used. Thank you!</p>",
                             410)
            await self.answer(conn, used.tenant_id, used.subject_id, int(raw), actor="csat:link", now=now,
                              comment=comment, channel=str(used.data.get("channel") or "email"))
        return _page("Thank you!", "<p>Thanks for your feedback.</p>")


def _page(title: str, body: str, status: int = 200) -> web.Response:
    doc = (f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
           f'content="width=device-width, initial-scale=1"><title>{html.escape(title)}</title></head>'
           f"<body><main><h1>{html.escape(title)}</h1>{body}</main></body></html>")
    return web.Response(text=doc, content_type="text/html", status=status, headers={
        "Cache-Control": "no-store", "Referrer-Policy": "no-referrer", "X-Frame-Options": "DENY",
        "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; form-action 'self';"
                                   " frame-ancestors 'none'"})
