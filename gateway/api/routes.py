"""REST v1 (``/api/v1``): classify as a service and conversations, behind scoped bearer tokens.

Decisions a caller may rely on:
- another tenant's conversation id is "not found" (404), never "forbidden";
- ``GET /conversations/{id}`` shows what the customer saw; internal notes and agent drafts are added
  only for tokens with the ``admin`` scope;
- the conversation list is newest first (by id) with an opaque keyset cursor, so a walk is stable
  while conversations are being created: nothing repeats, nothing that existed when it began is
  skipped; conversations created during the walk appear on the next walk from the start;
- ``POST /conversations`` is the REST intake through the same ``ingest`` as every channel
  (``Channel.API``), idempotent by ``external_id``: 201 when stored, 200 with ``duplicate: true``
  when resent.
"""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from aiohttp import web
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, ValidationError

from gateway.api.auth import ApiError, Authenticator
from gateway.api.classify import ClassifyService
from gateway.api.models import (
    ClassifyBatchResult,
    ClassifyItem,
    ClassifyRequest,
    ClassifyResult,
    ConversationDetail,
    ConversationOut,
    ConversationPage,
    ConversationPath,
    CreateConversationRequest,
    CreateConversationResult,
    ListConversationsQuery,
    MessageOut,
    SourceOut,
)
from gateway.api.operations import Operation
from gateway.http_errors import FieldError, error_response
from gateway.ingest import IngestError
from store import conversations
from store.api_tokens import ApiToken
from store.models import (
    Channel,
    ClaimSource,
    Conversation,
    IdentityClaim,
    IdentityKind,
    InboundMessage,
    IngestResult,
    Message,
)

IngestPort = Callable[[InboundMessage], Awaitable[IngestResult]]
PREFIX = "/api/v1"
CURSOR_VERSION = "c1"
M = TypeVar("M", bound=BaseModel)


def unstorable_text(data: Any, path: str = "") -> str | None:
    """The path of the first string PostgreSQL cannot store (a NUL, or a lone surrogate that is not
    UTF-8), so it is a 422 naming the field instead of a database error."""
    if isinstance(data, str):
        return path if "\x00" in data or (not data.isascii() and _not_utf8(data)) else None
    items = data.items() if isinstance(data, dict) else enumerate(data) if isinstance(data, list) else ()
    for key, value in items:
        if isinstance(key, str) and (found := unstorable_text(key, path)) is not None:
            return found
        if (found := unstorable_text(value, f"{path}.{key}" if path else str(key))) is not None:
            return found
    return None


def _not_utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def parse(model: type[M], data: Any, where: str = "") -> M:
    if (bad := unstorable_text(data)) is not None:
        raise FieldError(".".join(p for p in (where, bad) if p) or "body",
                         "must not contain NUL characters or unpaired surrogates")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        field = ".".join(p for p in (where, loc) if p) or "body"
        raise FieldError(field, first["msg"]) from None


def json_out(model: BaseModel, status: int = 200) -> web.Response:
    return web.json_response(model.model_dump(mode="json"), status=status)


def encode_cursor(conversation_id: int) -> str:
    return base64.urlsafe_b64encode(f"{CURSOR_VERSION}:{conversation_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        version, _, value = raw.partition(":")
        if version != CURSOR_VERSION:
            raise ValueError(version)
        return int(value)
    except ValueError:
        raise FieldError("cursor", "not a cursor this API handed out") from None


def conversation_out(c: Conversation) -> dict[str, Any]:
    return {"id": c.id, "status": c.status, "channel": c.last_channel, "subject": c.subject, "category": c.category,
            "urgency": c.urgency, "sentiment": c.sentiment, "customer_id": c.customer_id,
            "assignee_id": c.assignee_id, "created_at": c.created_at, "updated_at": c.updated_at}


def message_out(m: Message) -> MessageOut:
    return MessageOut(id=m.id, seq=m.seq, direction=m.direction, author_kind=m.author_kind, channel=m.channel,
                      subject=m.subject, text=m.text, reply_kind=m.reply_kind, created_at=m.created_at,
                      sources=[SourceOut(id=s.id, title=s.title, snippet=s.snippet, score=s.score, url=s.url)
                               for s in m.sources])


class RestApi:
    def __init__(self, pool: AsyncConnectionPool, ingest: IngestPort, classifier: ClassifyService,
                 auth: Authenticator | None = None) -> None:
        self.pool = pool
        self.ingest = ingest
        self.classifier = classifier
        self.auth = auth or Authenticator(pool)

    def operations(self) -> list[Operation]:
        return [
            Operation("classify", "POST", f"{PREFIX}/classify", "classify", "Classify text without a conversation",
                      self.classify, {200: (ClassifyResult, ClassifyBatchResult)}, body=ClassifyRequest,
                      description="Category, urgency, sentiment, complexity, language (each with a confidence),"
                                  " skills and matching KB passages: the agent graph's own labels for the same"
                                  " text. One text returns a result; `items` (up to 100) returns `results`.",
                      errors=(401, 403, 422, 429)),
            Operation("listConversations", "GET", f"{PREFIX}/conversations", "read", "List conversations",
                      self.list_conversations, {200: (ConversationPage,)}, query=ListConversationsQuery,
                      description="Newest first, keyset-paginated: stable while conversations are created."
                                  " Filters combine with AND; keep them the same while following `next_cursor`."
                                  " Date-times are ISO 8601 with an offset (percent-encode a `+` as `%2B`).",
                      errors=(401, 403, 422, 429)),
            Operation("createConversation", "POST", f"{PREFIX}/conversations", "write",
                      "Create a conversation (or add to the customer's open one) from an external system",
                      self.create_conversation, {201: (CreateConversationResult,), 200: (CreateConversationResult,)},
                      body=CreateConversationRequest,
                      description="Goes through the same intake as every channel. Idempotent by `external_id`:"
                                  " resending returns 200 with `duplicate: true`.",
                      errors=(401, 403, 422, 429)),
            Operation("getConversation", "GET", f"{PREFIX}/conversations/{{id}}", "read",
                      "A conversation with its messages", self.get_conversation, {200: (ConversationDetail,)},
                      path_params=ConversationPath,
                      description="Internal notes and agent drafts are included only for tokens with scope admin.",
                      errors=(401, 403, 404, 422, 429)),
        ]

    def routes(self, ops: list[Operation] | None = None) -> list[web.RouteDef]:
        """Routes for ``ops`` (default: this module's), each behind the token and scope check."""
        return [web.route(op.method, op.path, self._guarded(op)) for op in (self.operations() if ops is None else ops)]

    def _guarded(self, op: Operation) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def handle(request: web.Request) -> web.StreamResponse:
            try:
                token = await self.auth.check(request, op.scope)
                return await op.handler(request, token)
            except ApiError as exc:
                return error_response(exc.status, exc.code, str(exc), exc.field, headers=exc.headers)

        handle.__name__ = op.operation_id
        return handle

    async def classify(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        req = parse(ClassifyRequest, await request.json())
        if req.items is None:
            assert req.body is not None
            return json_out(await self.classifier.classify(token.tenant_id, ClassifyItem(subject=req.subject,
                                                                                         body=req.body)))
        results = [await self.classifier.classify(token.tenant_id, item) for item in req.items]
        return json_out(ClassifyBatchResult(results=results))

    async def list_conversations(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        q = parse(ListConversationsQuery, dict(request.query))
        before = decode_cursor(q.cursor) if q.cursor else None
        async with self.pool.connection() as conn:
            rows = await conversations.page(conn, token.tenant_id, before_id=before, status=q.status,
                                            channel=q.channel, assignee_id=q.assignee, urgency=q.urgency,
                                            category=q.category, created_after=q.created_after,
                                            created_before=q.created_before, limit=q.limit + 1)
        more = len(rows) > q.limit
        rows = rows[:q.limit]
        page = ConversationPage(data=[ConversationOut(**conversation_out(c)) for c in rows],
                                next_cursor=encode_cursor(rows[-1].id) if more else None)
        return json_out(page)

    async def get_conversation(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        conversation_id = parse(ConversationPath, dict(request.match_info)).id
        async with self.pool.connection() as conn:
            try:
                conv = await conversations.get(conn, token.tenant_id, conversation_id)
            except conversations.NotFound:
                raise FieldError("id", f"conversation {conversation_id} not found", status=404,
                                 code="not_found") from None
            msgs = await conversations.messages(conn, token.tenant_id, conv.id, include_internal="admin" in token.scopes)
        return json_out(ConversationDetail(**conversation_out(conv), messages=[message_out(m) for m in msgs]))

    async def create_conversation(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        req = parse(CreateConversationRequest, await request.json())
        claims: list[IdentityClaim] = []
        if req.customer.external_id is not None:
            claims.append(IdentityClaim(IdentityKind.EXTERNAL, req.customer.external_id, ClaimSource.API_EXTERNAL_ID,
                                        req.customer.name))
        if req.customer.email is not None:
            # An address asserted by the tenant's own system: trusted like a web form's (links by
            # address, never merges two customers by itself).
            claims.append(IdentityClaim(IdentityKind.EMAIL, req.customer.email, ClaimSource.FORM_EMAIL,
                                        req.customer.name))
        msg = InboundMessage(tenant_id=token.tenant_id, channel=Channel.API, external_id=req.external_id,
                             claims=tuple(c.normalized() for c in claims), text=req.text, subject=req.subject,
                             raw={"api_token_id": token.id})
        try:
            result = await self.ingest(msg)
        except IngestError as exc:
            raise FieldError(exc.field, str(exc)) from None
        out = CreateConversationResult(conversation_id=result.conversation_id, message_id=result.message_id,
                                       customer_id=result.customer_id, created_conversation=result.created_conversation,
                                       duplicate=result.duplicate)
        return json_out(out, status=200 if result.duplicate else 201)
