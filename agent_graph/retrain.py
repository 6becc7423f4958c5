"""Retraining a tenant's category classifier from its agents' feedback, behind a promotion gate.

Agents correct categories and resolve conversations all day; each of those is a label written by
someone who knows the tenant's intents, on the tenant's real traffic. This module turns them into
training data, trains a candidate head, and lets it serve only if it is not worse than the head that
serves now, judged on labels neither model was trained on. Every candidate is stored (refused ones
inactive) so the console can list versions with their accuracy and an admin can roll back.

Why the held-back slice is drawn from feedback labels only: the serving head built by
:class:`agent_graph.tenant_models.TenantModels` trains on every admin example, so scoring it on
admin examples would grade it on its own homework and bias the gate towards never promoting. Feedback
labels are never in its training set, and they are also the closest thing to production traffic.

Why the slice is chosen by hashing each text with a fixed seed instead of a random split: membership
must not change as labels accumulate. A re-drawn split would move yesterday's held-back texts into
today's training set, and a later candidate would be graded on labels an earlier promoted model
(the one it is compared with) had trained on.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from agent_graph import tenant_gates
from agent_graph.classifier import IntentClassifier
from agent_graph.embedder import embed_many_async, get_embedder
from agent_graph.tenant_models import TenantModels, _signature
from store import classifiers, jobs, tenants

log = logging.getLogger(__name__)

RETRAIN = "retrain"  # job kind: retrain one tenant's category classifier from feedback
# Tenant setting ``retrain_schedule``: retrain every ``every_days`` (0 = on demand only), but only once
# ``min_new_labels`` feedback labels arrived since the last retrain (fewer would mostly re-learn old data).
SCHEDULE_DEFAULTS: dict[str, int] = {"every_days": 7, "min_new_labels": 20}


def schedule_setting(settings: dict[str, Any]) -> dict[str, int]:
    given = settings.get("retrain_schedule")
    return {**SCHEDULE_DEFAULTS, **(given if isinstance(given, dict) else {})}


@dataclass(frozen=True)
class RetrainConfig:
    """Gate settings; defaults are conservative (a tie keeps learning, any loss refuses)."""

    holdout_fraction: float = 0.3
    seed: int = 12
    # The candidate is promoted if its held-back accuracy >= current's - margin. 0.0 = "not worse".
    margin: float = 0.0
    # Fewer held-back labels than this cannot tell two heads apart; replacing a serving head on noise
    # is worse than waiting for more feedback.
    min_holdout: int = 10


@dataclass(frozen=True)
class LabelSet:
    train: list[tuple[str, str]]
    holdout: list[tuple[str, str]]
    sources: dict[str, int]  # labels per origin: admin, default, override, resolved, held_back
    examples_hash: str  # TenantModels' signature of the admin+default set, see :func:`promote_if_not_worse`


@dataclass(frozen=True)
class RetrainResult:
    promoted: bool
    reason: str
    version: int | None  # the stored candidate; None when none was trained
    active_version: int | None  # what serves after this run
    candidate_accuracy: float | None = None
    current_accuracy: float | None = None
    current_version: int | None = None
    train: int = 0
    holdout: int = 0
    sources: dict[str, int] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def canonical_hash(text: str) -> str:
    """Case and spacing do not make a different customer message (same rule as bench.intent_data)."""
    return hashlib.sha256(" ".join(text.lower().split()).encode("utf-8")).hexdigest()


def in_holdout(text: str, *, seed: int, fraction: float) -> bool:
    """Stable membership of one text in the held-back slice (see the module docstring for why)."""
    digest = hashlib.sha256(f"{seed}\0{canonical_hash(text)}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64 < fraction


async def gather(pool: AsyncConnectionPool, tenant_id: int, categories: Sequence[str],
                 config: RetrainConfig | None = None) -> LabelSet:
    """The tenant's labelled examples, split into what a candidate may train on and what judges it."""
    config = config or RetrainConfig()
    wanted = set(categories)
    base = await TenantModels(pool).training_set(tenant_id, tuple(categories))
    async with pool.connection() as conn:
        own = await classifiers.examples(conn, tenant_id)
        feedback = await classifiers.feedback_examples(conn, tenant_id)
    # One label per text: a correction beats a resolved conversation's category (listed first).
    seen: set[str] = set()
    labelled: list[tuple[str, str, str]] = []
    for e in feedback:
        key = canonical_hash(e.text)
        if e.category in wanted and key not in seen:
            seen.add(key)
            labelled.append((e.text, e.category, e.source))
    holdout = [(t, c) for t, c, _ in labelled if in_holdout(t, seed=config.seed, fraction=config.holdout_fraction)]
    held = {canonical_hash(t) for t, _ in holdout}
    # The leakage guard also applies to admin examples that repeat a held-back message.
    train = [(t, c) for t, c in base if canonical_hash(t) not in held]
    own_texts = {(e.text, e.category) for e in own}
    sources = Counter("admin" if pair in own_texts else "default" for pair in train)
    train += [(t, c) for t, c, _ in labelled if canonical_hash(t) not in held]
    sources.update(src for t, _, src in labelled if canonical_hash(t) not in held)
    sources["held_back"] = len(holdout)
    return LabelSet(train, holdout, dict(sources), _signature(base, get_embedder().model_id))


def accuracy(clf: IntentClassifier, vectors: np.ndarray, labels: Sequence[str]) -> float:
    preds = clf.predict_embeddings(vectors)
    return sum(p.label == y for p, y in zip(preds, labels, strict=True)) / len(labels)


async def fit_candidate(pairs: Sequence[tuple[str, str]]) -> IntentClassifier:
    """Embeds through the process batcher, fits off the event loop (a second or two of CPU)."""
    labels = [c for _, c in pairs]
    if len(set(labels)) < 2:
        raise ValueError("a classifier needs labelled examples for at least two categories")
    vectors = await embed_many_async([t for t, _ in pairs])
    return await asyncio.to_thread(lambda: IntentClassifier().fit_embeddings(vectors, labels))


async def _current(conn: AsyncConnection[Any], tenant_id: int) -> tuple[int, IntentClassifier] | None:
    stored = await classifiers.latest_model(conn, tenant_id)
    if stored is None:
        return None
    try:
        return stored.version, IntentClassifier.load(stored.model)
    except ValueError:  # trained on another embedding model: it cannot serve, so it cannot block either
        log.warning("tenant %s: active classifier v%s does not load; judging the candidate alone",
                    tenant_id, stored.version)
        return None


async def promote_if_not_worse(pool: AsyncConnectionPool, tenant_id: int, candidate: IntentClassifier,
                               labels: LabelSet, config: RetrainConfig | None = None) -> RetrainResult:
    """Scores candidate and serving head on the held-back slice, stores the candidate, promotes or refuses.

    The stored ``examples_hash`` is TenantModels' signature of the admin+default examples, so the
    gateway keeps serving the promoted head until an admin changes examples or categories (which
    retrains from examples, as before).
    """
    config = config or RetrainConfig()
    async with pool.connection() as conn:
        current = await _current(conn, tenant_id)
    texts = [t for t, _ in labels.holdout]
    truth = [c for _, c in labels.holdout]
    vectors = await embed_many_async(texts) if texts else np.zeros((0, 0), dtype=np.float32)
    cand_acc = accuracy(candidate, vectors, truth) if texts else None
    cur_acc = accuracy(current[1], vectors, truth) if texts and current else None
    if current is None:
        promote, reason = True, "no serving model to compare with"
    elif cand_acc is None or cur_acc is None:
        promote, reason = False, "no held-back labels to judge the candidate on"
    elif cand_acc >= cur_acc - config.margin:
        promote, reason = True, f"held-back accuracy {cand_acc:.3f} vs {cur_acc:.3f} (margin {config.margin})"
    else:
        promote, reason = False, f"worse on held-back labels: {cand_acc:.3f} vs {cur_acc:.3f} (margin {config.margin})"
    current_version = current[0] if current else None
    metrics: dict[str, Any] = {
        "holdout_accuracy": cand_acc, "current_accuracy": cur_acc, "compared_with": current_version,
        "examples": len(labels.train), "holdout": len(labels.holdout), "sources": labels.sources,
        "holdout_fraction": config.holdout_fraction, "seed": config.seed, "margin": config.margin,
        "decision": "promoted" if promote else "refused", "reason": reason,
    }
    async with pool.connection() as conn, conn.transaction():
        # Serialises with other writers; a head promoted while we were scoring invalidates our comparison.
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('classifier_models'), %s::int)", (tenant_id,))
        now_active = await classifiers.latest_model(conn, tenant_id)
        if promote and (now_active.version if now_active else None) != current_version:
            promote, reason = False, "the serving model changed while the candidate was judged"
            metrics.update(decision="refused", reason=reason)
        version = await classifiers.save_model(
            conn, tenant_id, embedder=candidate.model_id, labels=candidate.labels, model=candidate.save(),
            examples_hash=labels.examples_hash, metrics=metrics, active=promote, source="retrain")
    log.info("tenant %s: classifier v%s %s (%s)", tenant_id, version, metrics["decision"], reason)
    if promote:  # a new serving model: its gates are measured on the same held-back labels
        await tenant_gates.recompute(pool, tenant_id, candidate, version, labels.holdout)
    return RetrainResult(promote, reason, version, version if promote else current_version, cand_acc, cur_acc,
                         current_version, len(labels.train), len(labels.holdout), labels.sources)


async def retrain(pool: AsyncConnectionPool, tenant_id: int, config: RetrainConfig | None = None) -> RetrainResult:
    """Gather → train a candidate → gate. Safe to run on a schedule: a candidate that does not help is kept
    inactive and the serving head is untouched."""
    config = config or RetrainConfig()
    async with pool.connection() as conn:
        tenant = await tenants.get(conn, tenant_id)
        current = await classifiers.latest_model(conn, tenant_id)
    if tenant is None:
        raise LookupError(f"no tenant {tenant_id}")
    labels = await gather(pool, tenant_id, tuple(tenant.setting("categories")), config)
    active = current.version if current else None
    if current is not None and len(labels.holdout) < config.min_holdout:
        return RetrainResult(False, f"only {len(labels.holdout)} held-back labels (need {config.min_holdout})",
                             None, active, current_version=active, train=len(labels.train),
                             holdout=len(labels.holdout), sources=labels.sources)
    candidate = await fit_candidate(labels.train)
    return await promote_if_not_worse(pool, tenant_id, candidate, labels, config)


async def rollback(pool: AsyncConnectionPool, tenant_id: int) -> int:
    """Re-activates the newest version older than the serving one that ever served; returns it.

    Nothing is deleted, so a rollback can itself be undone with :func:`classifiers.activate`.
    """
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('classifier_models'), %s::int)", (tenant_id,))
        current = await classifiers.latest_model(conn, tenant_id)
        if current is None:
            raise LookupError(f"tenant {tenant_id} has no classifier to roll back")
        previous = await classifiers.previous_promoted(conn, tenant_id, current.version)
        if previous is None:
            raise LookupError(f"tenant {tenant_id}: v{current.version} is the first version that served")
        await classifiers.activate(conn, tenant_id, previous)
    log.info("tenant %s: classifier rolled back v%s → v%s", tenant_id, current.version, previous)
    await recompute_gates(pool, tenant_id)
    return previous


async def recompute_gates(pool: AsyncConnectionPool, tenant_id: int, config: RetrainConfig | None = None) -> int | None:
    """Gates for whatever serves now (after a rollback); returns its version, None without a model."""
    async with pool.connection() as conn:
        tenant = await tenants.get(conn, tenant_id)
        current = await _current(conn, tenant_id)
    if tenant is None or current is None:
        return None
    labels = await gather(pool, tenant_id, tuple(tenant.setting("categories")), config)
    await tenant_gates.recompute(pool, tenant_id, current[1], current[0], labels.holdout)
    return current[0]


async def enqueue_retrain(conn: AsyncConnection[Any], tenant_id: int) -> int | None:
    """Queues a retrain (on demand or from a schedule); one pending per tenant however often asked."""
    return await jobs.enqueue(conn, tenant_id, RETRAIN, dedupe_key=f"{RETRAIN}:{tenant_id}")
