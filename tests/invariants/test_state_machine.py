"""One state machine (DESIGN.md): random sequences against a real PostgreSQL, invariants after every step.

Steps: customer messages on every channel (through ``gateway.ingest``), AI runs (through
``gateway.replies.send_reply`` as the AI, the way ``agent_graph.runner`` does it), agent takeover,
agent replies, hand back, resolve, close, CSAT answers (``store.csat.record_answer``), and SLA ticks:
the worker's own ``sla_tick`` body (``gateway.ops.ticks.OpsTicker.tick``: the escalation ladder, the
inactivity close, CSAT surveys) at an injected clock that jumps ahead by a random amount.

After every step, read from the database alone:
- every status is a known one and the ``status_changes`` history is an unbroken chain of allowed
  transitions (``TRANSITIONS``) ending in the current status — each conversation is in exactly one state;
- no AI customer-visible reply exists that was written while a human owned the conversation or outside
  ``ai_active``/``waiting_customer`` (replayed from ``status_changes``);
- the SLA clock is paused exactly while ``waiting_customer``: ``sla_paused_at`` is set and one
  ``sla_pauses`` interval is open exactly then, and the real clock (``gateway.ops.sla_clock.clocks``,
  with the conversation's policy and recorded pauses) stands still over the next week for a waiting
  conversation and runs for every unmet target of a new/ai_active/pending_agent/assigned one;
- a tick never climbs the ladder for a conversation that was waiting on the customer;
- at most one CSAT answer per conversation;
- and, checked by the step itself, a customer message leaves its conversation open (reopens it).

Bounded for CI; raise with ``SWITCHBOARD_STATEFUL_EXAMPLES=500``.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any, ClassVar, TypeVar

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from gateway.ingest import ingest
from gateway.ops.routing import SkillRouter
from gateway.ops.sla_clock import calendar_for, clocks
from gateway.ops.sla_ladder import OPEN as LADDER_STATUSES
from gateway.ops.ticks import OpsTicker
from gateway.replies import send_reply
from store import agents, conversations, csat, db, sla, tenants
from store.conversations import OPEN_STATUSES, TRANSITIONS, TransitionError
from store.models import AuthorKind, ConversationStatus, InboundMessage, Reply, ReplyKind
from store.outbox import AIMayNotReply
from tests import factories as f

S = ConversationStatus
T = TypeVar("T")
AI_STATES = {S.AI_ACTIVE.value, S.WAITING_CUSTOMER.value}  # DESIGN: where the AI may speak, with no human owner
HUMAN_HANDS_BACK = {S.AI_ACTIVE.value, S.PENDING_AGENT.value}
CHANNELS = ("email", "webform", "chat", "slack")
EXAMPLES = int(os.environ.get("SWITCHBOARD_STATEFUL_EXAMPLES", "25"))
LOOK_AHEAD = timedelta(days=7)  # long enough for any calendar to have open hours in it


class ConversationMachine(RuleBasedStateMachine):
    loop: ClassVar[asyncio.AbstractEventLoop]
    pool: ClassVar[AsyncConnectionPool]

    def __init__(self) -> None:
        super().__init__()
        self.convs: list[int] = []
        self.chat_convs: dict[int, list[int]] = {0: [], 1: []}
        self.email_ids: list[str] = []  # Message-IDs customers sent (References for threaded replies)
        self.slack_keys: list[str] = []
        self.csat_answered: set[int] = set()
        self.t, self.agent_ids = self.run(self._setup())
        self.clock = datetime.now(UTC)  # the ticks' clock: only ever ahead of the database's
        self.ticker = OpsTicker(self.pool, SkillRouter(clock=lambda: self.clock), "http://sb.test")

    def run(self, coro: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(coro)

    async def _setup(self) -> tuple[int, list[int]]:
        async with self.pool.connection() as conn:
            tenant = await tenants.create(conn, f"inv-{uuid.uuid4().hex[:8]}", "Invariants")
            ids = [(await agents.create(conn, tenant.id, email=f"a{i}-{tenant.id}@inv.test", name=f"A{i}", password_hash="x")).id
                   for i in range(2)]
        return tenant.id, ids

    async def _status(self, cid: int) -> conversations.Conversation:
        async with self.pool.connection() as conn:
            return await conversations.get(conn, self.t, cid)

    def _pick(self, i: int) -> int:
        return self.convs[i % len(self.convs)]

    # -- customers ---------------------------------------------------------------------------------
    @rule(who=st.integers(0, 1), channel=st.sampled_from(CHANNELS), pick=st.integers(0, 6))
    def customer_writes(self, who: int, channel: str, pick: int) -> None:
        msg: InboundMessage
        text = f"customer {who} on {channel}"
        if channel == "email":
            refs = (self.email_ids[pick],) if pick < len(self.email_ids) else ()
            mid = f"<{uuid.uuid4().hex}@c{who}.test>"
            msg = f.email(self.t, f"c{who}@inv.test", text, message_id=mid, references=refs)
            self.email_ids.append(mid)
        elif channel == "webform":
            msg = f.form(self.t, f"c{who}@inv.test", text)
        elif channel == "chat":
            mine = self.chat_convs[who]
            msg = f.chat(self.t, f"visitor-{who}", text, conversation_id=mine[pick] if pick < len(mine) else None)
        else:
            key = self.slack_keys[pick] if pick < len(self.slack_keys) else f"C1:{uuid.uuid4().hex[:10]}"
            msg = f.slack(self.t, "T1", f"U{who}", text, thread=key)
            self.slack_keys.append(key)
        before = {cid: self.run(self._status(cid)).status for cid in self.convs}
        result = self.run(ingest(self.pool, msg))
        if result.conversation_id not in self.convs:
            self.convs.append(result.conversation_id)
        if channel == "chat" and result.conversation_id not in self.chat_convs[who]:
            self.chat_convs[who].append(result.conversation_id)
        after = self.run(self._status(result.conversation_id)).status
        # A message to a resolved/closed conversation reopens it; one answering a wait ends the wait.
        assert after in OPEN_STATUSES, f"{before.get(result.conversation_id)} + customer message → {after}"
        if before.get(result.conversation_id) is S.WAITING_CUSTOMER:
            assert after is not S.WAITING_CUSTOMER

    # -- the AI --------------------------------------------------------------------------------------
    @precondition(lambda self: self.convs)
    @rule(i=st.integers(0, 20),
          then=st.sampled_from([None, S.WAITING_CUSTOMER, S.PENDING_AGENT, S.RESOLVED]))
    def ai_run(self, i: int, then: ConversationStatus | None) -> None:
        cid = self._pick(i)
        allowed, sent = self.run(self._ai_reply(cid))
        assert sent == allowed, f"AI reply on {cid}: allowed={allowed} but sent={sent}"
        if sent and then is not None:
            self.run(self._move(cid, then, actor="ai"))

    async def _ai_reply(self, cid: int) -> tuple[bool, bool]:
        async with self.pool.connection() as conn, conn.transaction():
            conv = await conversations.get(conn, self.t, cid, lock=True)
            if conv.status is S.NEW:  # as agent_graph.runner does before the graph runs
                conv = await conversations.transition(conn, self.t, cid, S.AI_ACTIVE, actor="ai", reason="agent run")
            allowed = conv.status.value in AI_STATES and conv.assignee_id is None
            try:
                async with conn.transaction():
                    await send_reply(conn, self.t, cid, Reply(ReplyKind.ANSWER, "the AI answers"),
                                     author_kind=AuthorKind.AI)
            except AIMayNotReply:
                return allowed, False
            return allowed, True

    # -- agents ----------------------------------------------------------------------------------------
    @precondition(lambda self: self.convs)
    @rule(i=st.integers(0, 20), agent=st.integers(0, 1))
    def agent_takes_over(self, i: int, agent: int) -> None:
        self.run(self._assign(self._pick(i), self.agent_ids[agent]))

    async def _assign(self, cid: int, agent_id: int) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            conv = await conversations.assign(conn, self.t, cid, agent_id, actor=f"agent:{agent_id}")
        assert conv.status is S.ASSIGNED and conv.assignee_id == agent_id

    @precondition(lambda self: self.convs)
    @rule(i=st.integers(0, 20), agent=st.integers(0, 1))
    def agent_replies(self, i: int, agent: int) -> None:
        self.run(self._agent_reply(self._pick(i), self.agent_ids[agent]))

    async def _agent_reply(self, cid: int, agent_id: int) -> None:
        """What copilot.api's reply does: take over if needed, reply, wait on the customer."""
        async with self.pool.connection() as conn, conn.transaction():
            conv = await conversations.get(conn, self.t, cid, lock=True)
            if conv.assignee_id != agent_id or conv.status is not S.ASSIGNED:
                await conversations.assign(conn, self.t, cid, agent_id, actor=f"agent:{agent_id}")
            await send_reply(conn, self.t, cid, Reply(ReplyKind.ANSWER, "an agent answers"),
                             author_kind=AuthorKind.AGENT, author_id=agent_id)
            await conversations.transition(conn, self.t, cid, S.WAITING_CUSTOMER, actor=f"agent:{agent_id}")

    @precondition(lambda self: self.convs)
    @rule(i=st.integers(0, 20), to=st.sampled_from([S.AI_ACTIVE, S.RESOLVED, S.CLOSED, S.PENDING_AGENT]))
    def agent_moves(self, i: int, to: ConversationStatus) -> None:
        """Hand back (ai_active), resolve, close, or put back in the queue."""
        self.run(self._move(self._pick(i), to, actor="agent:console"))

    async def _move(self, cid: int, to: ConversationStatus, *, actor: str) -> None:
        async with self.pool.connection() as conn, conn.transaction():
            now = await conversations.get(conn, self.t, cid, lock=True)
            expected_ok = now.status is to or to in TRANSITIONS[now.status]
            try:
                async with conn.transaction():
                    conv = await conversations.transition(conn, self.t, cid, to, actor=actor)
            except TransitionError:
                assert not expected_ok, f"{now.status} → {to} refused but the table allows it"
                return
        assert expected_ok and conv.status is to

    # -- CSAT ------------------------------------------------------------------------------------------
    @precondition(lambda self: self.convs)
    @rule(i=st.integers(0, 20), score=st.integers(1, 5))
    def csat_answer(self, i: int, score: int) -> None:
        cid = self._pick(i)
        first = self.run(self._csat(cid, score))
        assert first == (cid not in self.csat_answered), "only the first CSAT answer counts"
        self.csat_answered.add(cid)

    async def _csat(self, cid: int, score: int) -> bool:
        async with self.pool.connection() as conn, conn.transaction():
            return await csat.record_answer(conn, self.t, cid, score=score, comment=None, channel="chat",
                                            actor="customer", now=datetime.now(UTC))

    # -- SLA ticks ------------------------------------------------------------------------------------
    @precondition(lambda self: self.convs)
    @rule(minutes=st.sampled_from([0, 10, 45, 240, 1500, 4 * 1440]))
    def sla_tick(self, minutes: int) -> None:
        """The worker's tick, some time later: rungs may fire, idle chats close, resolved ones get surveyed."""
        self.clock = max(self.clock, datetime.now(UTC)) + timedelta(minutes=minutes)
        waiting_before = {cid for cid in self.convs if self.run(self._status(cid)).status is S.WAITING_CUSTOMER}
        rungs_before = self.run(self._rungs())
        self.run(self.ticker.tick(self.t, now=self.clock))
        climbed = {cid for cid, r in self.run(self._rungs()).items() if r != rungs_before.get(cid, set())}
        assert not climbed & waiting_before, f"the ladder climbed for waiting conversations {climbed & waiting_before}"

    async def _rungs(self) -> dict[int, set[tuple[str, int]]]:
        async with self.pool.connection() as conn:
            return await sla.fired_rungs(conn, self.t, self.convs)

    # -- invariants --------------------------------------------------------------------------------------
    @invariant()
    def database_keeps_the_contracts(self) -> None:
        problems = self.run(self._violations())
        assert not problems, "\n".join(problems)

    async def _violations(self) -> list[str]:
        out: list[str] = []
        async with self.pool.connection() as conn:
            convs = await (await conn.execute(
                "SELECT id, status, assignee_id, sla_paused_at FROM conversations WHERE tenant_id = %s", (self.t,)
            )).fetchall()
            changes = await (await conn.execute(
                "SELECT id, conversation_id, from_status, to_status, created_at FROM status_changes"
                " WHERE tenant_id = %s ORDER BY id", (self.t,))).fetchall()
            ai_msgs = await (await conn.execute(
                "SELECT id, conversation_id, created_at FROM messages WHERE tenant_id = %s AND author_kind = 'ai'"
                " AND direction = 'out' AND (reply_kind IS NULL OR reply_kind <> 'suggestion')", (self.t,))).fetchall()
            ai_outbox = await (await conn.execute(
                "SELECT o.id, o.message_id FROM outbox o LEFT JOIN messages m ON m.tenant_id = o.tenant_id"
                " AND m.id = o.message_id WHERE o.tenant_id = %s AND o.payload->>'author_kind' = 'ai'"
                " AND (m.id IS NULL OR m.author_kind <> 'ai')", (self.t,))).fetchall()
            open_pauses = {r["conversation_id"]: r["n"] for r in await (await conn.execute(
                "SELECT conversation_id, count(*) AS n FROM sla_pauses WHERE tenant_id = %s AND ended_at IS NULL"
                " GROUP BY conversation_id", (self.t,))).fetchall()}
            stopped = await self._clock_problems(conn, [c["id"] for c in convs])
            csat_dupes = await (await conn.execute(
                "SELECT conversation_id, count(*) AS n FROM csat_responses WHERE tenant_id = %s"
                " GROUP BY conversation_id HAVING count(*) > 1", (self.t,))).fetchall()
        known = {s.value for s in S}
        for c in convs:
            if c["status"] not in known:
                out.append(f"conversation {c['id']} is in unknown state {c['status']!r}")
            if (c["sla_paused_at"] is not None) != (c["status"] == S.WAITING_CUSTOMER.value):
                out.append(f"conversation {c['id']} is {c['status']} with sla_paused_at={c['sla_paused_at']}")
            if open_pauses.get(c["id"], 0) != (c["status"] == S.WAITING_CUSTOMER.value):
                out.append(f"conversation {c['id']} is {c['status']} with {open_pauses.get(c['id'], 0)} open pauses")
            if c["status"] == S.ASSIGNED.value and c["assignee_id"] is None:
                out.append(f"conversation {c['id']} is assigned to nobody")
            if c["status"] in (S.NEW.value, S.AI_ACTIVE.value) and c["assignee_id"] is not None:
                out.append(f"conversation {c['id']} is {c['status']} yet owned by agent {c['assignee_id']}")
        out += stopped
        for row in ai_outbox:
            out.append(f"outbox {row['id']} claims to be the AI's but message {row['message_id']} is not")
        for row in csat_dupes:
            out.append(f"conversation {row['conversation_id']} has {row['n']} CSAT answers")
        # Replay each conversation's history: the chain, and who was allowed to speak when the AI spoke.
        status = {c["id"]: c["status"] for c in convs}
        events: dict[int, list[tuple[Any, int, int, dict[str, Any]]]] = {cid: [] for cid in status}
        for ch in changes:
            events[ch["conversation_id"]].append((ch["created_at"], 0, ch["id"], dict(ch)))
        for m in ai_msgs:
            events[m["conversation_id"]].append((m["created_at"], 1, m["id"], dict(m)))
        for cid, evs in events.items():
            state, owned = S.NEW.value, False
            for _at, kind, _id, ev in sorted(evs, key=lambda e: (e[0], e[1], e[2])):
                if kind == 0:
                    frm, to = ev["from_status"], ev["to_status"]
                    if frm != state:
                        out.append(f"conversation {cid}: change {ev['id']} starts at {frm}, but it was {state}")
                    if S(to) not in TRANSITIONS[S(frm)]:
                        out.append(f"conversation {cid}: change {ev['id']} {frm} → {to} is not in TRANSITIONS")
                    state = to
                    if to == S.ASSIGNED.value:
                        owned = True
                    elif to in HUMAN_HANDS_BACK:
                        owned = False
                elif state not in AI_STATES or owned:
                    out.append(f"conversation {cid}: AI message {ev['id']} written while {state}"
                               f"{' and owned by a human' if owned else ''}")
            if state != status[cid]:
                out.append(f"conversation {cid}: history ends in {state} but the row says {status[cid]}")
        return out

    async def _clock_problems(self, conn: AsyncConnection[Any], conversation_ids: list[int]) -> list[str]:
        """Reads each conversation's SLA clock now and a week on, as the ladder would."""
        out: list[str] = []
        cal = await calendar_for(conn, self.t)
        found = await sla.pauses(conn, self.t, conversation_ids)
        now = max(self.clock, datetime.now(UTC))
        for cid in conversation_ids:
            subject = await sla.clock_subject(conn, self.t, cid)
            assert subject is not None
            policy = await sla.policy_for(conn, self.t, subject.urgency, subject.tier)
            pauses = found.get(cid, [])
            for early, late in zip(clocks(subject, policy, cal, pauses, now),
                                   clocks(subject, policy, cal, pauses, now + LOOK_AHEAD), strict=True):
                if subject.status == S.WAITING_CUSTOMER.value and late.elapsed != early.elapsed:
                    out.append(f"conversation {cid} waits on the customer, yet its {early.target} clock runs:"
                               f" {early.elapsed:.0f}s → {late.elapsed:.0f}s")
                if subject.status in LADDER_STATUSES and early.done_at is None and late.elapsed <= early.elapsed:
                    out.append(f"conversation {cid} is {subject.status}, yet its {early.target} clock stands still"
                               f" at {early.elapsed:.0f}s")
        return out


def test_conversation_state_machine(dsn: str) -> None:
    loop = asyncio.new_event_loop()
    try:
        ConversationMachine.loop = loop
        ConversationMachine.pool = loop.run_until_complete(db.open_pool(dsn, max_size=4))
        try:
            run_state_machine_as_test(ConversationMachine, settings=settings(
                max_examples=EXAMPLES, stateful_step_count=20, deadline=None, derandomize=True, database=None))
        finally:
            loop.run_until_complete(ConversationMachine.pool.close())
    finally:
        loop.close()


async def test_hand_back_of_a_resolved_conversation_gives_it_to_the_ai(pool: AsyncConnectionPool,
                                                                       tenant: tenants.Tenant) -> None:
    """Regression: resolved → ai_active kept the agent as owner, so the AI stayed silent for good."""
    async with pool.connection() as conn:
        agent = await agents.create(conn, tenant.id, email="owner-agent@inv.test", name="A", password_hash="x")
    first = await ingest(pool, f.email(tenant.id, "c@inv.test", "help"))
    cid = first.conversation_id
    async with pool.connection() as conn, conn.transaction():
        await conversations.assign(conn, tenant.id, cid, agent.id, actor="agent")
        await conversations.transition(conn, tenant.id, cid, S.RESOLVED, actor="agent")
        conv = await conversations.transition(conn, tenant.id, cid, S.AI_ACTIVE, actor="agent",
                                              reason="agent handed back to the AI")
    assert conv.status is S.AI_ACTIVE and conv.assignee_id is None
    async with pool.connection() as conn, conn.transaction():
        msg = await send_reply(conn, tenant.id, cid, Reply(ReplyKind.ANSWER, "the AI answers"),
                               author_kind=AuthorKind.AI)
    assert msg.author_kind is AuthorKind.AI
