"""The identity trust table (DESIGN.md, "Contracts every room keeps"), one row at a time.

Each DESIGN row is checked twice: ``store.trust.TRUST`` must say exactly what the table says, and the
real code paths must behave that way. For every row the claim arrives through ``gateway.ingest`` (and
``customers.verify_claim`` for the one-time link), and each column is observed where a customer
would observe it:

- links: which customer the message resolved to (and the merge / claim rows agents see);
- threads: whether a follow-up without a thread key continues the claimed customer's open conversation;
- sees history: the chat history read (``ChatChannel`` ``history`` event: ``visitor_customer`` +
  ``conversations.list_for_customers``) and the bytes of the reply the claimant is sent;
- receives replies: the reply channel chosen by ``gateway.replies.send_reply``, the email recipients
  (``store.mailboxes.reply_addresses``, what ``channels.email_smtp`` sends to) and the chat rooms
  ``ChatSender`` pushes to.

Every scenario seeds the same owner first: an old, resolved conversation holding ``OLD_MARKER`` (older
than the reopen window) and an open one, both by email from ``OWNER``.
"""

from __future__ import annotations

import json
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
import socketio
from psycopg_pool import AsyncConnectionPool

from channels.chat import NAMESPACE, ChatChannel, ChatSender
from gateway.ingest import ingest
from gateway.replies import send_reply
from store import conversations, customers, mailboxes
from store.models import AuthorKind, Channel, ClaimSource, IdentityKind, IngestResult, Reply, ReplyKind
from store.outbox import Delivery
from store.tenants import Tenant
from store.trust import TRUST, TrustPolicy
from tests import factories as f

# A literal copy of the DESIGN table; test_design_table_is_copied_literally keeps it honest.
DESIGN_TABLE = """\
| claim | links to a customer | threads into their open conversation | sees earlier history | receives replies |
|---|---|---|---|---|
| email From / Reply-To address | yes (by address) | yes | no (email shows only what is sent to it) | yes, to that address |
| web form email | yes (by address) | yes | no | yes, by email |
| Slack user in a workspace the tenant marked as verifying emails | yes, merged by profile email | yes | only its own Slack thread | yes, in the thread |
| Slack user, other workspaces | linked as a claim (agents see it, no merge) | no | only its own thread | yes, in the thread |
| chat visitor token | its own anonymous customer | its own conversations only | its own conversations | yes |
| email typed into chat, unverified | claim only | no | no | no |
| email typed into chat, verified by one-time link | merged | yes | yes | yes |
"""

# Which claim source each DESIGN row is about. Replies "in the thread" travel on the Slack user id.
ROW_SOURCE: dict[str, ClaimSource] = {
    "email From / Reply-To address": ClaimSource.EMAIL_FROM,
    "web form email": ClaimSource.FORM_EMAIL,
    "Slack user in a workspace the tenant marked as verifying emails": ClaimSource.SLACK_PROFILE_EMAIL_VERIFIED_WORKSPACE,
    "Slack user, other workspaces": ClaimSource.SLACK_PROFILE_EMAIL_OTHER_WORKSPACE,
    "chat visitor token": ClaimSource.CHAT_VISITOR_TOKEN,
    "email typed into chat, unverified": ClaimSource.CHAT_TYPED_EMAIL,
    "email typed into chat, verified by one-time link": ClaimSource.CHAT_VERIFIED_EMAIL,
}

# Sources the DESIGN table has no row of its own for, and what they must say.
NOT_IN_DESIGN: dict[ClaimSource, TrustPolicy] = {
    # The Slack user id itself: what makes "receives replies: yes, in the thread" true for both Slack rows.
    ClaimSource.SLACK_USER: TrustPolicy(links=True, merges=False, threads=True, sees_history=False,
                                        receives_replies=True),
    # REST API external ids (issue 13 names the API; DESIGN has no row): like an email From address.
    ClaimSource.API_EXTERNAL_ID: TrustPolicy(links=True, merges=False, threads=True, sees_history=False,
                                             receives_replies=True),
}

OWNER = "owner@example.com"
OLD_MARKER = "OLD-MARKER-7f3a order 4711 for owner"


def _design_rows() -> list[list[str]]:
    lines = [ln for ln in DESIGN_TABLE.splitlines() if ln.startswith("|")][2:]
    return [[c.strip() for c in ln.strip("|").split("|")] for ln in lines]


def _cell(column: str, text: str) -> bool:
    """Reads one DESIGN cell as yes/no for its column."""
    t = text.lower()
    if t.startswith(("yes", "merged", "its own")):
        return True
    if t.startswith(("no", "claim only", "linked as a claim", "only its own")):
        return False
    raise AssertionError(f"cannot read DESIGN cell {text!r} in column {column!r}")


def _policy_from_design(row: list[str]) -> TrustPolicy:
    _claim, links, threads, history, replies = row
    merges = "merge" in links.lower() and "no merge" not in links.lower()
    in_thread = "in the thread" in replies.lower()
    # "yes, in the thread" is a promise about the Slack thread (the Slack user id), not about the claimed email;
    # only a merged (verified) email may then also receive replies elsewhere.
    receives = _cell("receives replies", replies) and (not in_thread or merges)
    return TrustPolicy(links=_cell("links", links), merges=merges, threads=_cell("threads", threads),
                       sees_history=_cell("sees earlier history", history), receives_replies=receives)


def test_design_table_is_copied_literally() -> None:
    design = Path(__file__).resolve().parents[3] / "shared" / "DESIGN.md"  # shared/ sits beside the clone
    if not design.exists():
        pytest.skip("DESIGN.md is not next to this checkout")
    assert DESIGN_TABLE in design.read_text(encoding="utf-8")


def test_trust_module_says_exactly_what_the_design_table_says() -> None:
    rows = _design_rows()
    assert [r[0] for r in rows] == list(ROW_SOURCE), "every DESIGN row is mapped to one claim source"
    expected = {ROW_SOURCE[r[0]]: _policy_from_design(r) for r in rows} | NOT_IN_DESIGN
    assert set(TRUST) == set(ClaimSource), "every claim source has a policy"
    assert TRUST == expected
    # Both Slack rows promise replies in the thread: the Slack user id must carry that.
    assert TRUST[ClaimSource.SLACK_USER].receives_replies
    # A claim never merges by itself: only the two verified sources may merge.
    assert {s for s, p in TRUST.items() if p.merges} == {ClaimSource.SLACK_PROFILE_EMAIL_VERIFIED_WORKSPACE,
                                                         ClaimSource.CHAT_VERIFIED_EMAIL}


# -- the real code paths ------------------------------------------------------------------------------


class _Emitter:
    """Stands in for the Socket.IO server: records which rooms a chat reply was pushed to."""

    def __init__(self) -> None:
        self.rooms: list[str] = []

    async def emit(self, event: str, data: Any, *, room: str, namespace: str) -> None:
        self.rooms.append(room)


class World:
    def __init__(self, pool: AsyncConnectionPool, tenant: Tenant) -> None:
        self.pool = pool
        self.tenant = tenant
        self.t = tenant.id

        async def _ingest(msg: Any) -> IngestResult:
            return await ingest(pool, msg)

        async def _no_action(tenant_id: int, conversation_id: int, action_id: str, *, actor: str) -> None:
            return None

        async def _no_mail(tenant_id: int, customer_id: int, email: str) -> bool:
            return False

        self.chat = ChatChannel(socketio.AsyncServer(async_mode="aiohttp"), pool, ingest=_ingest,
                                actions=_no_action, verify_email=_no_mail, secret="s" * 32)
        self.old: IngestResult
        self.open: IngestResult

    async def seed_owner(self) -> None:
        self.old = await ingest(self.pool, f.email(self.t, OWNER, OLD_MARKER))
        await self.resolve_and_age(self.old.conversation_id)
        self.open = await ingest(self.pool, f.email(self.t, OWNER, "my current problem"))
        assert self.open.conversation_id != self.old.conversation_id

    async def resolve_and_age(self, conversation_id: int) -> None:
        """Resolved long ago: outside the reopen window, so only history can show it."""
        async with self.pool.connection() as conn, conn.transaction():
            await conversations.transition(conn, self.t, conversation_id, conversations.S.RESOLVED, actor="test")
            await conn.execute("UPDATE conversations SET updated_at = now() - interval '30 days'"
                               " WHERE tenant_id = %s AND id = %s", (self.t, conversation_id))

    async def group(self, customer_id: int) -> list[int]:
        async with self.pool.connection() as conn:
            return await customers.group(conn, self.t, customer_id)

    async def owner_root(self) -> int:
        async with self.pool.connection() as conn:
            return await customers.canonical(conn, self.t, self.old.customer_id)

    async def claims_of(self, customer_id: int) -> list[tuple[str, bool]]:
        async with self.pool.connection() as conn:
            idents = await customers.identities(conn, self.t, await customers.group(conn, self.t, customer_id))
        return [(i.value, i.links) for i in idents if i.kind is IdentityKind.EMAIL]

    async def merges(self) -> list[dict[str, Any]]:
        async with self.pool.connection() as conn:
            return await customers.merges(conn, self.t, [self.old.customer_id])

    async def history(self, visitor: str) -> str:
        """Everything the chat history event shows this visitor, as the bytes it would receive."""
        ns = self.chat.sio.namespace_handlers[NAMESPACE]
        out = await ns.ev_history("sid-1", {"tenant_id": self.t, "visitor_id": visitor, "ip": "127.0.0.1"}, {})
        assert out["ok"]
        return json.dumps(out, default=str)

    async def ai_reply(self, result: IngestResult, text: str = "Here is what I found.") -> dict[str, Any]:
        """The AI answers ``result``'s message through the one reply path; returns the queued delivery."""
        async with self.pool.connection() as conn, conn.transaction():
            msg = await send_reply(conn, self.t, result.conversation_id, Reply(ReplyKind.ANSWER, text),
                                   author_kind=AuthorKind.AI, answers_message_id=result.message_id)
            cur = await conn.execute("SELECT * FROM outbox WHERE tenant_id = %s AND message_id = %s", (self.t, msg.id))
            row = await cur.fetchone()
        assert row is not None
        return dict(row)

    async def reply_addresses(self, conversation_id: int) -> list[str]:
        async with self.pool.connection() as conn:
            return await mailboxes.reply_addresses(conn, self.t, conversation_id)

    async def chat_rooms(self, delivery_row: dict[str, Any]) -> list[str]:
        emitter = _Emitter()
        d = delivery_row
        await ChatSender(emitter, self.pool).send(Delivery(
            d["id"], d["tenant_id"], d["conversation_id"], d["message_id"], Channel(d["channel"]),
            d["idempotency_key"], d["payload"], d["attempts"], d["created_at"]))
        return emitter.rooms

    def room(self, visitor: str) -> str:
        return f"visitor:{self.t}:{visitor}"

    async def open_conversations_of(self, customer_id: int) -> set[int]:
        async with self.pool.connection() as conn:
            convs = await conversations.list_for_customers(conn, self.t, await customers.group(conn, self.t, customer_id))
        return {c.id for c in convs if c.status in conversations.OPEN_STATUSES}


@pytest.fixture
async def world(pool: AsyncConnectionPool, tenant: Tenant) -> AsyncIterator[World]:
    w = World(pool, tenant)
    await w.seed_owner()
    yield w


def _payload_text(row: dict[str, Any]) -> str:
    return json.dumps(row["payload"], default=str)


async def row_email_from(w: World) -> None:
    follow = await ingest(w.pool, f.email(w.t, "Owner@Example.com", "any news?"))
    # links: yes (by address)
    assert follow.customer_id == await w.owner_root()
    # threads: yes — no References, still the open conversation
    assert follow.conversation_id == w.open.conversation_id
    # receives replies: yes, to that address
    out = await w.ai_reply(follow)
    assert out["channel"] == Channel.EMAIL.value
    assert (await w.reply_addresses(follow.conversation_id))[0] == OWNER
    # sees earlier history: no — the reply carries nothing of the old conversation
    assert "OLD-MARKER-7f3a" not in _payload_text(out)


async def row_web_form(w: World) -> None:
    sub = await ingest(w.pool, f.form(w.t, OWNER, "filled the form too"))
    assert sub.customer_id == await w.owner_root()
    assert sub.conversation_id == w.open.conversation_id
    out = await w.ai_reply(sub)
    assert out["channel"] == Channel.EMAIL.value  # a form is answered by email
    assert OWNER in await w.reply_addresses(sub.conversation_id)
    assert "OLD-MARKER-7f3a" not in _payload_text(out)


async def row_slack_verified_workspace(w: World) -> None:
    sl = await ingest(w.pool, f.slack(w.t, "TV", "U1", "slack hello", profile_email=OWNER, verified_workspace=True))
    # links: yes, merged by profile email (with provenance)
    assert sl.customer_id == await w.owner_root()
    merges = await w.merges()
    assert [m["claim_source"] for m in merges] == [ClaimSource.SLACK_PROFILE_EMAIL_VERIFIED_WORKSPACE.value]
    # threads: yes — the Slack thread is one of the owner's open conversations, and the owner's next
    # message (no thread key) continues an open conversation of that one customer
    owner_open = await w.open_conversations_of(w.old.customer_id)
    assert {sl.conversation_id, w.open.conversation_id} <= owner_open
    follow = await ingest(w.pool, f.email(w.t, OWNER, "and by email"))
    assert follow.conversation_id in owner_open
    # sees earlier history: only its own Slack thread
    out = await w.ai_reply(sl)
    assert out["channel"] == Channel.SLACK.value
    assert "OLD-MARKER-7f3a" not in _payload_text(out)
    # receives replies: yes, in the thread
    assert out["payload"]["answers_message_id"] == sl.message_id


async def row_slack_other_workspace(w: World) -> None:
    sl = await ingest(w.pool, f.slack(w.t, "TX", "U9", "slack hello", profile_email=OWNER, verified_workspace=False))
    # links: as a claim only — agents see it, nothing merged
    assert sl.customer_id not in await w.group(w.old.customer_id)
    assert (OWNER, False) in await w.claims_of(sl.customer_id)
    assert await w.merges() == []
    # threads: no — the Slack thread is not the owner's, and the owner's mail stays in the owner's conversation
    assert sl.conversation_id not in await w.open_conversations_of(w.old.customer_id)
    follow = await ingest(w.pool, f.email(w.t, OWNER, "by email"))
    assert follow.conversation_id == w.open.conversation_id
    # sees earlier history: only its own thread
    out = await w.ai_reply(sl)
    assert "OLD-MARKER-7f3a" not in _payload_text(out)
    # receives replies: yes, in the thread — and never at the claimed address
    assert out["channel"] == Channel.SLACK.value
    assert await w.reply_addresses(sl.conversation_id) == []


async def row_chat_visitor_token(w: World) -> None:
    first = await ingest(w.pool, f.chat(w.t, "vis-a", "VISITOR-OWN-OLD question"))
    # links: its own anonymous customer
    assert first.created_conversation and first.customer_id not in await w.group(w.old.customer_id)
    again = await ingest(w.pool, f.chat(w.t, "vis-a", "still there?"))
    # threads: its own (open) conversation only
    assert again.conversation_id == first.conversation_id and again.customer_id == first.customer_id
    await w.resolve_and_age(first.conversation_id)
    later = await ingest(w.pool, f.chat(w.t, "vis-a", "new day, new question"))
    assert later.conversation_id not in (first.conversation_id, w.open.conversation_id)
    # sees earlier history: its own conversations, nobody else's
    seen = await w.history("vis-a")
    assert "VISITOR-OWN-OLD" in seen and "OLD-MARKER-7f3a" not in seen and "my current problem" not in seen
    # receives replies: yes, pushed to the visitor
    out = await w.ai_reply(later)
    assert out["channel"] == Channel.CHAT.value
    assert await w.chat_rooms(out) == [w.room("vis-a")]


async def row_chat_typed_email_unverified(w: World) -> None:
    first = await ingest(w.pool, f.chat(w.t, "vis-b", "hi"))
    await w.resolve_and_age(first.conversation_id)
    typed = await ingest(w.pool, f.chat(w.t, "vis-b", "I am owner@example.com, show my orders", typed_email=OWNER))
    # links: claim only
    assert typed.customer_id == first.customer_id
    assert typed.customer_id not in await w.group(w.old.customer_id)
    assert (OWNER, False) in await w.claims_of(typed.customer_id)
    assert await w.merges() == []
    # threads: no — not into the owner's open conversation
    assert typed.conversation_id != w.open.conversation_id
    assert typed.conversation_id not in await w.open_conversations_of(w.old.customer_id)
    # sees earlier history: no
    seen = await w.history("vis-b")
    assert "OLD-MARKER-7f3a" not in seen and "my current problem" not in seen
    # receives replies: no — the typed address gets nothing, the owner's chat rooms are not involved
    out = await w.ai_reply(typed)
    assert await w.reply_addresses(typed.conversation_id) == []
    assert await w.chat_rooms(out) == [w.room("vis-b")]
    assert await w.reply_addresses(w.open.conversation_id) == [OWNER]


async def row_chat_verified_email(w: World) -> None:
    first = await ingest(w.pool, f.chat(w.t, "vis-c", "hi"))
    await w.resolve_and_age(first.conversation_id)
    async with w.pool.connection() as conn, conn.transaction():
        root = await customers.verify_claim(conn, w.t, first.customer_id, OWNER, actor="visitor:vis-c")
    # links: merged, with provenance
    assert root == await w.owner_root()
    assert [m["claim_source"] for m in await w.merges()] == [ClaimSource.CHAT_VERIFIED_EMAIL.value]
    # threads: yes — the visitor's next message (no conversation id) continues the owner's open conversation
    nxt = await ingest(w.pool, f.chat(w.t, "vis-c", "it's me again"))
    assert nxt.conversation_id == w.open.conversation_id and nxt.customer_id == root
    # sees earlier history: yes, the owner's too
    seen = await w.history("vis-c")
    assert "OLD-MARKER-7f3a" in seen and "my current problem" in seen
    # receives replies: yes — on chat (pushed to the visitor) and the verified address by email
    out = await w.ai_reply(nxt)
    assert out["channel"] == Channel.CHAT.value
    assert w.room("vis-c") in await w.chat_rooms(out)
    assert OWNER in await w.reply_addresses(nxt.conversation_id)


ROWS: dict[str, Callable[[World], Awaitable[None]]] = {
    "email From / Reply-To address": row_email_from,
    "web form email": row_web_form,
    "Slack user in a workspace the tenant marked as verifying emails": row_slack_verified_workspace,
    "Slack user, other workspaces": row_slack_other_workspace,
    "chat visitor token": row_chat_visitor_token,
    "email typed into chat, unverified": row_chat_typed_email_unverified,
    "email typed into chat, verified by one-time link": row_chat_verified_email,
}


def test_every_design_row_has_a_behaviour_test() -> None:
    assert list(ROWS) == [r[0] for r in _design_rows()]


@pytest.mark.parametrize("row", list(ROWS), ids=lambda r: re.sub(r"\W+", "-", r).strip("-")[:40])
async def test_trust_row_through_the_real_paths(world: World, row: str) -> None:
    await ROWS[row](world)


async def test_a_merge_whose_claim_sees_no_history_does_not_open_the_others_past(world: World) -> None:
    """History asks ``store.trust``, not the merge group: an API merge (``api_external_id``, which sees no
    history) joins the visitor to the owner for threading and replies, yet the owner's old conversation
    stays closed to the visitor; the visitor's own conversations, and the one it then writes in, stay open."""
    w = world
    own = await ingest(w.pool, f.chat(w.t, "vis-d", "VISITOR-D-OWN question"))
    await w.resolve_and_age(own.conversation_id)
    async with w.pool.connection() as conn, conn.transaction():
        merge_id = await customers.merge(conn, w.t, source_id=own.customer_id, target_id=await w.owner_root(),
                                         identity_id=None, claim_source=ClaimSource.API_EXTERNAL_ID,
                                         reason="agent says it is the owner", actor="api_token:1")
    assert own.customer_id in await w.group(w.old.customer_id)  # the group alone would show everything
    nxt = await ingest(w.pool, f.chat(w.t, "vis-d", "VISITOR-D-NEXT it is me"))
    assert nxt.conversation_id == w.open.conversation_id  # threads: yes, into the merged customer's open one
    seen = await w.history("vis-d")
    assert "VISITOR-D-OWN" in seen and "VISITOR-D-NEXT" in seen
    assert "OLD-MARKER-7f3a" not in seen
    # The same group, joined by the one-time link instead, opens the owner's past: the claim decides.
    async with w.pool.connection() as conn, conn.transaction():
        await customers.undo_merge(conn, w.t, merge_id, actor="test")
        await customers.verify_claim(conn, w.t, own.customer_id, OWNER, actor="visitor:vis-d")
    assert "OLD-MARKER-7f3a" in await w.history("vis-d")
