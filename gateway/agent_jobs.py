"""Job handlers: what a worker does for each job kind."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable

from psycopg_pool import AsyncConnectionPool

from gateway.routing import SkillRouter
from gateway.settings import Settings
from store.jobs import Job

log = logging.getLogger("switchboard.agent_jobs")


async def job_handlers(settings: Settings, pool: AsyncConnectionPool, dsn: str, router: SkillRouter,
                       base_url: str) -> dict[str, Callable[[Job], Awaitable[None]]]:
    return {}
