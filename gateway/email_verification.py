"""Chat visitors proving they own an email address (``channels.ports.EmailVerification``).

The visitor types an address; we mail a one-time link to it through the outbox. Opening the link
shows a page with a confirm button, and only the button (a POST) merges the visitor into the
address's customer. A GET must not do it: mail security scanners open every link in incoming mail,
and a merge on their visit would hand the typed address's history to whoever typed it.
"""

from __future__ import annotations

import logging

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from formatters.markup import escape_html
from store import conversations, customers, mailboxes, one_time_tokens, outbox, tenants, translations
from store.models import Channel

log = logging.getLogger("switchboard.email_verification")
PURPOSE = "verify_email"
TOKEN_TTL_SECONDS = 24 * 3600
MAX_PER_HOUR = 3  # per visitor and per address: the form must not become a way to flood someone's inbox


class EmailVerifier:
    def __init__(self, pool: AsyncConnectionPool, base_url: str) -> None:
        self.pool = pool
        self.base_url = base_url.rstrip("/")

    async def __call__(self, tenant_id: int, customer_id: int, email: str) -> bool:
        """Queues the link; False when the tenant has no mailbox to send from, or the limit is reached."""
        async with self.pool.connection() as conn, conn.transaction():
            if await mailboxes.default_for(conn, tenant_id) is None:
                return False
            for key in ({"subject_id": customer_id}, {"email": email}):
                if await one_time_tokens.recent_count(conn, tenant_id, purpose=PURPOSE, within_seconds=3600,
                                                      **key) >= MAX_PER_HOUR:  # type: ignore[arg-type]
                    log.info("verification mail limit reached for tenant %s (%s)", tenant_id, key)
                    return False
            tenant = await tenants.get(conn, tenant_id)
            token = await one_time_tokens.issue(conn, tenant_id, purpose=PURPOSE, subject_id=customer_id,
                                                data={"email": email}, ttl_seconds=TOKEN_TTL_SECONDS)
            link = f"{self.base_url}/verify-email/{token}"
            team = f"{tenant.name if tenant else ''} Support".strip()
            language = translations.served_language(await conversations.latest_language(conn, tenant_id, customer_id))
            body = verification_mail(language, team, link)
            await outbox.enqueue(conn, tenant_id, channel=Channel.EMAIL,
                                 payload={"kind": "notice", "author_kind": "system", "to": email, "body": body},
                                 idempotency_key=f"{PURPOSE}:{one_time_tokens.token_hash(token)}")
        return True

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/verify-email/{token}", self.page), web.post("/verify-email/{token}", self.confirm)]

    async def page(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        async with self.pool.connection() as conn:
            found = await one_time_tokens.peek(conn, token, purpose=PURPOSE)
        if found is None:
            return _page("Link expired", "This link is no longer valid. Ask for a new one in the chat.", status=410)
        email = escape_html(str(found.data.get("email", "")))
        form = (f'<form method="post"><p>Link <strong>{email}</strong> to your chat?</p>'
                '<button type="submit">Yes, confirm</button></form>')
        return _page("Confirm your email address", form, raw=True)

    async def confirm(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        async with self.pool.connection() as conn, conn.transaction():
            used = await one_time_tokens.use(conn, token, purpose=PURPOSE)
            if used is None:
                return _page("Link expired", "This link is no longer valid. Ask for a new one in the chat.", status=410)
            await customers.verify_claim(conn, used.tenant_id, used.subject_id, str(used.data["email"]),
                                         actor="visitor:verified-email-link")
        return _page("Email address confirmed", "Thank you. You can go back to the chat.")


def verification_mail(language: str, team: str, link: str) -> dict[str, str]:
    """The email formatter's body shape, in the visitor's language (the one their chat was in)."""
    def t(message: str) -> str:
        return translations.translate(language, message, team=team)

    hello, asked = t("Hello,"), t("someone (hopefully you) asked to link this address to a chat with {team}.")
    how, ignore = t("To confirm, open this link and press the button:"), t(
        "If this was not you, ignore this message; nothing changes.")
    return {
        "kind": "notice",
        "subject": t("Confirm your email address for {team}"),
        "text": f"{hello}\n\n{asked}\n{how}\n\n{link}\n\n{ignore}\n",
        "html": (f"<p>{escape_html(hello)}</p><p>{escape_html(asked)}</p><p><a href=\"{escape_html(link)}\">"
                 f"{escape_html(t('Confirm your email address'))}</a></p><p>{escape_html(ignore)}</p>"),
        "language": language,
    }


def _page(title: str, body: str, *, status: int = 200, raw: bool = False) -> web.Response:
    content = body if raw else f"<p>{escape_html(body)}</p>"
    html = (f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
            f'content="width=device-width, initial-scale=1"><meta name="referrer" content="no-referrer">'
            f"<title>{escape_html(title)}</title></head><body><h1>{escape_html(title)}</h1>{content}</body></html>")
    return web.Response(text=html, content_type="text/html", status=status,
                        headers={"Cache-Control": "no-store", "X-Frame-Options": "DENY"})
