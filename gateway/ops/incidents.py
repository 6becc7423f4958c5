"""Incident detection: several customers reporting the same thing within minutes become one incident.

Runs in the worker for each customer message, just before the agent run (agent_jobs), so it sees
every channel's messages after ingest. Detection is per tenant and serialised by an advisory lock:
the message that tips a burst over ``min_reports`` forms the incident with the reports before it,
and any later similar message joins the open incident and gets the known-issue notice through the
normal reply path (formatter → outbox), on its own channel.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from psycopg_pool import AsyncConnectionPool

from agent_graph.embedder import embed_async
from gateway.ops.settings import ops_setting
from gateway.replies import send_reply
from store import incidents, tenants
from store.models import AuthorKind, Reply, ReplyKind

log = logging.getLogger("switchboard.incidents")
MIN_TEXT_CHARS = 12  # "thanks", "ok?" and the like say nothing about an outage
EMBED_CHARS = 1000
PRUNE_EVERY = 50  # reports: the window query ignores old ones, so pruning only bounds the table


@dataclass(frozen=True)
class Detection:
    incident_id: int | None
    formed: bool = False
    notified: bool = False


class IncidentDetector:
    def __init__(self, pool: AsyncConnectionPool, base_url: str) -> None:
        self.pool = pool
        self.base_url = base_url
        # The worker hands in the agent graph's cached embedder, so the agent run that follows reuses
        # this vector instead of paying for a second model call on the same text.
        self.embed: Callable[[str], Awaitable[np.ndarray]] = embed_async

    async def on_message(self, tenant_id: int, conversation_id: int, message_id: int) -> Detection:
        async with self.pool.connection() as conn:
            cfg = ops_setting(await tenants.get(conn, tenant_id), "incidents")
            if not cfg.get("enabled", True) or await incidents.membership(conn, tenant_id, conversation_id):
                return Detection(None)
            cur = await conn.execute(
                "SELECT m.text, c.customer_id FROM messages m JOIN conversations c"
                " ON c.tenant_id = m.tenant_id AND c.id = m.conversation_id WHERE m.tenant_id = %s AND m.id = %s"
                " AND m.conversation_id = %s AND m.direction = 'in'", (tenant_id, message_id, conversation_id))
            row = await cur.fetchone()
        if row is None or len(row["text"].strip()) < MIN_TEXT_CHARS:
            return Detection(None)
        vector = await self.embed(row["text"][:EMBED_CHARS])
        return await self._match(tenant_id, conversation_id, message_id, row, vector, cfg)

    async def _match(self, tenant_id: int, conversation_id: int, message_id: int, row: dict[str, Any],
                     vector: np.ndarray, cfg: dict[str, Any]) -> Detection:
        """Joins an open incident or, once enough customers report alike, forms one.

        Only forming is serialised per tenant (so one burst makes one incident): a tenant-wide lock
        around every message's search made detection the bottleneck of every agent run under load.
        The report commits on its own first, so of two concurrent reports the later search sees both.
        """
        similarity, window = float(cfg["similarity"]), float(cfg["window_minutes"])
        async with self.pool.connection() as conn:
            report_id = await incidents.add_report(conn, tenant_id, conversation_id=conversation_id,
                                                   message_id=message_id, customer_id=int(row["customer_id"]),
                                                   text=row["text"], embedding=vector)
        async with self.pool.connection() as conn:
            if report_id is None:  # a retried job: this message was examined already
                return Detection(await incidents.membership(conn, tenant_id, conversation_id))
            if report_id % PRUNE_EVERY == 0:  # old evidence goes now and then, not on every message
                await incidents.prune_reports(conn, tenant_id, window)
            report = incidents.Report(report_id, conversation_id, message_id, int(row["customer_id"]), row["text"], 1.0)
            if (found := await incidents.nearest_open(conn, tenant_id, vector, similarity)) is not None:
                return await self._join(conn, tenant_id, found[0], report, cfg)
            recent = await incidents.similar_recent(conn, tenant_id, vector, min_similarity=similarity,
                                                    window_minutes=window)
            if len({r.customer_id for r in _one_per_conversation(recent)}) < int(cfg["min_reports"]):
                return Detection(None)
        async with self.pool.connection() as conn, conn.transaction():
            await incidents.lock_tenant(conn, tenant_id)
            # Another worker may have formed it while this one searched without the lock.
            if (found := await incidents.nearest_open(conn, tenant_id, vector, similarity)) is not None:
                return await self._join(conn, tenant_id, found[0], report, cfg)
            recent = await incidents.similar_recent(conn, tenant_id, vector, min_similarity=similarity,
                                                    window_minutes=window)
            founders = _one_per_conversation(recent)
            if len({r.customer_id for r in founders}) < int(cfg["min_reports"]):
                return Detection(None)
            vectors = await incidents.report_vectors(conn, tenant_id, [r.id for r in founders])
            centre = vectors.mean(axis=0)
            centre /= max(float(np.linalg.norm(centre)), 1e-12)
            title = founders[int(np.argmax(vectors @ centre))].text  # the most typical wording names it
            incident_id = await incidents.create(conn, tenant_id, title=" ".join(title.split()), centroid=centre)
            for r in founders:
                await incidents.join(conn, tenant_id, incident_id, r)
            log.info("incident %d formed from %d reports", incident_id, len(founders), extra={"tenant_id": tenant_id})
            return Detection(incident_id, formed=True)

    async def _join(self, conn: Any, tenant_id: int, incident_id: int, report: incidents.Report,
                    cfg: dict[str, Any]) -> Detection:
        """Adds the conversation to the open incident and tells the customer it is known, once."""
        async with conn.transaction():
            if not await incidents.join(conn, tenant_id, incident_id, report):
                return Detection(incident_id)  # a concurrent report of this conversation joined it first
            await send_reply(conn, tenant_id, report.conversation_id, Reply(ReplyKind.NOTICE, str(cfg["notice"])),
                             author_kind=AuthorKind.SYSTEM, answers_message_id=report.message_id,
                             base_url=self.base_url)
            await incidents.mark_notified(conn, tenant_id, report.conversation_id)
        log.info("conversation joined incident %d", incident_id,
                 extra={"tenant_id": tenant_id, "conversation_id": report.conversation_id})
        return Detection(incident_id, notified=True)


def _one_per_conversation(reports: list[incidents.Report]) -> list[incidents.Report]:
    """The newest report of each conversation (``reports`` come newest first)."""
    seen: set[int] = set()
    out = []
    for r in reports:
        if r.conversation_id not in seen:
            seen.add(r.conversation_id)
            out.append(r)
    return out
