"""Retrieval benchmark: the real hybrid search (pgvector HNSW + full text, RRF) on Bitext.

A knowledge base is built from the Bitext customer-support sample's *responses*, one article per
intent, and queried with held-out customer *utterances*; a hit means an article of the utterance's
intent is among the top k distinct articles. Numbers come from a real PostgreSQL with pgvector (the
embedded server in a temporary directory unless ``--dsn`` names one) and the same code the agent
graph uses (``agent_graph.kb_import``, ``store.kb.search``).

    python -m bench.retrieval --train /work/shared/datasets/bitext_customer_support/train.csv \
        --split 0.2 --seed 0 --json

``--test FILE`` takes queries from another CSV with the same columns instead of carving a split.
Only training rows' responses enter the KB (a response can repeat its utterance's order number),
and training rows whose utterance occurs in the test set, or whose response contains a test utterance as
a line or sentence, are dropped (``bench.leakage``; counted in ``leaked_removed``).
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import re
import statistics
import sys
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from bench.leakage import remove_leaked, text_hash

PLACEHOLDER = re.compile(r"\{\{\s*([^}]+?)\s*\}\}")


@dataclass(frozen=True)
class Row:
    utterance: str
    intent: str
    response: str


def read_bitext(path: str | Path) -> list[Row]:
    with open(path, newline="", encoding="utf-8") as f:
        return [Row(r["instruction"], r["intent"], r["response"]) for r in csv.DictReader(f)]


def split(rows: list[Row], frac: float, seed: int) -> tuple[list[Row], list[Row]]:
    """Per intent, ``frac`` of the distinct utterances go to the test side (duplicates stay together)."""
    by_intent: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(list))
    for i, row in enumerate(rows):
        by_intent[row.intent][text_hash(row.utterance)].append(i)
    rng = np.random.default_rng(seed)
    train: list[int] = []
    test: list[int] = []
    for intent in sorted(by_intent):
        groups = list(by_intent[intent].values())
        target = max(1, round(frac * sum(len(g) for g in groups)))
        taken = 0
        for j in rng.permutation(len(groups)):
            group = groups[int(j)]
            (test if taken < target else train).extend(group)
            taken += len(group) if taken < target else 0
    return [rows[i] for i in sorted(train)], [rows[i] for i in sorted(test)]


def without_leaks(train: list[Row], test: list[Row]) -> tuple[list[Row], int]:
    """Training rows minus those whose utterance is a test utterance or whose response (KB text) quotes one.

    A KB article quoting a test question verbatim (as a line or sentence) makes retrieval trivial.
    """
    asked = [r.utterance for r in test]
    train, removed = remove_leaked(train, asked, lambda r: r.utterance)
    train, removed_kb = remove_leaked(train, asked, lambda r: PLACEHOLDER.sub(lambda m: m.group(1), r.response),
                                      documents=True)
    return train, removed + removed_kb


def title_of(intent: str) -> str:
    return intent.replace("_", " ").capitalize()


def articles(train: list[Row], per_intent: int, seed: int) -> dict[str, str]:
    """One Markdown article per intent: its title and ``per_intent`` distinct example responses."""
    by_intent: dict[str, list[str]] = defaultdict(list)
    for row in train:
        text = PLACEHOLDER.sub(lambda m: m.group(1), row.response).strip()
        if text and text not in by_intent[row.intent]:
            by_intent[row.intent].append(text)
    rng = np.random.default_rng(seed)
    out = {}
    for intent, responses in sorted(by_intent.items()):
        picked = [responses[int(i)] for i in sorted(rng.permutation(len(responses))[:per_intent])]
        title = title_of(intent)
        sections = [f"## {title} ({n})\n\n{text}" for n, text in enumerate(picked, start=1)]
        out[intent] = f"# {title}\n\n" + "\n\n".join(sections) + "\n"
    return out


async def measure(dsn: str, kb_articles: dict[str, str], queries: list[Row], *, k_candidates: int,
                  progress: bool) -> dict[str, Any]:
    from agent_graph.embedder import embed_many_async
    from agent_graph.kb_import import import_article
    from store import db, kb, tenants

    await db.migrate(dsn)
    pool = await db.open_pool(dsn, max_size=4)
    try:
        async with pool.connection() as conn:
            tenant = await tenants.create(conn, f"bench-{uuid.uuid4().hex[:6]}", "Bench")
        article_intent: dict[int, str] = {}
        t0 = time.perf_counter()
        for intent, text in kb_articles.items():
            result, _ = await import_article(pool, tenant.id, key=intent, text=text)
            article_intent[result.article_id] = intent
        build_s = time.perf_counter() - t0
        await embed_many_async(["warm up"])
        hit1 = hit3 = 0
        latencies: list[float] = []  # embed the query + hybrid search: what a graph run waits for
        search_ms: list[float] = []  # the SQL alone
        for n, q in enumerate(queries, start=1):
            start = time.perf_counter()
            vector = (await embed_many_async([q.utterance]))[0]
            async with pool.connection() as conn:
                searched = time.perf_counter()
                hits = await kb.search(conn, tenant.id, q.utterance, vector, k=k_candidates)
            done = time.perf_counter()
            latencies.append((done - start) * 1000)
            search_ms.append((done - searched) * 1000)
            ranked: list[str] = []
            for h in hits:
                intent = article_intent[h.article_id]
                if intent not in ranked:
                    ranked.append(intent)
            hit1 += ranked[:1] == [q.intent]
            hit3 += q.intent in ranked[:3]
            if progress and n % 100 == 0:
                print(f"  {n}/{len(queries)} queries, hit@3 so far {hit3 / n:.3f}", file=sys.stderr)
        async with pool.connection() as conn:
            chunks = await kb.count_chunks(conn, tenant.id)
    finally:
        await pool.close()
    return {
        "hit_at_1": round(hit1 / len(queries), 4),
        "hit_at_3": round(hit3 / len(queries), 4),
        "p50_ms": round(statistics.median(latencies), 2),
        "p99_ms": round(float(np.percentile(latencies, 99)), 2),
        "search_p50_ms": round(statistics.median(search_ms), 2),
        "search_p99_ms": round(float(np.percentile(search_ms, 99)), 2),
        "n_test": len(queries),
        "articles": len(kb_articles),
        "chunks": chunks,
        "kb_build_s": round(build_s, 1),
    }


async def run(args: argparse.Namespace) -> dict[str, Any]:
    rows = read_bitext(args.train)
    if args.test:
        train, test = rows, read_bitext(args.test)
    else:
        train, test = split(rows, args.split, args.seed)
    train, leaked = without_leaks(train, test)
    if args.limit:
        rng = np.random.default_rng(args.seed)
        test = [test[int(i)] for i in sorted(rng.permutation(len(test))[: args.limit])]
    kb_articles = articles(train, args.per_intent, args.seed)
    if args.dsn:
        metrics = await measure(args.dsn, kb_articles, test, k_candidates=args.candidates, progress=args.progress)
    else:
        from bench.scratch_db import scratch_database  # heavy: only when no --dsn is given

        async with scratch_database() as scratch:
            metrics = await measure(scratch, kb_articles, test, k_candidates=args.candidates, progress=args.progress)
    return {**metrics, "leaked_removed": leaked, "n_train": len(train), "per_intent": args.per_intent}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--train", required=True, help="Bitext CSV (instruction, intent, response, ...)")
    parser.add_argument("--test", help="Bitext CSV of queries; default: a stratified split of --train")
    parser.add_argument("--split", type=float, default=0.2, help="test share when --test is not given")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--per-intent", type=int, default=5, help="responses per intent article")
    parser.add_argument("--candidates", type=int, default=10, help="chunks retrieved per query")
    parser.add_argument("--limit", type=int, default=0, help="at most this many test queries (0: all)")
    parser.add_argument("--dsn", help="PostgreSQL with pgvector to use instead of an embedded server")
    parser.add_argument("--json", action="store_true", help="print only the JSON result")
    parser.add_argument("--progress", action="store_true", help="progress on stderr")
    args = parser.parse_args(argv)
    import os

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    result = asyncio.run(run(args))
    print(json.dumps(result) if args.json else json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
