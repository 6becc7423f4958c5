"""Knowledge-base import and hybrid search on the real PostgreSQL + pgvector."""

from __future__ import annotations

from pathlib import Path

from psycopg_pool import AsyncConnectionPool

from agent_graph import chunking
from agent_graph.embedder import embed, get_embedder
from agent_graph.kb_import import import_directory
from store import kb
from store.tenants import Tenant

ARTICLE = """---
title: Webhooks
url: https://help.acme.test/webhooks
---
# Webhooks

Webhooks tell your server about events as they happen.

## Verify signatures

Every request carries an `X-Acme-Signature` header: an HMAC-SHA256 of the body with your signing secret.
Compare it in constant time and reject anything that does not match.

## Retries

Failed deliveries are retried with exponential backoff for 24 hours. Respond with 2xx within 10 seconds.
"""


async def _search(pool: AsyncConnectionPool, tenant_id: int, q: str, k: int = 3) -> list[kb.KbHit]:
    async with pool.connection() as conn:
        return await kb.search(conn, tenant_id, q, embed([q])[0], k=k)


def test_chunks_split_by_heading_with_overlap_and_html() -> None:
    article = chunking.parse(ARTICLE, filename="webhooks.md", is_html=False)
    assert article.title == "Webhooks" and article.url == "https://help.acme.test/webhooks"
    chunks = chunking.chunk(article)
    assert [c.heading for c in chunks] == ["Webhooks", "Retries"]  # the one-line intro joins its section
    second = chunks[1]
    assert second.overlap_chars > 0 and second.text[second.overlap_chars:].startswith("Failed deliveries")
    assert second.text[: second.overlap_chars].strip() in chunks[0].text  # ~15 % of the previous chunk repeated
    html = chunking.parse("<html><head><title>Returns</title></head><body><h2>Start a return</h2><p>Open "
                          "<b>Orders</b>.</p><ul><li>Print the label</li></ul><script>x()</script></body></html>",
                          filename="returns.html", is_html=True)
    assert html.title == "Returns" and "## Start a return" in html.body and "- Print the label" in html.body
    assert "x()" not in html.body


async def test_import_is_fresh_unchanged_skips_changed_replaces_removed_prunes(
    pool: AsyncConnectionPool, tenant: Tenant, tmp_path: Path
) -> None:
    (tmp_path / "webhooks.md").write_text(ARTICLE)
    (tmp_path / "old.md").write_text("# Old\n\nThe legacy v1 endpoint lives at /v1/legacy and is still supported.\n")
    first = await import_directory(pool, tenant.id, tmp_path, progress=False)
    assert sorted(first.added) == ["old", "webhooks"] and first.chunks >= 3

    calls = getattr(get_embedder(), "calls", None)
    again = await import_directory(pool, tenant.id, tmp_path, progress=False)
    assert sorted(again.unchanged) == ["old", "webhooks"] and not again.updated
    if calls is not None:
        assert get_embedder().calls == calls  # unchanged articles are not re-embedded

    (tmp_path / "webhooks.md").write_text(ARTICLE.replace("for 24 hours", "for 72 hours"))
    (tmp_path / "old.md").unlink()
    third = await import_directory(pool, tenant.id, tmp_path, progress=False, prune=True)
    assert third.updated == ["webhooks"] and third.removed == 1
    hits = await _search(pool, tenant.id, "how long are failed webhook deliveries retried?")
    assert "72 hours" in hits[0].text and all("24 hours" not in h.text for h in hits)  # no stale chunk
    assert all("legacy" not in h.text for h in await _search(pool, tenant.id, "legacy v1 endpoint"))
    async with pool.connection() as conn:
        article = await kb.get_article(conn, tenant.id, "webhooks")
    assert article is not None and article.source_path and article.source_path.endswith("webhooks.md")
    assert article.source_updated_at is not None


async def test_hybrid_search_returns_cited_sources_for_this_tenant_only(
    pool: AsyncConnectionPool, kb_tenant: Tenant, other_tenant: Tenant, tmp_path: Path
) -> None:
    (tmp_path / "secret.md").write_text("# Globex internal\n\n## Password reset\n\nGlobex resets passwords with "
                                        "the code GLX-4411 by phone only.\n")
    await import_directory(pool, other_tenant.id, tmp_path, progress=False)
    hits = await _search(pool, kb_tenant.id, "how do I reset my password", k=5)
    assert hits and all(h.source.id == f"kb:{h.article_id}#{h.ord}" for h in hits)
    assert "Reset your password" in hits[0].source.title and hits[0].source.url
    assert hits[0].source.snippet and 0 < hits[0].source.score <= 1
    assert all("GLX-4411" not in h.text for h in hits)
    # Full text finds an exact token the embedding model blurs.
    exact = await _search(pool, kb_tenant.id, "X-RateLimit-Remaining header")
    assert "API rate limits" in exact[0].source.title and exact[0].text_rank > 0
    theirs = await _search(pool, other_tenant.id, "reset password")
    assert {h.article_id for h in theirs} and all("GLX-4411" in h.text for h in theirs)
