"""Knowledge-base articles, their chunks, and hybrid search over them.

The store does not embed: callers (the importer, the graph) pass vectors in, so this room keeps no
model and imports nothing of ours. Search fuses two rankings by reciprocal rank because each misses
what the other finds: vectors match paraphrases ("can't get in" ~ "reset your password"), full text
matches rare exact tokens (error codes, product names) that a small embedding model blurs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
from psycopg import AsyncConnection

from store.models import Source

RRF_K = 60  # the constant from Cormack et al. (2009); damps the head of each ranking
SNIPPET_CHARS = 280


@dataclass(frozen=True, slots=True)
class ChunkInput:
    heading: str
    text: str
    embedding: np.ndarray
    overlap_chars: int = 0  # leading characters repeated from the previous chunk


@dataclass(frozen=True, slots=True)
class Article:
    id: int
    tenant_id: int
    key: str
    title: str
    url: str | None
    body: str
    content_hash: str
    language: str
    source_path: str | None
    source_updated_at: datetime | None
    updated_at: datetime
    status: str = "published"  # a "draft" is never retrieved for answers until an admin publishes it


@dataclass(frozen=True, slots=True)
class KbHit:
    """One retrieved chunk: the citable ``source`` plus what the composer and the policy need."""

    source: Source
    article_id: int
    ord: int
    heading: str
    text: str  # the chunk without the overlap repeated from its predecessor: what answers quote
    cosine: float  # semantic similarity in [-1, 1]; the policy's absolute relevance signal
    text_rank: float  # ts_rank_cd of the OR-query (0 when full text did not match)
    rrf: float  # fused rank score, the ordering
    language: str


@dataclass(frozen=True, slots=True)
class UpsertResult:
    article_id: int
    changed: bool
    chunks: int


def _article(row: dict[str, Any]) -> Article:
    return Article(row["id"], row["tenant_id"], row["key"], row["title"], row["url"], row["body"], row["content_hash"],
                   row["language"], row["source_path"], row["source_updated_at"], row["updated_at"],
                   row.get("status", "published"))


def snippet(text: str, limit: int = SNIPPET_CHARS) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    cut = flat[:limit].rsplit(" ", 1)[0]
    return cut + "…"


async def get_article(conn: AsyncConnection[Any], tenant_id: int, key: str) -> Article | None:
    cur = await conn.execute("SELECT * FROM kb_articles WHERE tenant_id = %s AND key = %s", (tenant_id, key))
    row = await cur.fetchone()
    return _article(row) if row else None


async def get_article_by_id(conn: AsyncConnection[Any], tenant_id: int, article_id: int) -> Article | None:
    cur = await conn.execute("SELECT * FROM kb_articles WHERE tenant_id = %s AND id = %s", (tenant_id, article_id))
    row = await cur.fetchone()
    return _article(row) if row else None


async def list_articles(conn: AsyncConnection[Any], tenant_id: int) -> list[Article]:
    cur = await conn.execute("SELECT * FROM kb_articles WHERE tenant_id = %s ORDER BY key", (tenant_id,))
    return [_article(r) for r in await cur.fetchall()]


async def languages(conn: AsyncConnection[Any], tenant_id: int) -> set[str]:
    """Languages the tenant's KB has articles in: the AI answers on its own only in these."""
    cur = await conn.execute("SELECT DISTINCT language FROM kb_articles WHERE tenant_id = %s", (tenant_id,))
    return {row["language"] if isinstance(row, dict) else row[0] for row in await cur.fetchall()}


async def content_hash(conn: AsyncConnection[Any], tenant_id: int, key: str) -> str | None:
    """The stored hash, so an importer can skip embedding an unchanged article."""
    cur = await conn.execute("SELECT content_hash FROM kb_articles WHERE tenant_id = %s AND key = %s", (tenant_id, key))
    row = await cur.fetchone()
    return str(row["content_hash"]) if row else None


async def upsert_article(
    conn: AsyncConnection[Any],
    tenant_id: int,
    *,
    key: str,
    title: str,
    body: str,
    content_hash: str,
    chunks: Sequence[ChunkInput] | None,
    url: str | None = None,
    language: str = "en",
    source_path: str | None = None,
    source_updated_at: datetime | None = None,
    embedder: str | None = None,
    status: str | None = None,
) -> UpsertResult:
    """Inserts or replaces an article by key; its chunks are replaced wholesale when the hash changed.

    Replacing (not diffing) chunks is what removes stale ones: a passage deleted from the article
    must never be cited again. ``chunks`` may be None only when the hash is unchanged. ``status``
    None keeps an existing article's status (a new one is published).
    """
    cur = await conn.execute(
        "SELECT id, content_hash FROM kb_articles WHERE tenant_id = %s AND key = %s FOR UPDATE", (tenant_id, key)
    )
    existing = await cur.fetchone()
    if existing is not None and existing["content_hash"] == content_hash:
        await conn.execute(
            "UPDATE kb_articles SET source_path = coalesce(%s, source_path), url = coalesce(%s, url),"
            " status = coalesce(%s, status) WHERE tenant_id = %s AND id = %s",
            (source_path, url, status, tenant_id, existing["id"]),
        )
        cur = await conn.execute("SELECT count(*) AS n FROM kb_chunks WHERE tenant_id = %s AND article_id = %s",
                                 (tenant_id, existing["id"]))
        n = await cur.fetchone()
        return UpsertResult(int(existing["id"]), changed=False, chunks=int(n["n"]) if n else 0)
    if chunks is None:
        raise ValueError(f"article {key!r} changed: chunks with embeddings are required")
    cur = await conn.execute(
        "INSERT INTO kb_articles (tenant_id, key, title, url, body, content_hash, language, source_path,"
        " source_updated_at, embedder, status, updated_at)"
        " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, coalesce(%s, 'published'), now())"
        " ON CONFLICT (tenant_id, key) DO UPDATE SET title = excluded.title, url = excluded.url, body = excluded.body,"
        " content_hash = excluded.content_hash, language = excluded.language, source_path = excluded.source_path,"
        " source_updated_at = excluded.source_updated_at, embedder = excluded.embedder,"
        " status = coalesce(%s, kb_articles.status), updated_at = now()"
        " RETURNING id",
        (tenant_id, key, title, url, body, content_hash, language, source_path, source_updated_at, embedder, status,
         status),
    )
    row = await cur.fetchone()
    assert row is not None
    article_id = int(row["id"])
    await conn.execute("DELETE FROM kb_chunks WHERE tenant_id = %s AND article_id = %s", (tenant_id, article_id))
    if chunks:
        async with conn.cursor() as c:
            await c.executemany(
                "INSERT INTO kb_chunks (tenant_id, article_id, ord, heading, text, embedding, overlap_chars)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s)",
                [(tenant_id, article_id, i, ch.heading, ch.text, np.asarray(ch.embedding, dtype=np.float32),
                  ch.overlap_chars) for i, ch in enumerate(chunks)],
            )
    return UpsertResult(article_id, changed=True, chunks=len(chunks))


async def set_status(conn: AsyncConnection[Any], tenant_id: int, key: str, status: str) -> bool:
    """Publishes or unpublishes an article; its chunks stay, search filters them by the article's status."""
    if status not in ("draft", "published"):
        raise ValueError(f"unknown article status {status!r}")
    cur = await conn.execute("UPDATE kb_articles SET status = %s, updated_at = now() WHERE tenant_id = %s AND key = %s",
                             (status, tenant_id, key))
    return cur.rowcount > 0


async def delete_article(conn: AsyncConnection[Any], tenant_id: int, key: str) -> bool:
    cur = await conn.execute("DELETE FROM kb_articles WHERE tenant_id = %s AND key = %s", (tenant_id, key))
    return cur.rowcount > 0


async def delete_missing(conn: AsyncConnection[Any], tenant_id: int, *, source_prefix: str,
                         keep_keys: Sequence[str]) -> int:
    """Removes articles once imported from ``source_prefix`` whose files are gone."""
    cur = await conn.execute(
        "DELETE FROM kb_articles WHERE tenant_id = %s AND source_path LIKE %s AND NOT (key = ANY(%s))",
        (tenant_id, source_prefix.replace("%", r"\%").replace("_", r"\_") + "%", list(keep_keys)),
    )
    return cur.rowcount


async def count_chunks(conn: AsyncConnection[Any], tenant_id: int) -> int:
    cur = await conn.execute("SELECT count(*) AS n FROM kb_chunks WHERE tenant_id = %s", (tenant_id,))
    row = await cur.fetchone()
    return int(row["n"]) if row else 0


_SEARCH_SQL = """
WITH q AS (
    SELECT %(v)s::vector AS v,
           replace(websearch_to_tsquery('english', %(q)s)::text, ' & ', ' | ')::tsquery AS tq
),
vec AS (
    SELECT id, row_number() OVER (ORDER BY dist) AS r FROM (
        SELECT c.id, c.embedding <=> q.v AS dist FROM kb_chunks c, q
        WHERE c.tenant_id = %(t)s AND c.article_id <> ALL(%(drafts)s::bigint[]) ORDER BY c.embedding <=> q.v LIMIT %(n)s
    ) s
),
fts AS (
    SELECT id, row_number() OVER (ORDER BY rank DESC, id) AS r FROM (
        SELECT c.id, ts_rank_cd(c.tsv, q.tq) AS rank FROM kb_chunks c, q
        WHERE c.tenant_id = %(t)s AND c.article_id <> ALL(%(drafts)s::bigint[]) AND q.tq <> ''::tsquery AND c.tsv @@ q.tq
        ORDER BY rank DESC LIMIT %(n)s
    ) s
),
fused AS (
    SELECT id, sum(1.0 / (%(rrf_k)s + r)) AS rrf FROM (SELECT * FROM vec UNION ALL SELECT * FROM fts) u GROUP BY id
)
SELECT c.id, c.article_id, c.ord, c.heading, substr(c.text, c.overlap_chars + 1) AS text, a.title, a.url, a.language,
       1 - (c.embedding <=> q.v) AS cosine,
       CASE WHEN q.tq <> ''::tsquery AND c.tsv @@ q.tq THEN ts_rank_cd(c.tsv, q.tq) ELSE 0 END AS text_rank,
       f.rrf
FROM fused f
JOIN kb_chunks c ON c.id = f.id AND c.tenant_id = %(t)s
JOIN kb_articles a ON a.tenant_id = c.tenant_id AND a.id = c.article_id
CROSS JOIN q
ORDER BY f.rrf DESC, text_rank DESC, cosine DESC
LIMIT %(k)s
"""


async def chunk_counts(conn: AsyncConnection[Any], tenant_id: int, article_id: int | None = None) -> dict[int, int]:
    """Chunks per article id (articles without chunks are absent), so admins can see what is searchable."""
    cur = await conn.execute(
        "SELECT article_id, count(*) AS n FROM kb_chunks WHERE tenant_id = %s AND (%s::bigint IS NULL OR article_id = %s)"
        " GROUP BY article_id", (tenant_id, article_id, article_id))
    return {int(r["article_id"]): int(r["n"]) for r in await cur.fetchall()}


async def search(
    conn: AsyncConnection[Any],
    tenant_id: int,
    query: str,
    embedding: np.ndarray,
    *,
    k: int = 5,
    candidates: int = 40,
) -> list[KbHit]:
    """Hybrid search of one tenant's chunks: HNSW cosine + full text, fused by reciprocal rank.

    Full text uses an OR of the query's lexemes (``websearch_to_tsquery`` ANDs them, which almost
    never matches a customer's whole sentence); ``ts_rank_cd`` still rewards chunks matching more.
    The HNSW scan is iterative so the tenant filter cannot starve it of rows.
    """
    await conn.execute("SELECT set_config('hnsw.iterative_scan', 'relaxed_order', true)")
    # Drafts are few (admins publish or delete them), so their ids are passed in rather than joined.
    cur = await conn.execute("SELECT id FROM kb_articles WHERE tenant_id = %s AND status = 'draft'", (tenant_id,))
    drafts = [int(r["id"]) for r in await cur.fetchall()]
    cur = await conn.execute(
        _SEARCH_SQL,  # type: ignore[arg-type]
        {"v": np.asarray(embedding, dtype=np.float32), "q": query[:2000], "t": tenant_id, "n": max(candidates, k),
         "rrf_k": RRF_K, "k": k, "drafts": drafts},
    )
    hits = []
    for row in await cur.fetchall():
        title = row["title"] + (f" — {row['heading']}" if row["heading"] and row["heading"] != row["title"] else "")
        source = Source(id=f"kb:{row['article_id']}#{row['ord']}", title=title, snippet=snippet(row["text"]),
                        score=round(float(row["cosine"]), 4), url=row["url"], kind="kb")
        hits.append(KbHit(source=source, article_id=int(row["article_id"]), ord=int(row["ord"]), heading=row["heading"],
                          text=row["text"], cosine=float(row["cosine"]), text_rank=float(row["text_rank"]),
                          rrf=float(row["rrf"]), language=row["language"]))
    return hits
