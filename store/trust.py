"""The identity trust table from DESIGN.md, in one place.

Ingest, the chat history endpoint, the console and the API all ask this module; nothing else
decides what a claim may do. The level, not the channel, decides.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from store.models import ClaimSource


@dataclass(frozen=True, slots=True)
class TrustPolicy:
    links: bool  # resolves to (or creates) the customer owning this identity
    merges: bool  # may merge two existing customers by itself
    threads: bool  # may continue the customer's open conversation
    sees_history: bool  # may see the customer's earlier conversations
    receives_replies: bool


TRUST: dict[ClaimSource, TrustPolicy] = {
    ClaimSource.EMAIL_FROM: TrustPolicy(True, False, True, False, True),
    ClaimSource.FORM_EMAIL: TrustPolicy(True, False, True, False, True),
    ClaimSource.SLACK_USER: TrustPolicy(True, False, True, False, True),
    ClaimSource.SLACK_PROFILE_EMAIL_VERIFIED_WORKSPACE: TrustPolicy(True, True, True, False, True),
    ClaimSource.SLACK_PROFILE_EMAIL_OTHER_WORKSPACE: TrustPolicy(False, False, False, False, False),
    ClaimSource.CHAT_VISITOR_TOKEN: TrustPolicy(True, False, True, True, True),
    ClaimSource.CHAT_TYPED_EMAIL: TrustPolicy(False, False, False, False, False),
    ClaimSource.CHAT_VERIFIED_EMAIL: TrustPolicy(True, True, True, True, True),
    ClaimSource.API_EXTERNAL_ID: TrustPolicy(True, False, True, False, True),
}


def policy(source: ClaimSource) -> TrustPolicy:
    return TRUST[source]


def history_scope(own_customer: int, claim: ClaimSource,
                  merges: Iterable[tuple[int, int, ClaimSource]]) -> frozenset[int]:
    """Whose conversations the holder of ``claim`` (identifying ``own_customer``) may read.

    A merge joins two customers for routing and replies, but history is what leaks, so it travels
    only across merges whose claim itself ``sees_history`` (the one-time-link email), in either
    direction; an agent's or API merge, or a Slack profile email, joins the customers without
    opening the other side's past conversations to this claimant. ``merges`` are the active
    (source, target, claim) edges of the customer's group.
    """
    if not policy(claim).sees_history:
        return frozenset()
    reach = {own_customer}
    edges = [(a, b) for a, b, source in merges if policy(source).sees_history]
    grew = True
    while grew:
        grew = False
        for a, b in edges:
            if (a in reach) != (b in reach):
                reach |= {a, b}
                grew = True
    return frozenset(reach)
