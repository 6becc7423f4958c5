"""``switchboard customers import FILE --tenant SLUG``: customer attributes from a CSV, with a per-row report."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    cmd = subparsers.add_parser("customers", help="manage customers", description="manage customers")
    cmd.add_argument("--data-dir", type=Path, help="data directory (SWITCHBOARD_DATA_DIR)")
    actions = cmd.add_subparsers(dest="customers_command", required=True)
    imp = actions.add_parser("import", help="import attributes from CSV: good rows imported, bad rows reported",
                             description="Columns: customer_id, email or external_id; name, plan_tier, account_value,"
                                         " customer_since (YYYY-MM-DD), region, attr.<key>.")
    imp.add_argument("file", type=Path)
    imp.add_argument("--tenant", required=True, metavar="SLUG")
    imp.add_argument("--json", action="store_true", help="print the report as JSON")
    return cmd


async def run(args: argparse.Namespace, settings: Any) -> int:
    from gateway.database import database

    async with database(settings) as (_dsn, pool), pool.connection() as conn:
        return await run_on(conn, args)


async def run_on(conn: Any, args: argparse.Namespace) -> int:
    """0: every row imported; 1: some rows failed (the rest are imported); 2: nothing could be read."""
    from store import customer_import, tenants

    tenant = await tenants.by_slug(conn, args.tenant)
    if tenant is None:
        print(f"switchboard customers: no tenant with slug {args.tenant!r}", file=sys.stderr)
        return 2
    try:
        if args.file.stat().st_size > customer_import.MAX_BYTES:
            raise customer_import.ImportRejected("file", f"at most {customer_import.MAX_BYTES} bytes")
        text = args.file.read_text(encoding="utf-8")
        async with conn.transaction():
            report = await customer_import.run(conn, tenant.id, text, actor=f"cli:{getpass.getuser()}",
                                               today=datetime.now(UTC).date())
    except (OSError, UnicodeDecodeError) as exc:
        print(f"switchboard customers: cannot read {args.file}: {exc}", file=sys.stderr)
        return 2
    except customer_import.ImportRejected as exc:
        print(f"switchboard customers: {args.file}: {exc.field}: {exc}", file=sys.stderr)
        return 2
    body = report.as_json()
    if args.json:
        print(json.dumps(body))
    else:
        print(f"{body['imported']} of {body['rows']} rows imported ({body['created']} new customers),"
              f" {body['failed']} rows failed")
        for e in body["errors"]:
            print(f"{args.file}:{e['line']}: {e['field']}: {e['message']}", file=sys.stderr)
    return 1 if body["failed"] else 0
