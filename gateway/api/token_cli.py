"""``switchboard token create|list|revoke --tenant SLUG``: manage a tenant's API tokens."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any

from store.api_tokens import DEFAULT_RATE_LIMIT_PER_MINUTE, SCOPES


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    tok = subparsers.add_parser("token", help="manage REST API tokens", description="manage REST API tokens")
    tok.add_argument("--data-dir", type=Path, help="data directory (SWITCHBOARD_DATA_DIR)")
    actions = tok.add_subparsers(dest="token_command", required=True)
    create = actions.add_parser("create", help="create a token; its secret is printed once and never stored")
    create.add_argument("--tenant", required=True, metavar="SLUG")
    create.add_argument("--scopes", required=True, help=f"comma-separated: {','.join(SCOPES)}")
    create.add_argument("--name", default="api", help="what the token is for, e.g. crm-sync")
    create.add_argument("--rate-limit", type=int, default=DEFAULT_RATE_LIMIT_PER_MINUTE, metavar="PER_MINUTE",
                        help="requests per minute (per serving process)")
    create.add_argument("--json", action="store_true")
    lst = actions.add_parser("list", help="list a tenant's tokens (never their secrets)")
    lst.add_argument("--tenant", required=True, metavar="SLUG")
    revoke = actions.add_parser("revoke", help="revoke a token; it fails from its next request on")
    revoke.add_argument("--tenant", required=True, metavar="SLUG")
    revoke.add_argument("token_id", type=int)
    return tok


async def run(args: argparse.Namespace, settings: Any) -> int:
    from gateway.database import database

    async with database(settings) as (_dsn, pool), pool.connection() as conn:
        return await run_on(conn, args)


async def run_on(conn: Any, args: argparse.Namespace) -> int:
    from store import api_tokens, tenants

    tenant = await tenants.by_slug(conn, args.tenant)
    if tenant is None:
        print(f"switchboard token: no tenant with slug {args.tenant!r}", file=sys.stderr)
        return 2
    if args.token_command == "create":
        try:
            scopes = api_tokens.parse_scopes(args.scopes)
            token, secret = await api_tokens.create(conn, tenant.id, name=args.name, scopes=scopes,
                                                    created_by=f"cli:{getpass.getuser()}",
                                                    rate_limit_per_minute=args.rate_limit)
        except ValueError as exc:
            print(f"switchboard token: {exc}", file=sys.stderr)
            return 2
        if args.json:
            print(json.dumps({"id": token.id, "token": secret, "scopes": list(token.scopes)}))
        else:
            print(f"token {token.id} for {tenant.slug} ({','.join(token.scopes)}); shown once, store it now:")
            print(secret)
        return 0
    if args.token_command == "list":
        for t in await api_tokens.list_tokens(conn, tenant.id):
            state = f"revoked {t.revoked_at:%Y-%m-%d}" if t.revoked_at else "active"
            used = f"{t.last_used_at:%Y-%m-%d %H:%M}" if t.last_used_at else "never"
            print(f"{t.id}\t{t.prefix}…\t{t.name}\t{','.join(t.scopes)}\t{t.rate_limit_per_minute}/min\t{state}\t"
                  f"last used {used}")
        return 0
    if args.token_command == "revoke":
        if not await api_tokens.revoke(conn, tenant.id, args.token_id):
            print(f"switchboard token: no active token {args.token_id} for {tenant.slug}", file=sys.stderr)
            return 1
        print(f"token {args.token_id} revoked")
        return 0
    raise AssertionError(args.token_command)
