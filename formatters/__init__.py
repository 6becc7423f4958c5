"""Pure renderers: one module per channel turns a ``Reply`` into that channel's payload dict.

The registry refuses suggestions here, at the one door the send path uses, because a draft must
never reach a customer; the channel modules themselves render any kind so the copilot can preview
a draft as the customer would see it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from formatters import chat, email, slack, webform
from store.models import Channel, RenderContext, Reply

Renderer = Callable[[Reply, RenderContext], dict[str, Any]]

RENDERERS: dict[Channel, Renderer] = {
    Channel.CHAT: chat.render,
    Channel.EMAIL: email.render,
    Channel.SLACK: slack.render,
    Channel.WEBFORM: webform.render,
}


def render(channel: Channel, reply: Reply, ctx: RenderContext) -> dict[str, Any]:
    """Render ``reply`` for ``channel``.

    ``ValueError`` for a draft, for a reply with neither text nor actions (an upstream bug that would
    otherwise go out as an empty bubble), and for a channel without a formatter.
    """
    if not reply.kind.customer_visible:
        raise ValueError(f"a {reply.kind.value} reply is never sent to a customer")
    if not reply.text.strip() and not reply.actions:
        raise ValueError("an empty reply has nothing to show")
    renderer = RENDERERS.get(channel)
    if renderer is None:
        raise ValueError(f"no formatter for channel {channel.value!r}")
    return renderer(reply, ctx)
