"""LISTEN/NOTIFY wake-ups so workers react to committed work at once, in every process."""

from __future__ import annotations

import asyncio
import contextlib
import logging

import psycopg

log = logging.getLogger("switchboard.wakeups")


class Wakeups:
    """One listening connection per process; each channel name gets an asyncio.Event."""

    def __init__(self, dsn: str, channels: tuple[str, ...] = ("sb_jobs", "sb_outbox")) -> None:
        self.dsn = dsn
        self.events = {name: asyncio.Event() for name in channels}
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.create_task(self._listen(), name="wakeups")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def wait(self, name: str, at_most: float) -> None:
        event = self.events[name]
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(at_most):
                await event.wait()
        event.clear()

    def kick(self, name: str) -> None:
        self.events[name].set()

    async def _listen(self) -> None:
        delay = 0.5
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(self.dsn, autocommit=True) as conn:
                    for name in self.events:
                        await conn.execute(f"LISTEN {name}")
                    delay = 0.5
                    for event in self.events.values():
                        event.set()  # catch up on anything committed while we were not listening
                    async for note in conn.notifies():
                        if note.channel in self.events:
                            self.events[note.channel].set()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # the database restarted; polling covers the gap
                log.warning("notification listener lost its connection: %s", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 10)
