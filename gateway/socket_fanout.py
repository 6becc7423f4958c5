"""Socket.IO fan-out over Redis that reports a failed publish instead of swallowing it.

python-socketio's ``AsyncRedisManager`` tries a publish twice, logs "giving up" and returns, so
``emit`` succeeds while the push went nowhere; the chat sender would then mark the outbox row sent.
Raising here sends the row back to the outbox's retry instead: the push is late rather than left
to the customer's next ``resume``. A retry may repeat a push that this process had already handed
to its own sockets before publishing; pushes carry the message id and the widget shows each id
once. (A publish that reached Redis but no gateway holding the socket — that gateway was down — is
not a failure Redis can report; ``resume`` on reconnect covers it.)
"""

from __future__ import annotations

from typing import Any

import socketio


class RedisPublishFailed(ConnectionError):
    pass


class CheckedRedisManager(socketio.AsyncRedisManager):  # type: ignore[misc]
    async def _publish(self, data: Any) -> Any:
        receivers = await super()._publish(data)
        if receivers is None:  # the parent's "giving up" path: both attempts raised
            raise RedisPublishFailed("Socket.IO publish to Redis failed; delivery will be retried")
        return receivers
