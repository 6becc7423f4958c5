"""Background work a process runs: the job runner (agent runs) and the outbox dispatcher."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping

from psycopg_pool import AsyncConnectionPool

from gateway.dispatcher import Dispatcher
from gateway.jobs_runner import JobRunner
from gateway.wakeups import Wakeups
from store.jobs import Job
from store.models import Channel
from store.outbox import Sender

log = logging.getLogger("switchboard.background")


@contextlib.asynccontextmanager
async def running(pool: AsyncConnectionPool, dsn: str, *, senders: Mapping[Channel, Sender],
                  handlers: Mapping[str, Callable[[Job], Awaitable[None]]],
                  outbox_lease_seconds: float = 60.0, concurrency: int = 16,
                  job_lease_seconds: float = 60.0) -> AsyncIterator[None]:
    wakeups = Wakeups(dsn)
    wakeups.start()
    dispatcher = Dispatcher(pool, senders, wakeups, lease_seconds=outbox_lease_seconds)
    tasks = [
        asyncio.create_task(dispatcher.run_forever(), name="dispatcher"),
        asyncio.create_task(JobRunner(pool, handlers, wakeups, concurrency=concurrency,
                                      lease_seconds=job_lease_seconds).run_forever(), name="jobs"),
    ]
    try:
        yield
    finally:
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        await wakeups.stop()
