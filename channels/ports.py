"""What channels need from the gateway, as Protocols the gateway implements (no upward imports)."""

from __future__ import annotations

from typing import Protocol

from store.models import InboundMessage, IngestResult


class Ingest(Protocol):
    """Stores an inbound message (idempotent by channel + external id) and returns where it went."""

    async def __call__(self, msg: InboundMessage) -> IngestResult: ...


class CustomerActions(Protocol):
    """A customer pressed a button we rendered ("talk to a person", "this solved it", CSAT n)."""

    async def __call__(self, tenant_id: int, conversation_id: int, action_id: str, *, actor: str) -> None: ...


class EmailVerification(Protocol):
    """Sends a one-time link proving a chat visitor owns an address; False if email is not configured."""

    async def __call__(self, tenant_id: int, customer_id: int, email: str) -> bool: ...


class FormConfirmation(Protocol):
    """Queues a "we got your message" email (a NOTICE on the email channel) answering a form submission.

    Idempotent per answered message, because a double submit or a retried request calls it again.
    """

    async def __call__(self, tenant_id: int, conversation_id: int, answers_message_id: int, text: str, *,
                       language: str = "en") -> None: ...
