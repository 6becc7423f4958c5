"""Runs queued jobs with leases and heartbeats; jobs for one conversation never run side by side."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping

from psycopg_pool import AsyncConnectionPool

from gateway.metrics import record_job
from gateway.wakeups import Wakeups
from store import jobs
from store.jobs import Job

log = logging.getLogger("switchboard.jobs")
Handler = Callable[[Job], Awaitable[None]]
MAX_ATTEMPTS = 5


class JobRunner:
    def __init__(self, pool: AsyncConnectionPool, handlers: Mapping[str, Handler], wakeups: Wakeups | None = None, *,
                 concurrency: int = 4, lease_seconds: float = 60, idle_poll_seconds: float = 1.0) -> None:
        self.pool = pool
        self.handlers = dict(handlers)
        self.wakeups = wakeups
        self.concurrency = concurrency
        self.lease_seconds = lease_seconds
        self.idle_poll_seconds = idle_poll_seconds

    async def run_forever(self) -> None:
        recover = asyncio.create_task(self._recover_loop())
        slots = asyncio.Semaphore(self.concurrency)
        running: set[asyncio.Task[None]] = set()
        try:
            while True:
                await slots.acquire()
                try:
                    job = await self._claim()
                except Exception:
                    log.exception("claiming a job failed")
                    job = None
                if job is None:
                    slots.release()
                    await self._idle()
                    continue
                task = asyncio.create_task(self._run(job))
                running.add(task)
                task.add_done_callback(lambda t: (running.discard(t), slots.release()))
        finally:
            recover.cancel()
            for task in running:
                task.cancel()

    async def run_once(self) -> bool:
        """Claims and runs one job; False when nothing was due (tests drive the queue with this)."""
        job = await self._claim()
        if job is None:
            return False
        await self._run(job)
        return True

    async def _claim(self) -> Job | None:
        async with self.pool.connection() as conn:
            return await jobs.claim(conn, list(self.handlers), lease_seconds=self.lease_seconds)

    async def _idle(self) -> None:
        if self.wakeups:
            await self.wakeups.wait("sb_jobs", self.idle_poll_seconds)
        else:
            await asyncio.sleep(self.idle_poll_seconds)

    async def _run(self, job: Job) -> None:
        heartbeat = asyncio.create_task(self._heartbeat(job.id))
        started = time.perf_counter()
        try:
            await self.handlers[job.kind](job)
        except asyncio.CancelledError:
            raise  # the lease expires and another worker picks the job up
        except Exception as exc:
            log.exception("job %s (%s) failed", job.id, job.kind)
            record_job(job.kind, started, ok=False)
            retry = None if job.attempts >= MAX_ATTEMPTS else float(2**job.attempts)
            async with self.pool.connection() as conn:
                await jobs.fail(conn, job.id, f"{type(exc).__name__}: {exc}", retry_in=retry)
        else:
            record_job(job.kind, started, ok=True)
            async with self.pool.connection() as conn:
                await jobs.finish(conn, job.id)
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _heartbeat(self, job_id: int) -> None:
        while True:
            await asyncio.sleep(self.lease_seconds / 3)
            async with self.pool.connection() as conn:
                await jobs.extend(conn, job_id, self.lease_seconds)

    async def _recover_loop(self) -> None:
        while True:
            try:
                async with self.pool.connection() as conn:
                    await jobs.recover_expired(conn)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("job recovery pass failed")
            await asyncio.sleep(max(1.0, self.lease_seconds / 4))
