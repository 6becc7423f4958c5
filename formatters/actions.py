"""Where pressing an action leads on channels that can only offer links (email, the web form).

The endpoint itself is the gateway's; formatters only need its shape, and it lives here, not in
one channel's module, so email and the form page always agree on it.
"""

from __future__ import annotations

from urllib.parse import quote

from formatters.markup import safe_url
from store.models import Action, RenderContext


def action_url(ctx: RenderContext, action: Action) -> str | None:
    """``{base_url}/actions/{conversation_id}/{action_id}``; ``None`` without a public http(s) base."""
    base = safe_url(ctx.base_url)
    if base is None or not base.lower().startswith(("http://", "https://")):
        return None
    return f"{base.rstrip('/')}/actions/{ctx.conversation_id}/{quote(action.id, safe='')}"
