"""Agents' urgency corrections retrain the tenant's own urgency head, behind the same gate as categories.

Fixed data: a payroll provider's agents mark every calmly worded "pay did not go out" message high
and every cosmetic remark low; the shared head (tone_examples.jsonl) calls many of the first medium.
Corrections go the real way (ingest, the message's classification, ``triage.override``), retraining
through ``retrain.retrain`` (what the retrain job runs) with the real offline model.
"""

from __future__ import annotations

from psycopg_pool import AsyncConnectionPool

from agent_graph import retrain as rt
from agent_graph.classifier import IntentClassifier
from agent_graph.embedder import embed_many_async
from agent_graph.runner import AgentRunner
from agent_graph.urgency_sentiment import TenantUrgencyHeads, shared_tone_model
from store import classifiers, triage
from store.models import Classification
from store.tenants import Tenant
from tests.agent_graph.conftest import runner, say  # noqa: F401

PAY = [f"{s} {p}." for s in ("The payroll run", "Our salary batch", "This month's payslips", "The wage transfer",
                             "Employee pay")
       for p in ("did not go out to staff", "is stuck in pending", "failed for the whole team",
                 "was not sent to the bank", "shows zero for everyone", "has not reached employees")]
COSMETIC = [f"{s} {p}." for s in ("The dashboard font", "The report header colour", "The logo on payslips",
                                  "The sidebar icons", "The export button label")
            for p in ("looks a bit off to me", "could be a little nicer", "seems slightly misaligned",
                      "might read better in bold", "would be nicer in blue", "feels a bit small")]
CORRECTIONS = [(t, "high") for t in PAY] + [(t, "low") for t in COSMETIC]
UNSEEN_PAY = "Staff wages from the latest pay cycle never arrived."


async def _correct(pool: AsyncConnectionPool, tenant: Tenant, pairs: list[tuple[str, str]], first: int = 0) -> None:
    """Each message classified (the shared head's typical "medium"), then its urgency corrected by an agent."""
    for n, (text, urgency) in enumerate(pairs, start=first):
        got = await say(pool, tenant, text, who=f"customer{n}@example.com")
        async with pool.connection() as conn, conn.transaction():
            await triage.record_classification(conn, tenant.id, got.conversation_id, got.message_id,
                                               Classification("billing", 0.8, "medium", 0.5, "neutral", 0.5),
                                               backend="test", model_version=None)
            await triage.override(conn, tenant.id, got.message_id, field="urgency", new_value=urgency, agent_id=None)


async def _urgency_of(text: str, head: IntentClassifier | None) -> str:
    vector = (await embed_many_async([text]))[0]
    return (await shared_tone_model().predict(text, vector, urgency_head=head)).urgency


async def test_urgency_corrections_train_a_tenant_head_that_serves_and_a_worse_one_is_refused(
    pool: AsyncConnectionPool, tenant: Tenant, other_tenant: Tenant, runner: AgentRunner,  # noqa: F811
) -> None:
    config = rt.RetrainConfig()
    heads = TenantUrgencyHeads(pool)
    # A few corrections cannot judge a candidate: nothing is trained, the shared head keeps serving.
    await _correct(pool, tenant, CORRECTIONS[:6])
    early = await rt.retrain_urgency(pool, tenant.id, config)
    assert (early.promoted, early.version, early.active_version) == (False, None, None)
    assert await heads.get(tenant.id) is None

    await _correct(pool, tenant, CORRECTIONS[6:], first=6)
    train, holdout = await rt.gather_urgency(pool, tenant.id, config)
    assert len(train) + len(holdout) == len(CORRECTIONS) and len(holdout) >= config.min_holdout
    assert not {t for t, _ in train} & {t for t, _ in holdout}
    # Before: the shared head on the held-back corrections, measured here independently of the gate.
    shared = await shared_tone_model().shared_head("urgency")
    vectors = await embed_many_async([t for t, _ in holdout])
    before = rt.urgency_accuracy(shared, [t for t, _ in holdout], vectors, [u for _, u in holdout])
    assert before < 0.8  # the shared head really does misjudge this tenant

    result = (await rt.retrain(pool, tenant.id, config)).urgency  # the retrain job's own entry point
    assert result is not None and result["promoted"] and result["version"] == 1 == result["active_version"]
    assert result["current_accuracy"] == before and result["candidate_accuracy"] > before + 0.15
    assert (result["train"], result["holdout"]) == (len(train), len(holdout))

    # Classifying this tenant's messages now uses its head; other tenants keep the shared one.
    head = await heads.get(tenant.id)
    assert head is not None and await heads.get(other_tenant.id) is None
    assert await _urgency_of(UNSEEN_PAY, None) != "high"  # the shared head's reading ...
    assert await _urgency_of(UNSEEN_PAY, head) == "high"  # ... and what this tenant's agents taught
    # ... and the agent graph itself (the classify node through the offline backend) reads it so.
    got = await say(pool, tenant, UNSEEN_PAY, who="new.customer@example.com")
    await runner.run(tenant.id, got.conversation_id, got.message_id)
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT urgency FROM message_classifications WHERE tenant_id = %s AND message_id = %s",
                                 (tenant.id, got.message_id))
        assert [r["urgency"] for r in await cur.fetchall()] == ["high"]

    # Someone re-files every trainable correction the wrong way round: the candidate loses on the
    # (unchanged) held-back corrections against v1 and is kept inactive; v1 keeps serving.
    flipped = {"high": "low", "low": "high"}
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT mc.message_id, msg.text FROM message_classifications mc JOIN messages msg"
                                 " ON msg.tenant_id = mc.tenant_id AND msg.id = mc.message_id WHERE mc.tenant_id = %s",
                                 (tenant.id,))
        by_text = {r["text"]: r["message_id"] for r in await cur.fetchall()}
        for text, urgency in train:
            await triage.override(conn, tenant.id, by_text[text], field="urgency", new_value=flipped[urgency],
                                  agent_id=None)
    refused = await rt.retrain_urgency(pool, tenant.id, config)
    assert not refused.promoted and refused.version == 2 and refused.active_version == 1
    assert refused.candidate_accuracy is not None and refused.current_accuracy is not None
    assert refused.candidate_accuracy < refused.current_accuracy
    async with pool.connection() as conn:
        stored = await classifiers.urgency_versions(conn, tenant.id)
    assert [(v.version, v.active, v.metrics["decision"]) for v in stored] == [(2, False, "refused"), (1, True, "promoted")]
    assert await _urgency_of(UNSEEN_PAY, await heads.get(tenant.id)) == "high"
