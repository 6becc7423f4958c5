"""The embeddable chat widget: one page per tenant (made to sit in an iframe) and its static files.

The page is a shell; everything live happens in ``widget.js`` over the ``/chat`` Socket.IO
namespace (``channels/chat.py``). The Socket.IO client is the npm package, served from the repo's
``node_modules`` rather than copied into the tree, so upgrading it is an ``npm`` change.
"""

from __future__ import annotations

from pathlib import Path

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from channels.web_pages import CSP, SECURITY_HEADERS, WEB_DIR, render
from store import tenants, translations

REPO_ROOT = Path(__file__).resolve().parents[1]
SOCKET_IO_CLIENT = REPO_ROOT / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
# Our own static files, by public name; nothing else under channels/web/ is reachable.
STATIC_FILES = {
    "widget.js": "text/javascript",
    "widget.css": "text/css",
    "form.css": "text/css",
}
# The page's fixed strings (English msgids, see store/locales/*.po) by template key.
PAGE_STRINGS = {
    "t_title": "Chat with {tenant} support", "t_heading": "{tenant} Support", "t_connecting": "Connecting…",
    "t_conversation": "Conversation", "t_empty": "Hi! Ask us anything — we'll answer right here.",
    "t_typing": "Support is typing…", "t_your_message": "Your message", "t_placeholder": "Write a message…",
    "t_hint": "Press Enter to send, Shift+Enter for a new line.", "t_send": "Send",
    "t_email_too": "Get replies by email too", "t_your_email": "Your email address", "t_save": "Save",
    "t_email_note": "We'll send a link to confirm it's yours.", "t_attach": "Attach a file",
}


def page_strings(language: str, tenant_name: str) -> dict[str, str]:
    return {key: translations.translate(language, msgid).replace("{tenant}", tenant_name)
            for key, msgid in PAGE_STRINGS.items()}


class WidgetPages:
    def __init__(self, pool: AsyncConnectionPool, *, socket_io_client: Path = SOCKET_IO_CLIENT) -> None:
        self.pool = pool
        self.socket_io_client = socket_io_client

    def routes(self) -> list[web.RouteDef]:
        return [
            web.get("/widget/{tenant}", self.page),
            web.get("/static/widget/{name}", self.static),
            web.get("/static/vendor/socket.io.min.js", self.vendor_socket_io),
        ]

    async def page(self, request: web.Request) -> web.Response:
        slug = request.match_info["tenant"]
        async with self.pool.connection() as conn:
            tenant = await tenants.by_slug(conn, slug)
        # Framing is the point of this page, so no frame-ancestors/X-Frame-Options here.
        headers = {**SECURITY_HEADERS, "Content-Security-Policy": CSP}
        if tenant is None:
            body = render("not_found.html", title="Chat not found",
                          message="There is no support chat at this address.")
            return web.Response(text=body, status=404, content_type="text/html", headers=headers)
        language = translations.negotiate(request.query.get("lang") or request.headers.get("Accept-Language"))
        body = render("widget.html", tenant_slug=tenant.slug, lang=language, **page_strings(language, tenant.name))
        return web.Response(text=body, content_type="text/html", headers=headers)

    async def static(self, request: web.Request) -> web.StreamResponse:
        name = request.match_info["name"]
        content_type = STATIC_FILES.get(name)
        if content_type is None:
            raise web.HTTPNotFound(text=f"no static file {name[:60]!r}")
        return _file(WEB_DIR / name, content_type)

    async def vendor_socket_io(self, request: web.Request) -> web.StreamResponse:
        if not self.socket_io_client.is_file():
            return web.Response(
                status=503, content_type="text/plain",
                text="socket.io-client is not installed: run `./run setup` (it runs `npm ci` in the repo root).\n")
        return _file(self.socket_io_client, "text/javascript")


def _file(path: Path, content_type: str) -> web.FileResponse:
    """Revalidated on every load (ETag/Last-Modified), so a deploy never serves a stale script."""
    resp = web.FileResponse(path, headers={"Cache-Control": "no-cache", "X-Content-Type-Options": "nosniff"})
    resp.content_type = content_type
    resp.charset = "utf-8"
    return resp
