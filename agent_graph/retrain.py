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

Urgency corrections train the tenant's urgency head the same way (:func:`retrain_urgency`): the
shared tone examples plus the corrections outside the held-back slice, promoted only if not worse than
what serves now (the tenant's previous head, or the shared one) on the held-back corrections.

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
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np
from psycopg import AsyncConnection
from psycopg_pool import AsyncConnectionPool

from agent_graph import tenant_gates
from agent_graph.classifier import IntentClassifier
from agent_graph.embedder import embed_many_async, get_embedder
from agent_graph.tenant_models import TenantModels, _signature
from agent_graph.urgency_sentiment import shared_examples, shared_tone_model, urgency_label
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
    urgency: dict[str, Any] | None = None  # the urgency head's own run (:func:`retrain_urgency`)

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


async def fit_candidate(pairs: Sequence[tuple[str, str]], *, calibrate: bool = True) -> IntentClassifier:
    """Embeds through the process batcher, fits off the event loop (a few seconds of CPU).

    Calibrated like a head trained from examples (:func:`agent_graph.calibration.fit_calibrated`): a
    promoted candidate's gates are measured on its confidences, and the per-tenant thresholds compare
    with them, so they must mean the same thing whichever path trained the serving head.
    ``calibrate=False`` is for heads read next to uncalibrated ones, e.g. an urgency head whose
    cue-word floor was tuned against the shared (T = 1.0) tone heads.
    """
    from agent_graph.calibration import fit_calibrated

    labels = [c for _, c in pairs]
    if len(set(labels)) < 2:
        raise ValueError("a classifier needs labelled examples for at least two categories")
    vectors = await embed_many_async([t for t, _ in pairs])
    if not calibrate:
        return await asyncio.to_thread(lambda: IntentClassifier().fit_embeddings(vectors, labels))
    fit = await asyncio.to_thread(fit_calibrated, vectors, labels)
    return fit.classifier


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
    """The category head, then the urgency head, each behind its own gate (one job retrains both, so
    the schedule and "retrain now" cover every label agents gave)."""
    result = await retrain_category(pool, tenant_id, config)
    urgency = await retrain_urgency(pool, tenant_id, config)
    return replace(result, urgency=urgency.as_dict())


async def retrain_category(pool: AsyncConnectionPool, tenant_id: int,
                           config: RetrainConfig | None = None) -> RetrainResult:
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


@dataclass(frozen=True)
class UrgencyRetrainResult:
    promoted: bool
    reason: str
    version: int | None  # the stored candidate; None when none was trained
    active_version: int | None  # the tenant head that serves after this run; None: the shared head
    candidate_accuracy: float | None = None
    current_accuracy: float | None = None
    train: int = 0  # corrections trained on (the shared examples come on top)
    holdout: int = 0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


async def gather_urgency(pool: AsyncConnectionPool, tenant_id: int,
                         config: RetrainConfig | None = None) -> tuple[list[tuple[str, str]], list[tuple[str, str]]]:
    """(train, holdout) urgency corrections, one per text, split by the same stable hash as categories."""
    config = config or RetrainConfig()
    async with pool.connection() as conn:
        corrections = await classifiers.urgency_feedback_examples(conn, tenant_id)
    seen: set[str] = set()
    train: list[tuple[str, str]] = []
    holdout: list[tuple[str, str]] = []
    for text, label in corrections:
        key = canonical_hash(text)
        if key in seen:
            continue
        seen.add(key)
        (holdout if in_holdout(text, seed=config.seed, fraction=config.holdout_fraction) else train).append((text, label))
    return train, holdout


async def _serving_urgency(pool: AsyncConnectionPool, tenant_id: int) -> tuple[int | None, IntentClassifier]:
    """(tenant head version or None, head): what classifies the tenant's urgency now."""
    async with pool.connection() as conn:
        stored = await classifiers.active_urgency_model(conn, tenant_id)
    if stored is not None:
        try:
            return stored.version, IntentClassifier.load(stored.model)
        except ValueError:  # trained on another embedding model: serving falls back to the shared head too
            log.warning("tenant %s: urgency head v%s does not load; comparing with the shared head",
                        tenant_id, stored.version)
    return None, await shared_tone_model().shared_head("urgency")


def urgency_accuracy(head: IntentClassifier, texts: Sequence[str], vectors: np.ndarray, labels: Sequence[str]) -> float:
    """Share of held-back corrections the head (with cue words, as served) gets right."""
    hits = sum(urgency_label(head, t, v) == y for t, v, y in zip(texts, vectors, labels, strict=True))
    return hits / len(labels)


async def retrain_urgency(pool: AsyncConnectionPool, tenant_id: int,
                          config: RetrainConfig | None = None) -> UrgencyRetrainResult:
    """Trains a tenant urgency head from its corrections and promotes it if not worse on held-back ones.

    Unlike the category head there is always something serving (the shared head), so a candidate is
    only trained once enough held-back corrections exist to judge it: until then the shared head,
    which every tenant's traffic already exercises, is the safer bet.
    """
    config = config or RetrainConfig()
    train, holdout = await gather_urgency(pool, tenant_id, config)
    if len(holdout) < config.min_holdout:
        async with pool.connection() as conn:
            serving = await classifiers.active_urgency_version(conn, tenant_id)
        return UrgencyRetrainResult(False, f"only {len(holdout)} held-back urgency corrections"
                                    f" (need {config.min_holdout})", None, serving,
                                    train=len(train), holdout=len(holdout))
    current_version, current = await _serving_urgency(pool, tenant_id)
    texts, labels = shared_examples("urgency")
    candidate = await fit_candidate(list(zip(texts, labels, strict=True)) + train)
    held_texts = [t for t, _ in holdout]
    vectors = await embed_many_async(held_texts)
    truth = [u for _, u in holdout]
    cand_acc = urgency_accuracy(candidate, held_texts, vectors, truth)
    cur_acc = urgency_accuracy(current, held_texts, vectors, truth)
    promote = cand_acc >= cur_acc - config.margin
    against = f"v{current_version}" if current_version else "the shared head"
    reason = (f"held-back urgency accuracy {cand_acc:.3f} vs {cur_acc:.3f} ({against}, margin {config.margin})"
              if promote else f"worse on held-back urgency corrections: {cand_acc:.3f} vs {cur_acc:.3f} ({against})")
    metrics: dict[str, Any] = {
        "holdout_accuracy": cand_acc, "current_accuracy": cur_acc, "compared_with": current_version,
        "corrections": len(train), "shared_examples": len(texts), "holdout": len(holdout),
        "holdout_fraction": config.holdout_fraction, "seed": config.seed, "margin": config.margin,
        "decision": "promoted" if promote else "refused", "reason": reason,
    }
    async with pool.connection() as conn, conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext('urgency_models'), %s::int)", (tenant_id,))
        if promote and await classifiers.active_urgency_version(conn, tenant_id) != current_version:
            promote, reason = False, "the serving urgency head changed while the candidate was judged"
            metrics.update(decision="refused", reason=reason)
        version = await classifiers.save_urgency_model(conn, tenant_id, embedder=candidate.model_id,
                                                       labels=candidate.labels, model=candidate.save(),
                                                       metrics=metrics, active=promote)
    log.info("tenant %s: urgency head v%s %s (%s)", tenant_id, version, metrics["decision"], reason)
    return UrgencyRetrainResult(promote, reason, version, version if promote else current_version, cand_acc, cur_acc,
                                len(train), len(holdout))
