"""Request and response bodies of REST v1 as pydantic models: validation and the OpenAPI schemas
come from the same classes, so the document cannot drift from what the handlers accept."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import (
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from store.models import AuthorKind, Channel, ConversationStatus, Direction, ReplyKind

MAX_BATCH = 100
MAX_TEXT = 100_000
MAX_ID = 2**63 - 1  # ids are bigints: larger ones cannot exist (and must not reach the database)
CATEGORY_PATTERN = r"^[a-z0-9][a-z0-9_-]{0,39}$"  # what the admin settings accept as a category
Urgency = Literal["critical", "high", "medium", "low"]

_ISO_8601 = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", re.I)
_DECODED_PLUS = re.compile(r"(T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$", re.I)


def _iso_8601(value: Any) -> Any:
    """Only ISO 8601 date-times: pydantic alone would also take "1717401600" as a Unix time, which
    a filter should not guess at. A space before the offset is a ``+`` that was not percent-encoded
    (query strings decode ``+`` as a space), so it is read as one instead of refusing a plain typo."""
    if not isinstance(value, str) or not _ISO_8601.match(value):
        raise ValueError("an ISO 8601 date-time with an offset, e.g. 2024-06-03T08:00:00Z")
    return _DECODED_PLUS.sub(r"\1+\2", value)


QueryTime = Annotated[AwareDatetime, BeforeValidator(_iso_8601)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ErrorDetail(BaseModel):
    code: str = Field(description="machine-readable, e.g. invalid, unauthorized, forbidden, not_found, rate_limited")
    message: str
    field: str | None = Field(default=None, description="the request field at fault, when there is one")


class ErrorBody(BaseModel):
    """Every error, on every route."""

    error: ErrorDetail


class ClassifyItem(Strict):
    subject: str | None = Field(default=None, max_length=998)
    body: str = Field(min_length=1, max_length=MAX_TEXT)


class ClassifyRequest(Strict):
    """Either one text (``subject``?, ``body``) or ``items``, a batch of up to 100."""

    subject: str | None = Field(default=None, max_length=998)
    body: str | None = Field(default=None, min_length=1, max_length=MAX_TEXT)
    items: list[ClassifyItem] | None = Field(default=None, min_length=1, max_length=MAX_BATCH)

    @model_validator(mode="after")
    def one_form(self) -> ClassifyRequest:
        if (self.body is None) == (self.items is None):
            raise ValueError("send either body (with an optional subject) or items, not both")
        if self.items is not None and self.subject is not None:
            raise ValueError("subject belongs inside each item of a batch")
        return self


class Label(BaseModel):
    label: str
    confidence: float


class SourceOut(BaseModel):
    id: str = Field(description='e.g. "kb:12#3": article 12, chunk 3')
    title: str
    snippet: str
    score: float = Field(description="cosine similarity of the passage to the text")
    url: str | None = None


class ClassifyResult(BaseModel):
    category: Label
    urgency: Label
    sentiment: Label
    complexity: Label
    language: Label
    skills: list[str]
    top_categories: list[Label] = Field(description="the likeliest categories, best first")
    sources: list[SourceOut] = Field(description="matching knowledge-base passages, best first")


class ClassifyBatchResult(BaseModel):
    results: list[ClassifyResult] = Field(description="one per item, in request order")


class ConversationOut(BaseModel):
    id: int
    status: ConversationStatus
    channel: Channel = Field(description="the channel of the latest message")
    subject: str | None
    category: str | None
    urgency: str | None
    sentiment: str | None
    customer_id: int
    assignee_id: int | None
    created_at: datetime
    updated_at: datetime


class ConversationPage(BaseModel):
    data: list[ConversationOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class MessageOut(BaseModel):
    id: int
    seq: int
    direction: Direction
    author_kind: AuthorKind
    channel: Channel
    subject: str | None
    text: str
    reply_kind: ReplyKind | None
    sources: list[SourceOut]
    created_at: datetime


class ConversationDetail(ConversationOut):
    messages: list[MessageOut] = Field(description="oldest first; internal notes and drafts only with scope admin")


class ListConversationsQuery(Strict):
    """Filters combine with AND, and with the cursor: a cursor only says where the walk stands, so
    keep the same filters from page to page."""

    status: ConversationStatus | None = None
    channel: Channel | None = Field(default=None, description="the conversation's latest channel")
    assignee: int | None = Field(default=None, ge=1, le=MAX_ID, description="the assigned agent's id")
    urgency: Urgency | None = None
    category: str | None = Field(default=None, pattern=CATEGORY_PATTERN, description="a category slug, e.g. billing")
    created_after: QueryTime | None = Field(
        default=None, description="created at or after this ISO 8601 date-time (with an offset, e.g. Z)")
    created_before: QueryTime | None = Field(
        default=None, description="created strictly before this ISO 8601 date-time (with an offset, e.g. Z)")
    limit: int = Field(default=50, ge=1, le=100)
    cursor: str | None = Field(default=None, max_length=200, description="next_cursor of the previous page")

    @field_validator("created_before")
    @classmethod
    def after_the_start(cls, value: datetime | None, info: ValidationInfo) -> datetime | None:
        start = info.data.get("created_after")
        if value is not None and start is not None and value <= start:
            raise ValueError("must be later than created_after")
        return value


class CustomerRef(Strict):
    """Who wrote it: an id in the calling system and/or an email address (at least one)."""

    external_id: str | None = Field(default=None, min_length=1, max_length=200,
                                    description='the customer in your system, e.g. "crm:4711"')
    email: str | None = Field(default=None, max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    name: str | None = Field(default=None, max_length=200)

    @model_validator(mode="after")
    def some_identity(self) -> CustomerRef:
        if self.external_id is None and self.email is None:
            raise ValueError("external_id or email is required")
        return self


class CreateConversationRequest(Strict):
    external_id: str = Field(min_length=1, max_length=512,
                             description="your id for this message; resending it returns the same conversation")
    customer: CustomerRef
    subject: str | None = Field(default=None, max_length=998)
    text: str = Field(min_length=1, max_length=MAX_TEXT)


class CreateConversationResult(BaseModel):
    conversation_id: int
    message_id: int
    customer_id: int
    created_conversation: bool = Field(description="false when the message joined the customer's open conversation")
    duplicate: bool = Field(description="true when external_id was seen before; nothing new was stored")


class ConversationPath(Strict):
    id: int = Field(ge=1, le=MAX_ID)


Scope = Literal["read", "write", "classify", "admin"]
