"""REST v1 writes to a conversation: patch status/assignee/urgency, an agent's reply, an internal note.

Decisions a caller may rely on:
- status changes go through the one state machine (``store.conversations.transition``); a move it
  forbids is 409 with ``field: status``; resolving queues the conversation for the learning index,
  as the console's resolve does;
- ``assignee_id`` must be an agent of the token's tenant (else 422 naming it) and assigns through
  ``conversations.assign`` (status ``assigned``); to unassign, move the status to ``pending_agent``
  or ``ai_active``;
- a reply's author is an agent, never the token: ``agent_id`` in the body, or the conversation's
  current assignee when it is left out (422 on ``agent_id`` when there is neither). An API token
  stands for an integration, not a person, and every customer-visible human reply in Switchboard
  has an accountable agent. The reply takes the same path as the console's (assign to the author
  if needed → ``gateway.replies.send_reply`` → formatter → outbox → ``waiting_customer``);
- a note is an internal message (never in the outbox, never shown to the customer); its author is
  ``agent_id`` when given, else the system on behalf of the token.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool
from pydantic import BaseModel, Field, model_validator

from gateway.api.models import MAX_ID, ConversationOut, ConversationPath, Strict, Urgency
from gateway.api.operations import Operation
from gateway.api.routes import PREFIX, conversation_out, json_out, parse
from gateway.http_errors import FieldError
from gateway.replies import send_reply
from store import agents, audit, conversations, past_conversations, triage
from store.api_tokens import ApiToken
from store.models import AuthorKind, Channel, Conversation, ConversationStatus, Direction, Reply, ReplyKind

S = ConversationStatus
MAX_REPLY_CHARS = 20_000


class PatchConversationRequest(Strict):
    """At least one of the fields; they apply in order: assignee, status, urgency."""

    status: ConversationStatus | None = Field(default=None, description="moved through the state machine")
    assignee_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="an agent of this tenant")
    urgency: Urgency | None = None

    @model_validator(mode="after")
    def something(self) -> PatchConversationRequest:
        if self.status is None and self.assignee_id is None and self.urgency is None:
            raise ValueError("give status, assignee_id or urgency")
        return self


class ReplyRequest(Strict):
    text: str = Field(min_length=1, max_length=MAX_REPLY_CHARS, pattern=r"\S")
    agent_id: int | None = Field(default=None, ge=1, le=MAX_ID,
                                 description="the author; defaults to the conversation's assignee")


class NoteRequest(Strict):
    text: str = Field(min_length=1, max_length=MAX_REPLY_CHARS, pattern=r"\S")
    agent_id: int | None = Field(default=None, ge=1, le=MAX_ID, description="the author, if an agent")


class WrittenMessage(BaseModel):
    message_id: int
    seq: int
    channel: Channel = Field(description="where a reply is delivered; for a note, the conversation's channel")
    conversation: ConversationOut


def _not_found(conversation_id: int) -> FieldError:
    return FieldError("id", f"conversation {conversation_id} not found", status=404, code="not_found")


async def _agent_of_tenant(conn: AsyncConnection[Any], tenant_id: int, agent_id: int, field: str) -> int:
    if await agents.get(conn, tenant_id, agent_id) is None:
        raise FieldError(field, f"no agent {agent_id} in this tenant")
    return agent_id


class ConversationWrites:
    def __init__(self, pool: AsyncConnectionPool, base_url: str) -> None:
        self.pool = pool
        self.base_url = base_url

    def operations(self) -> list[Operation]:
        one = f"{PREFIX}/conversations/{{id}}"
        errors = (401, 403, 404, 409, 422, 429)
        return [
            Operation("patchConversation", "PATCH", one, "write", "Change status, assignee or urgency",
                      self.patch, {200: (ConversationOut,)}, body=PatchConversationRequest,
                      path_params=ConversationPath, errors=errors,
                      description="Status moves through the conversation state machine: a forbidden move is 409"
                                  " naming `status`. `assignee_id` assigns (status `assigned`)."),
            Operation("replyToConversation", "POST", f"{one}/replies", "write", "Send an agent's reply to the customer",
                      self.reply, {201: (WrittenMessage,)}, body=ReplyRequest, path_params=ConversationPath,
                      errors=errors,
                      description="Authored by `agent_id` (default: the assignee), who then owns the conversation;"
                                  " delivered on the channel of the customer's last message, like a console reply."),
            Operation("addConversationNote", "POST", f"{one}/notes", "write", "Add an internal note",
                      self.note, {201: (WrittenMessage,)}, body=NoteRequest, path_params=ConversationPath,
                      errors=(401, 403, 404, 422, 429),
                      description="Visible to agents (and to tokens with scope admin); never sent to the customer."),
        ]

    async def patch(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        cid = parse(ConversationPath, dict(request.match_info)).id
        req = parse(PatchConversationRequest, await request.json())
        actor = f"api:{token.id}"
        async with self.pool.connection() as conn, conn.transaction():
            try:
                conv = await conversations.get(conn, token.tenant_id, cid, lock=True)
                if req.assignee_id is not None:
                    agent_id = await _agent_of_tenant(conn, token.tenant_id, req.assignee_id, "assignee_id")
                    conv = await conversations.assign(conn, token.tenant_id, cid, agent_id, actor=actor)
                if req.status is not None and req.status != conv.status:
                    if req.status is S.ASSIGNED and conv.assignee_id is None:
                        raise FieldError("assignee_id", "moving to assigned needs an assignee_id")
                    conv = await conversations.transition(conn, token.tenant_id, cid, req.status, actor=actor,
                                                          reason="changed over the API")
                    if req.status is S.RESOLVED:
                        await past_conversations.enqueue_remember(conn, token.tenant_id, cid)
                if req.urgency is not None and req.urgency != conv.urgency:
                    conv = await self._set_urgency(conn, token, cid, req.urgency)
            except conversations.NotFound:
                raise _not_found(cid) from None
            except conversations.TransitionError as exc:
                raise FieldError("status", str(exc), status=409, code="conflict") from None
        return json_out(ConversationOut(**conversation_out(conv)))

    async def _set_urgency(self, conn: AsyncConnection[Any], token: ApiToken, cid: int, urgency: str
                           ) -> Conversation:
        """Overrides the classifier's urgency when it has spoken (its accuracy counts the correction,
        as a console override does); otherwise sets it outright. Either way it is audited."""
        cur = await conn.execute("SELECT message_id FROM message_classifications WHERE tenant_id = %s"
                                 " AND conversation_id = %s ORDER BY id DESC LIMIT 1", (token.tenant_id, cid))
        row = await cur.fetchone()
        if row is not None:
            await triage.override(conn, token.tenant_id, row["message_id"], field="urgency", new_value=urgency,
                                  agent_id=None)
            conv = await conversations.get(conn, token.tenant_id, cid)
        else:
            conv = await conversations.set_urgency(conn, token.tenant_id, cid, urgency)
        await audit.record(conn, token.tenant_id, actor=f"api:{token.id}", action="conversation.urgency_set",
                           subject_type="conversation", subject_id=cid, details={"urgency": urgency})
        return conv

    async def reply(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        cid = parse(ConversationPath, dict(request.match_info)).id
        req = parse(ReplyRequest, await request.json())
        actor = f"api:{token.id}"
        async with self.pool.connection() as conn, conn.transaction():
            try:
                conv = await conversations.get(conn, token.tenant_id, cid, lock=True)
                author = req.agent_id or conv.assignee_id
                if author is None:
                    raise FieldError("agent_id", "required: the conversation has no assignee to reply as")
                await _agent_of_tenant(conn, token.tenant_id, author, "agent_id")
                if conv.assignee_id != author:  # replying takes the conversation over, as in the console
                    await conversations.assign(conn, token.tenant_id, cid, author, actor=actor)
                cur = await conn.execute(
                    "SELECT id FROM messages WHERE tenant_id = %s AND conversation_id = %s AND direction = 'in'"
                    " ORDER BY seq DESC LIMIT 1", (token.tenant_id, cid))
                last_in = await cur.fetchone()
                msg = await send_reply(conn, token.tenant_id, cid, Reply(ReplyKind.ANSWER, req.text),
                                       author_kind=AuthorKind.AGENT, author_id=author,
                                       answers_message_id=last_in["id"] if last_in else None, base_url=self.base_url)
                conv = await conversations.transition(conn, token.tenant_id, cid, S.WAITING_CUSTOMER, actor=actor,
                                                      reason="agent replied over the API")
            except conversations.NotFound:
                raise _not_found(cid) from None
            except conversations.TransitionError as exc:
                raise FieldError("status", str(exc), status=409, code="conflict") from None
        out = WrittenMessage(message_id=msg.id, seq=msg.seq, channel=msg.channel,
                             conversation=ConversationOut(**conversation_out(conv)))
        return json_out(out, status=201)

    async def note(self, request: web.Request, token: ApiToken) -> web.StreamResponse:
        cid = parse(ConversationPath, dict(request.match_info)).id
        req = parse(NoteRequest, await request.json())
        async with self.pool.connection() as conn, conn.transaction():
            try:
                conv = await conversations.get(conn, token.tenant_id, cid)
            except conversations.NotFound:
                raise _not_found(cid) from None
            if req.agent_id is not None:
                await _agent_of_tenant(conn, token.tenant_id, req.agent_id, "agent_id")
            msg = await conversations.append_message(
                conn, token.tenant_id, cid, direction=Direction.INTERNAL,
                author_kind=AuthorKind.AGENT if req.agent_id else AuthorKind.SYSTEM, author_id=req.agent_id,
                channel=conv.last_channel, text=req.text, raw={"api_token_id": token.id})
            conv = await conversations.get(conn, token.tenant_id, cid)
        out = WrittenMessage(message_id=msg.id, seq=msg.seq, channel=msg.channel,
                             conversation=ConversationOut(**conversation_out(conv)))
        return json_out(out, status=201)
