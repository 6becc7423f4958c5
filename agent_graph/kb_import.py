"""Import a directory of Markdown/HTML help articles into a tenant's knowledge base.

Re-running an import is cheap and safe: an article whose content hash is unchanged is skipped
without touching the embedding model; a changed one is re-chunked, re-embedded and its old chunks
are replaced, so a removed paragraph can never be cited again. ``prune`` also deletes articles whose
files disappeared from the directory.
"""

from __future__ import annotations

import asyncio
import hashlib
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from psycopg_pool import AsyncConnectionPool
from tqdm import tqdm

from agent_graph import chunking
from agent_graph.embedder import embed_many_async, get_embedder
from store import kb

CHUNKER_VERSION = 1  # part of the content hash: a chunking change re-embeds everything once
SUFFIXES = {".md": False, ".markdown": False, ".html": True, ".htm": True}


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    removed: int = 0
    chunks: int = 0
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, object]:
        return {"added": len(self.added), "updated": len(self.updated), "unchanged": len(self.unchanged),
                "removed": self.removed, "chunks": self.chunks, "errors": self.errors}


def content_hash(article: chunking.ParsedArticle, embedder_id: str) -> str:
    h = hashlib.sha256()
    for part in (str(CHUNKER_VERSION), embedder_id, article.title, article.url or "", article.language, article.body):
        h.update(part.encode("utf-8") + b"\0")
    return h.hexdigest()


def embedding_text(title: str, ch: chunking.Chunk) -> str:
    """What gets embedded: the title and heading say what a chunk is about better than its body."""
    heading = "" if ch.heading == title else f"{ch.heading}\n"
    return f"{title}\n{heading}{ch.text}"


async def import_article(
    pool: AsyncConnectionPool, tenant_id: int, *, key: str, text: str, is_html: bool = False,
    source_path: str | None = None, source_updated_at: datetime | None = None,
    title: str | None = None, url: str | None = None, status: str | None = None,
) -> tuple[kb.UpsertResult, bool]:
    """Upserts one article; returns the store's result and whether it is new.

    The CLI and the admin HTTP API both come through here, so both get the same chunking, the same
    skip-if-unchanged hash and the same stale-chunk replacement. ``title``/``url`` override what the
    text's front matter or first heading says (the HTTP API sends them as fields).
    """
    article = chunking.parse(text, filename=key, is_html=is_html)
    if title is not None or url is not None:
        article = replace(article, title=title if title is not None else article.title,
                          url=url if url is not None else article.url)
    embedder_id = get_embedder().model_id
    digest = content_hash(article, embedder_id)
    async with pool.connection() as conn:
        stored = await kb.content_hash(conn, tenant_id, key)
    chunks: list[kb.ChunkInput] | None = None
    if stored != digest:
        pieces = chunking.chunk(article)
        vectors = await embed_many_async([embedding_text(article.title, p) for p in pieces]) if pieces else []
        chunks = [kb.ChunkInput(p.heading, p.text, v, p.overlap_chars) for p, v in zip(pieces, vectors, strict=True)]
    async with pool.connection() as conn, conn.transaction():
        result = await kb.upsert_article(
            conn, tenant_id, key=key, title=article.title, body=article.body, content_hash=digest, chunks=chunks,
            url=article.url, language=article.language, source_path=source_path,
            source_updated_at=source_updated_at, embedder=embedder_id, status=status,
        )
    return result, stored is None


def _read(path: Path) -> tuple[str, datetime]:
    return path.read_text(encoding="utf-8"), datetime.fromtimestamp(path.stat().st_mtime, UTC)


def article_files(directory: Path) -> list[Path]:
    return sorted(p for p in directory.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES)


async def import_directory(
    pool: AsyncConnectionPool, tenant_id: int, directory: Path, *, prune: bool = False, progress: bool = True,
    files: Sequence[Path] | None = None,
) -> ImportReport:
    root = await asyncio.to_thread(directory.resolve)
    paths = list(files) if files is not None else await asyncio.to_thread(article_files, root)
    report = ImportReport()
    keys: list[str] = []
    bar = tqdm(total=len(paths), desc="kb import", unit="article", file=sys.stderr, disable=not progress,
               leave=True, dynamic_ncols=True)
    try:
        for path in paths:
            key = path.resolve().relative_to(root).with_suffix("").as_posix()
            keys.append(key)
            try:
                text, mtime = await asyncio.to_thread(_read, path)
                result, new = await import_article(pool, tenant_id, key=key, text=text,
                                                   is_html=SUFFIXES[path.suffix.lower()],
                                                   source_path=str(path.resolve()), source_updated_at=mtime)
            except (OSError, UnicodeDecodeError, ValueError) as exc:
                report.errors.append(f"{key}: {exc}")
                continue
            finally:
                bar.update(1)
            report.chunks += result.chunks
            (report.added if new else report.updated if result.changed else report.unchanged).append(key)
        if prune:
            async with pool.connection() as conn, conn.transaction():
                report.removed = await kb.delete_missing(conn, tenant_id, source_prefix=str(root) + "/", keep_keys=keys)
    finally:
        bar.close()
    return report
