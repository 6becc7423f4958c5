"""``switchboard tenant create|export|delete|erase-customer``: the tenant lifecycle from a shell.

Whoever can run this command can reach the database, so it needs no token; over HTTP the same
actions need the platform operator's token (create, delete) or a tenant admin token (export, erase).
"""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import Any


def add_parser(subparsers: Any) -> argparse.ArgumentParser:
    ten = subparsers.add_parser("tenant", help="onboard, export and delete tenants; erase a customer",
                                description="onboard, export and delete tenants; erase a customer (GDPR)")
    ten.add_argument("--data-dir", type=Path, help="data directory (SWITCHBOARD_DATA_DIR)")
    actions = ten.add_subparsers(dest="tenant_command", required=True)
    create = actions.add_parser("create", help="create a tenant and its first admin; prints a one-time password link")
    create.add_argument("name", help="display name, e.g. 'Acme Inc'")
    create.add_argument("--admin-email", required=True)
    create.add_argument("--admin-name")
    create.add_argument("--slug", help="URL name (default: from the name)")
    create.add_argument("--json", action="store_true")
    export = actions.add_parser("export", help="write all of a tenant's data as JSON")
    export.add_argument("slug")
    export.add_argument("--output", "-o", type=Path, help="file to write (default: standard output)")
    delete = actions.add_parser("delete", help="delete a tenant with all its data (irreversible)")
    delete.add_argument("slug")
    delete.add_argument("--yes", action="store_true", help="required: confirms the deletion")
    erase = actions.add_parser("erase-customer", help="GDPR erasure of one customer and everything merged into it")
    erase.add_argument("slug")
    erase.add_argument("customer_id", type=int)
    erase.add_argument("--yes", action="store_true", help="required: confirms the erasure")
    return ten


def slug_from(name: str) -> str:
    out = "".join(c if c.isascii() and c.isalnum() else "-" for c in name.lower())
    return "-".join(p for p in out.split("-") if p)[:63]


async def run(args: argparse.Namespace, settings: Any) -> int:
    from gateway.database import database

    async with database(settings) as (_dsn, pool):
        return await run_on(pool, args, base_url=settings.effective_public_url())


async def run_on(pool: Any, args: argparse.Namespace, *, base_url: str) -> int:
    from gateway import tenant_admin
    from store import tenants

    def fail(message: str, code: int = 2) -> int:
        print(f"switchboard tenant: {message}", file=sys.stderr)
        return code

    actor = f"cli:{getpass.getuser()}"
    if args.tenant_command == "create":
        slug = args.slug or slug_from(args.name)
        try:
            done = await tenant_admin.onboard(pool, slug=slug, name=args.name, admin_email=args.admin_email,
                                              admin_name=args.admin_name, base_url=base_url, actor=actor)
        except tenant_admin.OnboardingError as exc:
            return fail(f"{exc.field}: {exc}")
        if args.json:
            print(json.dumps({"tenant_id": done.tenant.id, "slug": done.tenant.slug, "admin_agent_id":
                              done.admin_agent_id, "password_link": done.password_link,
                              "password_link_expires_at": done.link_expires_at.isoformat()}))
        else:
            print(f"tenant {done.tenant.slug} ({done.tenant.id}) created with admin {done.admin_email}.")
            until = done.link_expires_at.strftime("%Y-%m-%d %H:%M %Z")
            print(f"Send the admin this one-time link to set a password (valid until {until}):")
            print(done.password_link)
        return 0
    async with pool.connection() as conn:
        tenant = await tenants.by_slug(conn, args.slug)
    if tenant is None:
        return fail(f"no tenant with slug {args.slug!r}")
    if args.tenant_command == "export":
        out = args.output.open("wb") if args.output else sys.stdout.buffer
        try:
            async for chunk in tenant_admin.export_chunks(pool, tenant):
                out.write(chunk)
            out.write(b"\n")
        finally:
            if args.output:
                out.close()
        return 0
    if not args.yes:
        return fail("this cannot be undone; add --yes")
    if args.tenant_command == "delete":
        rows = await tenant_admin.delete(pool, tenant)
        print(f"tenant {tenant.slug} deleted ({sum(rows.values())} rows)")
        return 0
    if args.tenant_command == "erase-customer":
        try:
            done = await tenant_admin.erase_customer(pool, tenant.id, args.customer_id, actor=actor)
        except LookupError:
            return fail(f"no customer {args.customer_id} in {tenant.slug}", 1)
        print(f"erased customers {', '.join(map(str, done.customer_ids))}: {done.conversations} conversations,"
              f" {done.messages} messages, {done.identities} identities")
        return 0
    raise AssertionError(args.tenant_command)
