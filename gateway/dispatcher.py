"""Delivers the outbox through each channel's sender, with retries; several may run at once.

Rows are leased with ``FOR UPDATE SKIP LOCKED`` (no two dispatchers take the same row) and a lease
time: a dispatcher killed after commit but before sending leaves the row to be picked up when its
lease expires, so nothing is lost.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping

from psycopg_pool import AsyncConnectionPool

from gateway import metrics
from gateway.wakeups import Wakeups
from store import crash_points, outbox
from store.models import Channel
from store.outbox import Delivery, PermanentDeliveryError, Sender, TransientDeliveryError

log = logging.getLogger("switchboard.dispatcher")
SEND_TIMEOUT_SECONDS = 30.0


class Dispatcher:
    def __init__(self, pool: AsyncConnectionPool, senders: Mapping[Channel, Sender], wakeups: Wakeups | None = None,
                 *, batch: int = 20, lease_seconds: float = 60, idle_poll_seconds: float = 1.0) -> None:
        self.pool = pool
        self.senders = senders
        self.wakeups = wakeups
        self.batch = batch
        self.lease_seconds = lease_seconds
        self.idle_poll_seconds = idle_poll_seconds

    async def run_forever(self) -> None:
        while True:
            try:
                done = await self.run_once()
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("dispatcher pass failed")
                done = 0
            if done == 0:
                if self.wakeups:
                    await self.wakeups.wait("sb_outbox", self.idle_poll_seconds)
                else:
                    await asyncio.sleep(self.idle_poll_seconds)

    async def run_once(self) -> int:
        async with self.pool.connection() as conn:
            deliveries = await outbox.claim_due(conn, list(self.senders), limit=self.batch,
                                                lease_seconds=self.lease_seconds)
        if deliveries:
            crash_points.reached(crash_points.AFTER_OUTBOX_COMMIT)  # claimed and committed, nothing sent
        await asyncio.gather(*(self._deliver(d) for d in deliveries))
        return len(deliveries)

    async def _deliver(self, d: Delivery) -> None:
        sender = self.senders.get(d.channel)
        try:
            if sender is None:  # claim_due only returns our channels; a config change can still race it
                raise TransientDeliveryError(f"no sender configured for channel {d.channel}")
            await asyncio.wait_for(sender.send(d), SEND_TIMEOUT_SECONDS)
        except PermanentDeliveryError as exc:
            log.warning("delivery %s failed permanently: %s", d.id, exc, extra={"channel": d.channel.value})
            async with self.pool.connection() as conn:
                await outbox.mark_failed(conn, d.tenant_id, d.id, str(exc))
            async with self.pool.connection() as conn:
                await metrics.record_delivery_failure(conn, d, permanent=True)
            return
        except (TransientDeliveryError, TimeoutError, OSError) as exc:
            retry_after = exc.retry_after if isinstance(exc, TransientDeliveryError) else None
            async with self.pool.connection() as conn:
                await outbox.mark_retry(conn, d.tenant_id, d, f"{type(exc).__name__}: {exc}", retry_after)
            async with self.pool.connection() as conn:
                await metrics.record_delivery_failure(conn, d, permanent=False)
            return
        except Exception as exc:  # an adapter bug must not lose the delivery: retry with backoff
            log.exception("sender for %s raised", d.channel.value)
            async with self.pool.connection() as conn:
                await outbox.mark_retry(conn, d.tenant_id, d, f"{type(exc).__name__}: {exc}")
            async with self.pool.connection() as conn:
                await metrics.record_delivery_failure(conn, d, permanent=False)
            return
        crash_points.reached(crash_points.AFTER_SEND)  # the channel took it; the row still says pending
        async with self.pool.connection() as conn:
            await outbox.mark_sent(conn, d.tenant_id, d.id)
        async with self.pool.connection() as conn:  # after the commit: metrics never undo a delivery
            await metrics.record_delivered(conn, d)
