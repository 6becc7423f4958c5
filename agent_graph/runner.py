"""The gateway's entry point into the brain: one ``run`` per ``agent_run`` job.

The job queue already runs one job per conversation at a time; the runner turns a job into a graph
invocation on the conversation's thread. If the thread is waiting on a clarifying question it is
resumed with the new message(s), otherwise a new episode starts. Because the queue keeps at most one
pending job per conversation, a job may stand for several messages: the runner consumes every
customer message newer than the thread's last one, not only the job's.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from langgraph.types import Command, Durability
from psycopg_pool import AsyncConnectionPool

from agent_graph import checkpoints
from agent_graph.backends import ModelBackend
from agent_graph.backends.offline import OfflineBackend
from agent_graph.deps import GraphDeps, one_run
from agent_graph.embedder import embed_many_async
from agent_graph.extractive import Passage
from agent_graph.graph import compile_graph, disable_tracing, thread_id
from agent_graph.nodes.decide import Decision
from agent_graph.ports import ReplySink, Router
from agent_graph.state import AgentState, Turn, classification_from, source_from
from agent_graph.tenant_models import TenantModels
from store import conversations, kb, past_conversations, triage
from store.models import (
    SOLVED,
    Action,
    AuthorKind,
    Classification,
    ConversationStatus,
    Direction,
    Message,
    Reply,
    ReplyKind,
    Source,
)

log = logging.getLogger(__name__)
SOLVED_TEXT = re.compile(rf"^\W*({re.escape(SOLVED.label)}|solved|that solved it|problem solved)\W*$", re.I)


@dataclass(frozen=True)
class AgentOutcome:
    decision: Decision
    acted: bool  # False: nothing visible happened (a human owns the conversation, or nothing new)
    reason: str = ""
    classification: Classification | None = None
    reply: Reply | None = None  # what was sent (answer/clarify/handoff) or stored (suggestion)
    reply_message_id: int | None = None
    sources: tuple[Source, ...] = ()
    assigned_agent_id: int | None = None
    confidence: float | None = None


@dataclass(frozen=True)
class SuggestionChunk:
    """One streamed piece of a draft: text (a passage offline, tokens with an LLM) and what it cites."""

    text: str
    source: Source | None = None
    done: bool = False
    sources: tuple[Source, ...] = field(default_factory=tuple)  # on the final chunk: everything cited/related


def _reply(data: dict[str, Any] | None) -> Reply | None:
    if not data:
        return None
    return Reply(ReplyKind(data["kind"]), data["text"], sources=tuple(Source(**s) for s in data["sources"]),
                 actions=tuple(Action(**a) for a in data["actions"]), language=data["language"])

# Checkpoints are written when a turn ends (answered, handed off, or interrupted to wait for the
# customer), not after every node: per-node writes were most of an agent run's database work. A run
# killed mid-turn is simply run again from the previous turn's checkpoint (its job is retried), and the
# nodes that send check for their own earlier reply, so nothing goes out twice.
DURABILITY: Durability = "exit"


class AgentRunner:
    def __init__(self, pool: AsyncConnectionPool, *, reply_sink: ReplySink, router: Router,
                 backend: ModelBackend | None = None, checkpointer_dsn: str | None = None) -> None:
        disable_tracing()
        self.pool = pool
        self.backend: ModelBackend = backend or OfflineBackend()
        self.deps = GraphDeps(pool=pool, sink=reply_sink, router=router, backend=self.backend,
                              models=TenantModels(pool))
        self._checkpointer_dsn = checkpointer_dsn or pool.conninfo
        self._checkpoint_pool: AsyncConnectionPool | None = None
        self._graph: Any = None

    async def start(self) -> None:
        """Opens the checkpointer's pool and applies its schema (idempotent, locked across processes)."""
        if self._graph is not None:
            return
        self._checkpoint_pool = await checkpoints.open_checkpoint_pool(self._checkpointer_dsn)
        await checkpoints.setup_checkpoints(self._checkpoint_pool)
        self._graph = compile_graph(self.deps, checkpoints.saver(self._checkpoint_pool))

    async def close(self) -> None:
        if self._checkpoint_pool is not None:
            await self._checkpoint_pool.close()
            self._checkpoint_pool = None
        self._graph = None
        await self.backend.close()

    async def __aenter__(self) -> AgentRunner:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    @property
    def graph(self) -> Any:
        if self._graph is None:
            raise RuntimeError("AgentRunner.start() was not called")
        return self._graph

    async def run(self, tenant_id: int, conversation_id: int, message_id: int) -> AgentOutcome:
        with one_run():
            return await self._run(tenant_id, conversation_id, message_id)

    async def _run(self, tenant_id: int, conversation_id: int, message_id: int) -> AgentOutcome:
        config = {"configurable": {"thread_id": thread_id(tenant_id, conversation_id)}}
        snapshot = await self.graph.aget_state(config)
        values: dict[str, Any] = dict(snapshot.values or {})
        if snapshot.next and not snapshot.interrupts:
            # A previous attempt died mid-graph (the job is being retried): finish it from its last
            # checkpoint. Nodes that send check for their own earlier reply, so nothing goes out twice.
            return self._outcome(await self.graph.ainvoke(None, config, durability=DURABILITY))
        async with self.pool.connection() as conn, conn.transaction():
            conv = await conversations.get(conn, tenant_id, conversation_id, lock=True)
            new = await self._new_customer_messages(conn, tenant_id, conversation_id, int(values.get("last_seq", 0)),
                                                    message_id)
            if not new:
                return AgentOutcome(Decision.NOTHING_NEW, acted=False, reason="no unanswered customer message")
            if conv.status is ConversationStatus.NEW:
                conv = await conversations.transition(conn, tenant_id, conversation_id, ConversationStatus.AI_ACTIVE,
                                                      actor="ai", reason="agent run")
            previous_ai = await self._last_ai_reply_kind(conn, tenant_id, conversation_id)
            if previous_ai is ReplyKind.ANSWER and all(SOLVED_TEXT.match(m.text) for m in new):
                return await self._confirm_solved(conn, tenant_id, conversation_id, conv.status, new)
        turn = Turn(message_id=new[-1].id, seq=new[-1].seq, text="\n".join(m.text for m in new))
        if snapshot.interrupts:
            result = await self.graph.ainvoke(Command(resume=turn), config, durability=DURABILITY)
        else:
            fresh: AgentState = {
                "tenant_id": tenant_id, "conversation_id": conversation_id, "message_id": turn["message_id"],
                "last_seq": turn["seq"], "gathered": [turn["text"]], "questions": [],
                "clarify_turns": conv.clarify_turns, "after_answer": previous_ai is ReplyKind.ANSWER,
                "classification": {}, "classify_meta": {}, "safety": {}, "hits": [], "past": [],
                "retrieval_score": 0.0, "decision": "", "reason": "", "confidence": 0.0, "outcome": {},
            }
            result = await self.graph.ainvoke(fresh, config, durability=DURABILITY)
        return self._outcome(result)

    @staticmethod
    async def _new_customer_messages(conn: Any, tenant_id: int, conversation_id: int, after_seq: int,
                                     message_id: int) -> list[Message]:
        msgs = await conversations.messages(conn, tenant_id, conversation_id, after_seq=after_seq)
        new = [m for m in msgs if m.direction is Direction.INBOUND and m.author_kind is AuthorKind.CUSTOMER
               and not m.flags and not m.deleted and m.text.strip()]
        # Customer text after the last AI/agent reply is what still needs an answer.
        last_out = max((m.seq for m in msgs if m.direction is Direction.OUTBOUND), default=0)
        return [m for m in new if m.seq > last_out or m.id == message_id]

    @staticmethod
    async def _last_ai_reply_kind(conn: Any, tenant_id: int, conversation_id: int) -> ReplyKind | None:
        cur = await conn.execute(
            "SELECT reply_kind FROM messages WHERE tenant_id = %s AND conversation_id = %s AND author_kind IN ('ai', 'agent')"
            " AND direction = 'out' ORDER BY seq DESC LIMIT 1",
            (tenant_id, conversation_id),
        )
        row = await cur.fetchone()
        return ReplyKind(row["reply_kind"]) if row and row["reply_kind"] else None

    async def _confirm_solved(self, conn: Any, tenant_id: int, conversation_id: int, status: ConversationStatus,
                              new: Sequence[Message]) -> AgentOutcome:
        """The customer pressed "This solved it": resolve, and remember the exchange for agents."""
        if status in (ConversationStatus.AI_ACTIVE, ConversationStatus.WAITING_CUSTOMER):
            await conversations.transition(conn, tenant_id, conversation_id, ConversationStatus.RESOLVED, actor="customer",
                                           reason="confirmed the AI answer solved it")
            await self.remember_resolved(tenant_id, conversation_id, conn=conn)
        await triage.record_run(conn, tenant_id, conversation_id, new[-1].id, decision="resolved", acted=True,
                                reason="customer confirmed", confidence=None, reply_message_id=None,
                                backend=self.backend.name)
        return AgentOutcome(Decision.RESOLVED, acted=True, reason="customer confirmed the answer")

    async def remember_resolved(self, tenant_id: int, conversation_id: int, *, conn: Any = None) -> bool:
        """Indexes a resolved conversation (question + final answer) as context for agents' future cases.

        The gateway calls this when an agent resolves a conversation too. Returns False if there is
        no customer question and outbound answer to remember.
        """
        if conn is None:
            async with self.pool.connection() as own, own.transaction():
                return await self.remember_resolved(tenant_id, conversation_id, conn=own)
        msgs = await conversations.messages(conn, tenant_id, conversation_id)
        questions = [m.text for m in msgs if m.direction is Direction.INBOUND and not SOLVED_TEXT.match(m.text)]
        answer = await past_conversations.best_answer(conn, tenant_id, conversation_id)
        if not questions or answer is None:
            return False
        question = "\n".join(questions)[:2000]
        vector = (await embed_many_async([question]))[0]
        conv = await conversations.get(conn, tenant_id, conversation_id)
        await past_conversations.remember(conn, tenant_id, conversation_id, question=question, answer=answer[0][:4000],
                                          category=conv.category, embedding=vector, answer_origin=answer[1])
        return True

    @staticmethod
    def _outcome(result: dict[str, Any]) -> AgentOutcome:
        out = result.get("outcome") or {}
        reply = _reply(out.get("reply"))
        sources = tuple(reply.sources) if reply else ()
        sources += tuple(source_from(s) for s in out.get("extra_sources", []) if source_from(s) not in sources)
        classification = classification_from(result["classification"]) if result.get("classification") else None
        return AgentOutcome(
            decision=Decision(out.get("decision", "silent")), acted=bool(out.get("acted")),
            reason=str(out.get("reason", "")), classification=classification, reply=reply,
            reply_message_id=out.get("reply_message_id"), sources=sources,
            assigned_agent_id=out.get("assigned_agent_id"), confidence=out.get("confidence"),
        )

    async def suggest(self, tenant_id: int, conversation_id: int) -> AsyncIterator[SuggestionChunk]:
        """Streams a draft reply for an agent, passage by passage (offline) or token by token (LLM).

        Built from the customer's messages since the last outbound reply, over the same hybrid
        retrieval as the graph; similar resolved conversations come last, as context for the agent.
        """
        async with self.pool.connection() as conn:
            msgs = await conversations.messages(conn, tenant_id, conversation_id)
        last_out = max((m.seq for m in msgs if m.direction is Direction.OUTBOUND), default=0)
        pending = [m.text for m in msgs if m.direction is Direction.INBOUND and m.seq > last_out]
        question = "\n".join(pending or [m.text for m in msgs if m.direction is Direction.INBOUND][-1:])
        if not question.strip():
            yield SuggestionChunk("", done=True)
            return
        vector = (await embed_many_async([question]))[0]
        async with self.pool.connection() as conn:
            hits = await kb.search(conn, tenant_id, question, vector, k=5)
            past = await past_conversations.search(conn, tenant_id, vector, k=3, exclude_conversation_id=conversation_id)
            stored = await triage.classification_for_message(conn, tenant_id, msgs[-1].id) if msgs else None
        language = stored.classification.language if stored else "en"
        found = [Passage(h.source, h.heading, h.text, h.cosine, h.article_id, h.language) for h in hits]
        cited: list[Source] = []
        async for piece in self.backend.stream(question, found, language=language):
            if piece.source is not None and piece.source not in cited:
                cited.append(piece.source)
            yield SuggestionChunk(piece.text, piece.source)
        yield SuggestionChunk("", done=True, sources=(*cited, *past))
