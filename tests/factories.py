"""Builders for inbound messages as each channel would produce them."""

from __future__ import annotations

import uuid

from store.models import Channel, ClaimSource, IdentityClaim, IdentityKind, InboundMessage, ThreadHint


def email(tenant_id: int, sender: str, text: str = "Hello, I need help", *, message_id: str | None = None,
          references: tuple[str, ...] = (), subject: str = "Help") -> InboundMessage:
    mid = message_id or f"<{uuid.uuid4().hex}@customer.test>"
    return InboundMessage(
        tenant_id=tenant_id, channel=Channel.EMAIL, external_id=mid, text=text, subject=subject,
        claims=(IdentityClaim(IdentityKind.EMAIL, sender, ClaimSource.EMAIL_FROM),),
        thread=ThreadHint(keys=references, new_key=mid),
    )


def form(tenant_id: int, sender: str, text: str = "Form question", *, token: str | None = None) -> InboundMessage:
    return InboundMessage(
        tenant_id=tenant_id, channel=Channel.WEBFORM, external_id=token or uuid.uuid4().hex, text=text,
        claims=(IdentityClaim(IdentityKind.EMAIL, sender, ClaimSource.FORM_EMAIL),),
    )


def slack(tenant_id: int, team: str, user: str, text: str = "hi from slack", *, profile_email: str | None = None,
          verified_workspace: bool = False, thread: str | None = None, event_id: str | None = None) -> InboundMessage:
    claims = [IdentityClaim(IdentityKind.SLACK_USER, f"{team}:{user}", ClaimSource.SLACK_USER)]
    if profile_email:
        source = (ClaimSource.SLACK_PROFILE_EMAIL_VERIFIED_WORKSPACE if verified_workspace
                  else ClaimSource.SLACK_PROFILE_EMAIL_OTHER_WORKSPACE)
        claims.append(IdentityClaim(IdentityKind.EMAIL, profile_email, source))
    key = thread or f"D1:{uuid.uuid4().hex[:10]}"
    return InboundMessage(
        tenant_id=tenant_id, channel=Channel.SLACK, external_id=event_id or uuid.uuid4().hex, text=text,
        claims=tuple(claims), thread=ThreadHint(keys=(key,), new_key=key, shared_space=True),
    )


def chat(tenant_id: int, visitor: str, text: str = "hi from chat", *, typed_email: str | None = None,
         conversation_id: int | None = None, client_id: str | None = None) -> InboundMessage:
    claims = [IdentityClaim(IdentityKind.CHAT_VISITOR, visitor, ClaimSource.CHAT_VISITOR_TOKEN)]
    if typed_email:
        claims.append(IdentityClaim(IdentityKind.EMAIL, typed_email, ClaimSource.CHAT_TYPED_EMAIL))
    return InboundMessage(
        tenant_id=tenant_id, channel=Channel.CHAT, external_id=client_id or f"{visitor}:{uuid.uuid4().hex}",
        text=text, claims=tuple(claims), thread=ThreadHint(conversation_id=conversation_id),
    )
