"""The shared vocabulary every room speaks.

Frozen dataclasses, not dicts, so that a typo in a field name is an error at the edge that made it,
not a silent ``None`` three rooms later.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

# Characters PostgreSQL text and jsonb refuse (NUL, unpaired surrogates): input carrying them is
# refused at the edge with the field named, instead of failing an insert with a 500.
UNSTORABLE = re.compile("[\x00\ud800-\udfff]")

class Channel(StrEnum):
    CHAT = "chat"
    EMAIL = "email"
    SLACK = "slack"
    WEBFORM = "webform"
    API = "api"
    WEBHOOK = "webhook"  # outgoing only: a tenant's webhook subscriptions (store/webhooks.py); never a reply channel


class ReplyKind(StrEnum):
    """What a reply is for; the structured field, never a marker in the text."""

    ANSWER = "answer"
    CLARIFY = "clarify"
    HANDOFF = "handoff"
    NOTICE = "notice"  # system messages: confirmations, "an agent will reply", CSAT prompts
    SUGGESTION = "suggestion"  # a draft for agents; never sent by itself

    @property
    def customer_visible(self) -> bool:
        return self is not ReplyKind.SUGGESTION


class ConversationStatus(StrEnum):
    NEW = "new"
    AI_ACTIVE = "ai_active"
    WAITING_CUSTOMER = "waiting_customer"
    PENDING_AGENT = "pending_agent"
    ASSIGNED = "assigned"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Direction(StrEnum):
    INBOUND = "in"
    OUTBOUND = "out"
    INTERNAL = "internal"  # notes and system events agents see; never sent to a customer


class AuthorKind(StrEnum):
    CUSTOMER = "customer"
    AI = "ai"
    AGENT = "agent"
    SYSTEM = "system"


class IdentityKind(StrEnum):
    EMAIL = "email"
    SLACK_USER = "slack_user"  # value: "<team_id>:<user_id>"
    CHAT_VISITOR = "chat_visitor"  # value: the visitor id inside the signed token
    EXTERNAL = "external"  # value: "<system>:<id>" from the REST API


class ClaimSource(StrEnum):
    """How an identity claim reached us; ``store.trust`` maps each to what it may do."""

    EMAIL_FROM = "email_from"
    FORM_EMAIL = "form_email"
    SLACK_USER = "slack_user"
    SLACK_PROFILE_EMAIL_VERIFIED_WORKSPACE = "slack_profile_email_verified_workspace"
    SLACK_PROFILE_EMAIL_OTHER_WORKSPACE = "slack_profile_email_other_workspace"
    CHAT_VISITOR_TOKEN = "chat_visitor_token"
    CHAT_TYPED_EMAIL = "chat_typed_email"
    CHAT_VERIFIED_EMAIL = "chat_verified_email"
    API_EXTERNAL_ID = "api_external_id"


@dataclass(frozen=True, slots=True)
class IdentityClaim:
    kind: IdentityKind
    value: str
    source: ClaimSource
    display_name: str | None = None

    def normalized(self) -> IdentityClaim:
        value = self.value.strip()
        if self.kind is IdentityKind.EMAIL:
            value = value.lower()
        return IdentityClaim(self.kind, value, self.source, self.display_name)


@dataclass(frozen=True, slots=True)
class ThreadHint:
    """What the channel knows about which conversation a message continues.

    ``conversation_id`` is an explicit id (a chat room); ingest still checks the sender owns it.
    ``keys`` are channel thread keys (email Message-IDs from In-Reply-To/References, a Slack
    ``channel:thread_ts``); ``new_key`` is the key this message itself introduces.
    """

    conversation_id: int | None = None
    keys: tuple[str, ...] = ()
    new_key: str | None = None
    # A shared space whose participants already see each other (a Slack thread): keys thread any sender.
    shared_space: bool = False


@dataclass(frozen=True, slots=True)
class AttachmentMeta:
    name: str
    content_type: str
    size: int
    # The file's bytes when the channel has them (email parts); ingest stores them in ``attachments``.
    content: bytes | None = field(default=None, repr=False)
    # Why a channel kept the bytes out (too large, download failed); listed on the message with it.
    rejected: str | None = None


@dataclass(frozen=True, slots=True)
class InboundMessage:
    tenant_id: int
    channel: Channel
    external_id: str
    claims: tuple[IdentityClaim, ...]
    text: str
    thread: ThreadHint = field(default_factory=ThreadHint)
    subject: str | None = None
    attachments: tuple[AttachmentMeta, ...] = ()
    # Files the same sender uploaded beforehand (chat widget) that this message sends.
    upload_ids: tuple[int, ...] = ()
    raw: Mapping[str, Any] = field(default_factory=dict)
    received_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Flags such as "auto_reply", "bulk", "bounce", "oversized", "malformed": stored, never answered.
    flags: tuple[str, ...] = ()

    @property
    def suppress_reply(self) -> bool:
        return bool(self.flags)


@dataclass(frozen=True, slots=True)
class Source:
    id: str  # e.g. "kb:12#3" or "conversation:481"
    title: str
    snippet: str
    score: float
    url: str | None = None
    kind: str = "kb"


@dataclass(frozen=True, slots=True)
class Action:
    """A button the customer can press; ids are stable so channels can route the press back."""

    id: str
    label: str


TALK_TO_HUMAN = Action("talk_to_human", "Talk to a person")
SOLVED = Action("solved", "This solved it")


@dataclass(frozen=True, slots=True)
class Reply:
    kind: ReplyKind
    text: str
    sources: tuple[Source, ...] = ()
    actions: tuple[Action, ...] = ()
    language: str = "en"


@dataclass(frozen=True, slots=True)
class RenderContext:
    """What a formatter may know beyond the reply itself; formatters do no lookups."""

    conversation_id: int
    tenant_name: str
    customer_name: str | None = None
    subject: str | None = None
    quoted_text: str | None = None  # the customer message being answered (email quotes it)
    quoted_at: datetime | None = None
    base_url: str = ""
    # The reply language's catalog lookup (store.translations), handed in so formatters stay pure.
    gettext: Callable[[str], str] = str


@dataclass(frozen=True, slots=True)
class Classification:
    category: str
    category_confidence: float
    urgency: str
    urgency_confidence: float
    sentiment: str
    sentiment_confidence: float
    complexity: str = "simple"
    complexity_confidence: float = 0.5
    skills: tuple[str, ...] = ()
    language: str = "en"
    language_confidence: float = 1.0


@dataclass(frozen=True, slots=True)
class Customer:
    id: int
    tenant_id: int
    display_name: str | None
    merged_into: int | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Identity:
    id: int
    tenant_id: int
    customer_id: int
    kind: IdentityKind
    value: str
    source: ClaimSource
    links: bool  # True: this identity resolves to its customer; False: a claim agents see
    verified: bool
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Conversation:
    id: int
    tenant_id: int
    customer_id: int
    status: ConversationStatus
    last_channel: Channel
    subject: str | None
    category: str | None
    urgency: str | None
    sentiment: str | None
    assignee_id: int | None
    clarify_turns: int
    last_seq: int
    created_at: datetime
    updated_at: datetime
    language: str | None = None  # ISO 639-1, as last detected on the customer's messages


@dataclass(frozen=True, slots=True)
class Message:
    id: int
    tenant_id: int
    conversation_id: int
    seq: int
    direction: Direction
    author_kind: AuthorKind
    channel: Channel
    text: str
    created_at: datetime
    external_id: str | None = None
    reply_kind: ReplyKind | None = None
    sources: tuple[Source, ...] = ()
    actions: tuple[Action, ...] = ()
    flags: tuple[str, ...] = ()
    subject: str | None = None
    deleted: bool = False


@dataclass(frozen=True, slots=True)
class IngestResult:
    message_id: int
    conversation_id: int
    customer_id: int
    seq: int
    duplicate: bool
    created_conversation: bool
    created_at: datetime | None = None  # the stored message's; lets a channel echo it without reading it back
