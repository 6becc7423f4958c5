"""``switchboard kb import DIR --tenant SLUG``: load a directory of help articles into a tenant's KB."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    kb = subparsers.add_parser("kb", help="manage the knowledge base", description="manage the knowledge base")
    kb.add_argument("--data-dir", type=Path, help="data directory (SWITCHBOARD_DATA_DIR)")
    actions = kb.add_subparsers(dest="kb_command", required=True)
    imp = actions.add_parser(
        "import", help="import Markdown/HTML articles (unchanged ones are skipped, changed ones re-embedded)",
        description="Import every .md/.markdown/.html/.htm file under DIR; the file path is the article key.",
    )
    imp.add_argument("directory", type=Path, metavar="DIR")
    imp.add_argument("--tenant", required=True, metavar="SLUG", help="tenant slug, e.g. demo")
    imp.add_argument("--prune", action="store_true", help="delete articles whose files are gone from DIR")
    imp.add_argument("--no-progress", action="store_true", help="no progress bar on stderr")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    return kb


async def run(args: argparse.Namespace, settings: Any) -> int:
    from agent_graph.kb_import import import_directory
    from gateway.database import database
    from store import tenants

    if args.kb_command != "import":
        raise AssertionError(args.kb_command)
    directory: Path = args.directory
    if not await asyncio.to_thread(directory.is_dir):
        print(f"switchboard kb import: {directory} is not a directory", file=sys.stderr)
        return 2
    async with database(settings) as (_dsn, pool):
        async with pool.connection() as conn:
            tenant = await tenants.by_slug(conn, args.tenant)
        if tenant is None:
            print(f"switchboard kb import: no tenant with slug {args.tenant!r}", file=sys.stderr)
            return 2
        report = await import_directory(pool, tenant.id, directory, prune=args.prune,
                                        progress=not args.no_progress and sys.stderr.isatty())
    summary = report.as_dict()
    if args.json:
        print(json.dumps(summary))
    else:
        print(f"{tenant.slug}: {summary['added']} added, {summary['updated']} updated, {summary['unchanged']} unchanged,"
              f" {summary['removed']} removed, {summary['chunks']} chunks written")
        for error in report.errors:
            print(f"  error: {error}", file=sys.stderr)
    return 1 if report.errors else 0
