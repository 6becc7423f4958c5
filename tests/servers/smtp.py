"""An aiosmtpd server on a loopback port that records what it accepts and refuses on demand.

``refuse(code, times)`` makes the next ``times`` DATA commands answer ``code`` (4xx or 5xx), so
tests can drive the sender's retry and failure paths against a real SMTP conversation.

``delay`` (seconds) holds every accepted message that long *after* recording it and before the
"250 OK": a sender killed in that window has delivered without knowing it (the lost-250 case).
"""

from __future__ import annotations

import asyncio
import email
import threading
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.controller import Controller

from tests.servers.procs import free_port


@dataclass(frozen=True)
class Received:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    raw: bytes

    @property
    def message(self) -> EmailMessage:
        msg = email.message_from_bytes(self.raw, policy=policy.default)
        assert isinstance(msg, EmailMessage)
        return msg

    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return str(part.get_content())


class _Handler:
    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.messages: list[Received] = []
        self.refusals: list[str] = []
        self.refused: list[Received] = []  # what was offered and refused: a retry must repeat its Message-ID
        self.attempts = 0
        self._lock = threading.Lock()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        with self._lock:
            self.attempts += 1
            received = Received(envelope.mail_from, tuple(envelope.rcpt_tos), bytes(envelope.content))
            if self.refusals:
                self.refused.append(received)
                return self.refusals.pop(0)
            self.messages.append(received)
        if self.delay:
            await asyncio.sleep(self.delay)
        return "250 OK"


class SmtpServer:
    def __init__(self, *, delay: float = 0.0) -> None:
        self.port = free_port()
        self.handler = _Handler(delay)
        self.controller = Controller(self.handler, hostname="127.0.0.1", port=self.port)

    def start(self) -> None:
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()

    @property
    def messages(self) -> list[Received]:
        return list(self.handler.messages)

    @property
    def refused(self) -> list[Received]:
        return list(self.handler.refused)

    @property
    def attempts(self) -> int:
        return self.handler.attempts

    def refuse(self, code: int, times: int = 1) -> None:
        text = "try again later" if 400 <= code < 500 else "mailbox unavailable"
        with self.handler._lock:
            self.handler.refusals.extend([f"{code} {text}"] * times)
