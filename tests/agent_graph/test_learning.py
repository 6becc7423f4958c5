"""The learning loop: retraining from agents' corrections behind a promotion gate, and gap clustering.

Fixed data (six BANKING77 intents, a handful of hand-written near-duplicates) and the real offline
model, so the numbers are the ones a tenant would see; bounded well under a minute.
"""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from psycopg_pool import AsyncConnectionPool
from sklearn.metrics import adjusted_rand_score

from agent_graph import retrain as rt
from agent_graph.classifier import IntentClassifier
from agent_graph.embedder import embed
from agent_graph.gaps import cluster
from agent_graph.tenant_models import TenantModels
from gateway.agent_jobs import job_handlers
from gateway.cli import _parser
from store import classifiers, tenants, triage
from store.jobs import Job
from store.models import Classification
from store.tenants import Tenant
from tests.agent_graph.banking import BANKING77, utterances_by_intent
from tests.agent_graph.conftest import say

# Six card intents that a two-example head confuses: there is room for the corrections to help.
INTENTS = ["card_arrival", "card_delivery_estimate", "card_linking", "activate_my_card", "card_not_working",
           "lost_or_stolen_card"]
SEED_SHOTS = 2  # what the admin taught
FEEDBACK = 12  # corrections per intent from agents


def _banking() -> dict[str, list[str]]:
    by_intent = utterances_by_intent(INTENTS, BANKING77)
    rng = np.random.default_rng(7)
    return {i: [by_intent[i][j] for j in rng.permutation(len(by_intent[i]))] for i in INTENTS}


async def _seeded_tenant_with_corrections(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    """Admin examples → serving v1; then agents correct every message the generic model filed as 'account'."""
    data = _banking()
    async with pool.connection() as conn:
        await tenants.update_settings(conn, tenant.id, {"categories": INTENTS})
        await classifiers.add_examples(conn, tenant.id, [(t, i) for i in INTENTS for t in data[i][:SEED_SHOTS]])
    v1 = await TenantModels(pool).get(tenant.id, tuple(INTENTS))
    assert v1.version == 1
    n = 0
    for intent in INTENTS:
        for text in data[intent][SEED_SHOTS:SEED_SHOTS + FEEDBACK]:
            n += 1
            got = await say(pool, tenant, text, who=f"customer{n}@example.com")
            async with pool.connection() as conn, conn.transaction():
                await triage.record_classification(
                    conn, tenant.id, got.conversation_id, got.message_id,
                    Classification("account", 0.4, "normal", 0.5, "neutral", 0.5), backend="test", model_version=1)
                await triage.override(conn, tenant.id, got.message_id, field="category", new_value=intent,
                                      agent_id=None)


async def _active(pool: AsyncConnectionPool, tenant_id: int) -> int | None:
    async with pool.connection() as conn:
        stored = await classifiers.latest_model(conn, tenant_id)
    return stored.version if stored else None


async def test_corrections_raise_held_back_accuracy_then_worse_candidate_is_refused_and_rollback_restores(
    pool: AsyncConnectionPool, tenant: Tenant,
) -> None:
    await _seeded_tenant_with_corrections(pool, tenant)
    config = rt.RetrainConfig(min_holdout=10)
    labels = await rt.gather(pool, tenant.id, INTENTS, config)
    held = {t for t, _ in labels.holdout}
    assert len(held) >= 10 and not held & {t for t, _ in labels.train}  # never trains on the judge
    assert labels.sources["override"] + len(held) == len(INTENTS) * FEEDBACK

    # Before: the serving head (admin examples only) on the tenant's held-back labels.
    vectors = embed([t for t, _ in labels.holdout])
    truth = [c for _, c in labels.holdout]
    async with pool.connection() as conn:
        v1 = await classifiers.latest_model(conn, tenant.id)
    assert v1 is not None
    before = rt.accuracy(IntentClassifier.load(v1.model), vectors, truth)

    result = await rt.retrain(pool, tenant.id, config)
    after = rt.accuracy(IntentClassifier.load((await _stored(pool, tenant.id, 2)).model), vectors, truth)
    print(f"held-back accuracy before {before:.3f} after {after:.3f} (n={len(truth)})")
    assert result.promoted and result.version == 2 and result.active_version == 2
    assert result.current_accuracy == pytest.approx(before) and result.candidate_accuracy == pytest.approx(after)
    assert after >= before + 0.1
    # The gateway's model cache serves the promoted head (its examples did not change, so no auto-retrain).
    assert (await TenantModels(pool).get(tenant.id, tuple(INTENTS))).version == 2

    # A candidate trained on shuffled labels scores worse than v2 and is refused, kept for the record.
    rng = np.random.default_rng(0)
    shuffled = [c for _, c in labels.train]
    rng.shuffle(shuffled)
    bad = await rt.fit_candidate([(t, c) for (t, _), c in zip(labels.train, shuffled, strict=True)])
    refused = await rt.promote_if_not_worse(pool, tenant.id, bad, labels, config)
    assert not refused.promoted and refused.version == 3 and refused.active_version == 2
    assert refused.candidate_accuracy is not None and refused.current_accuracy is not None
    assert refused.candidate_accuracy < refused.current_accuracy
    assert await _active(pool, tenant.id) == 2

    async with pool.connection() as conn:
        listed = await classifiers.versions(conn, tenant.id)
    assert [(v.version, v.active, v.source, v.metrics.get("decision")) for v in listed] == [
        (3, False, "retrain", "refused"), (2, True, "retrain", "promoted"), (1, False, "auto", None)]
    assert listed[0].promoted_at is None and listed[1].promoted_at is not None

    # Rollback goes to the last version that served (v1), skipping the refused v3; the cache follows.
    assert await rt.rollback(pool, tenant.id) == 1
    assert await _active(pool, tenant.id) == 1
    assert (await TenantModels(pool).get(tenant.id, tuple(INTENTS))).version == 1
    with pytest.raises(LookupError):
        await rt.rollback(pool, tenant.id)


async def _stored(pool: AsyncConnectionPool, tenant_id: int, version: int) -> classifiers.StoredModel:
    async with pool.connection() as conn:
        stored = await classifiers.model_version(conn, tenant_id, version)
    assert stored is not None
    return stored


async def test_retrain_waits_for_enough_held_back_labels(pool: AsyncConnectionPool, tenant: Tenant) -> None:
    data = _banking()
    async with pool.connection() as conn:
        await tenants.update_settings(conn, tenant.id, {"categories": INTENTS[:2]})
        await classifiers.add_examples(conn, tenant.id, [(t, i) for i in INTENTS[:2] for t in data[i][:3]])
    await TenantModels(pool).get(tenant.id, tuple(INTENTS[:2]))
    result = await rt.retrain(pool, tenant.id)
    assert not result.promoted and result.version is None and result.active_version == 1
    # The worker's job kind runs the same gate (the handler only needs the runner's pool).
    handlers = job_handlers(SimpleNamespace(pool=pool))  # type: ignore[arg-type]
    await handlers[rt.RETRAIN](Job(1, tenant.id, rt.RETRAIN, None, {}, 0))
    assert await _active(pool, tenant.id) == 1


def test_cli_has_a_retrain_command() -> None:
    args = _parser().parse_args(["retrain", "--tenant", "acme", "--margin", "0.02"])
    assert (args.command, args.tenant, args.margin, args.rollback) == ("retrain", "acme", 0.02, False)


def test_holdout_membership_is_stable_and_seeded() -> None:
    texts = [f"message number {i}" for i in range(2000)]
    share = np.mean([rt.in_holdout(t, seed=12, fraction=0.3) for t in texts])
    assert 0.25 < share < 0.35
    assert rt.in_holdout("Where is my CARD?", seed=1, fraction=0.5) == rt.in_holdout("where is  my card?", seed=1,
                                                                                       fraction=0.5)
    assert [rt.in_holdout(t, seed=1, fraction=0.3) for t in texts] != [rt.in_holdout(t, seed=2, fraction=0.3)
                                                                      for t in texts]


NEAR_DUPLICATES = {
    "card_arrival": ["My new card still hasn't arrived", "my card has not arrived yet", "The card I ordered never arrived",
                     "still waiting for my card to arrive"],
    "exchange_rate": ["What exchange rate do you use?", "which exchange rate will I get", "how is the exchange rate set",
                      "what's your currency exchange rate"],
    "pin_blocked": ["My PIN is blocked", "I blocked my pin after three tries", "pin got blocked, how to unblock",
                    "how do I unblock my PIN"],
    "top_up_failed": ["My top up failed", "the top-up did not go through", "why did my top up fail",
                      "top up was declined and failed"],
}


def test_gap_clustering_groups_near_duplicates_without_being_told_how_many() -> None:
    texts = [t for group in NEAR_DUPLICATES.values() for t in group]
    truth = [label for label, group in NEAR_DUPLICATES.items() for _ in group]
    result = cluster(embed(texts))
    ari = adjusted_rand_score(truth, result.labels)
    print(f"gap clustering ARI {ari:.3f}, {result.n_clusters} clusters for {len(NEAR_DUPLICATES)} intents")
    assert ari >= 0.8
    assert sum(c.size for c in result.clusters) == len(texts)
    for c in result.clusters:
        assert set(c.representatives) <= set(c.members)


def test_clusters_are_ordered_by_size_with_central_representatives() -> None:
    rng = np.random.default_rng(0)
    centres = np.eye(8, dtype=np.float32)[:3]
    sizes = [2, 5, 3]
    rows = [centres[k] + 0.05 * rng.standard_normal(8) for k, n in enumerate(sizes) for _ in range(n)]
    x = np.array(rows, dtype=np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    result = cluster(x, n_representatives=2)
    assert [c.size for c in result.clusters] == [5, 3, 2]
    assert result.clusters[0].members == [2, 3, 4, 5, 6]
    best = max(result.clusters[0].members, key=lambda i: float(x[i] @ x[2:7].mean(axis=0)))
    assert result.clusters[0].representatives[0] == best
    assert cluster(np.zeros((0, 8))).n_clusters == 0 and cluster(x[:1]).n_clusters == 1
