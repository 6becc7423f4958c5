"""``switchboard retrain --tenant SLUG [--rollback]``: retrain a tenant's classifier from agent feedback now.

The same gate as the scheduled ``retrain`` job; ``--rollback`` re-activates the previous version.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    sp = subparsers.add_parser(
        "retrain", help="retrain a tenant's category classifier from agent feedback (promoted only if not worse)",
        description="Train a candidate on the tenant's examples and agents' corrections, score it and the serving "
                    "model on held-back labels, and promote it only if it is not worse.")
    sp.add_argument("--tenant", required=True, metavar="SLUG", help="tenant slug, e.g. demo")
    sp.add_argument("--margin", type=float, default=0.0, help="promote if candidate >= current - MARGIN (default 0)")
    sp.add_argument("--rollback", action="store_true", help="re-activate the previous version instead of training")
    sp.add_argument("--json", action="store_true", help="print the result as JSON")
    sp.add_argument("--data-dir", type=Path, help="data directory (SWITCHBOARD_DATA_DIR)")
    return sp


async def run(args: argparse.Namespace, settings: Any) -> int:
    from agent_graph import retrain as rt
    from gateway.database import database
    from store import tenants

    async with database(settings) as (_dsn, pool):
        async with pool.connection() as conn:
            tenant = await tenants.by_slug(conn, args.tenant)
        if tenant is None:
            print(f"switchboard retrain: no tenant with slug {args.tenant!r}", file=sys.stderr)
            return 2
        if args.rollback:
            try:
                version = await rt.rollback(pool, tenant.id)
            except LookupError as exc:
                print(f"switchboard retrain: {exc}", file=sys.stderr)
                return 1
            print(json.dumps({"active_version": version}) if args.json else f"{tenant.slug}: v{version} is active")
            return 0
        result = await rt.retrain(pool, tenant.id, rt.RetrainConfig(margin=args.margin))
    if args.json:
        print(json.dumps(result.as_dict()))
    else:
        verdict = "promoted" if result.promoted else "not promoted"
        print(f"{tenant.slug}: candidate v{result.version} {verdict} — {result.reason};"
              f" active v{result.active_version}")
    return 0
