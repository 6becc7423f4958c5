"""The ``switchboard`` command."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Callable
from pathlib import Path

from gateway import customers_cli, kb_cli, logs, retrain_cli, tenant_cli
from gateway.api import token_cli
from gateway.settings import SettingsError, load_settings
from store.db import DatabaseError


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="switchboard", description="Omnichannel support gateway with an agent copilot.")
    sub = p.add_subparsers(dest="command", required=True)
    for name, text in (("serve", "answer HTTP and sockets (and run workers unless SWITCHBOARD_RUN_WORKERS=false)"),
                       ("demo", "seed the demo tenant, then serve it on embedded defaults")):
        sp = sub.add_parser(name, help=text, description=text)
        sp.add_argument("--host", help="address to listen on (SWITCHBOARD_HOST)")
        sp.add_argument("--port", type=int, help="port (SWITCHBOARD_PORT; 0 picks a free one)")
        sp.add_argument("--data-dir", type=Path, help="data directory (SWITCHBOARD_DATA_DIR)")
        if name == "demo":
            sp.add_argument("--with-prometheus", action="store_true",
                            help="also run Debian's prometheus on 127.0.0.1:9090 scraping the demo (dashboards/)")
    sp = sub.add_parser("worker", help="run background jobs: agent runs, outbox dispatch, SLA ticks, pollers")
    sp.add_argument("--data-dir", type=Path)
    sp = sub.add_parser("migrate", help="apply database migrations (also done at start-up)")
    sp.add_argument("--data-dir", type=Path)
    kb_cli.add_parser(sub)
    token_cli.add_parser(sub)
    retrain_cli.add_parser(sub)
    customers_cli.add_parser(sub)
    tenant_cli.add_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    overrides = {k: v for k, v in {"host": getattr(args, "host", None), "port": getattr(args, "port", None),
                                    "data_dir": getattr(args, "data_dir", None)}.items() if v is not None}
    try:
        settings = load_settings(**overrides)
    except SettingsError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 2
    logs.configure(settings.log_level)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    try:
        with asyncio.Runner(loop_factory=_loop_factory(settings.event_loop)) as runner:
            return runner.run(_run(args.command, settings, with_prometheus=getattr(args, "with_prometheus", False),
                                   args=args))
    except DatabaseError as exc:
        print(f"switchboard: {exc}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        return 130


def _loop_factory(name: str) -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop only when chosen, imported late; None is asyncio.Runner's own default loop."""
    if name == "uvloop":
        import uvloop

        return uvloop.new_event_loop
    return None


async def _run(command: str, settings, *, with_prometheus: bool = False,  # type: ignore[no-untyped-def]
               args: argparse.Namespace | None = None) -> int:
    from gateway.database import database
    from gateway.serve import serve

    if command == "migrate":
        async with database(settings):
            print("migrations are current")
        return 0
    if command == "serve":
        await serve(settings)
        return 0
    if command == "demo":
        from gateway import demo, demo_prometheus

        prom: list[object] = []

        def banner(url: str) -> None:
            print(demo.banner(url), file=sys.stderr, flush=True)
            if with_prometheus:
                prom.append(demo_prometheus.start(url, settings.data_dir))

        try:
            await serve(settings, before_start=lambda pool: demo.seed(pool), banner=banner)
        finally:
            for proc in prom:
                demo_prometheus.stop(proc)  # type: ignore[arg-type]
        return 0
    if command == "kb":
        assert args is not None
        return await kb_cli.run(args, settings)
    if command == "token":
        assert args is not None
        return await token_cli.run(args, settings)
    if command == "retrain":
        assert args is not None
        return await retrain_cli.run(args, settings)
    if command == "tenant":
        assert args is not None
        return await tenant_cli.run(args, settings)
    if command == "customers":
        assert args is not None
        return await customers_cli.run(args, settings)
    if command == "worker":
        from gateway.workers import run_workers_forever

        async with database(settings) as (dsn, pool):
            await run_workers_forever(settings, pool, dsn)
        return 0
    raise AssertionError(command)


if __name__ == "__main__":
    raise SystemExit(main())
