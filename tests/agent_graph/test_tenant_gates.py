"""Per-tenant gates are recomputed from the tenant's held-back labels whenever the serving model changes."""

from __future__ import annotations

from typing import Any

from psycopg_pool import AsyncConnectionPool

from agent_graph import retrain as rt
from agent_graph.deps import DEFAULT_POLICY
from agent_graph.nodes.decide import Decision, judge
from store import category_gates, tenants
from store.tenants import Tenant
from tests.agent_graph.test_decision_quality import _state
from tests.agent_graph.test_learning import INTENTS, _seeded_tenant_with_corrections
from tests.copilot.console_client import PASSWORD, ConsoleClient, make_agent
from tests.servers.gateway import RunningGateway


async def test_gates_are_recomputed_with_evidence_on_promotion_and_on_rollback(
    pool: AsyncConnectionPool, tenant: Tenant, gateway: RunningGateway,
) -> None:
    await _seeded_tenant_with_corrections(pool, tenant)
    async with pool.connection() as conn:
        await tenants.update_settings(conn, tenant.id, {"auto_gate_precision": 0.9})
    config = rt.RetrainConfig(min_holdout=10)
    result = await rt.retrain(pool, tenant.id, config)
    assert result.promoted and result.version == 2

    async with pool.connection() as conn:
        v2 = await category_gates.for_version(conn, tenant.id, 2)
        t = await tenants.get(conn, tenant.id)
    assert t is not None
    assert sorted(g["category"] for g in v2) == sorted(INTENTS)
    assert all(g["dev_n"] == result.holdout and abs(g["target"] - 0.9) < 1e-6 and g["reason"] for g in v2)
    assert sum(g["predicted"] for g in v2) <= result.holdout
    # The decide node's setting is exactly the stored thresholds (None = drafts only).
    assert t.setting("auto_gates") == {g["category"]: g["threshold"] for g in v2}
    assert t.setting("auto_gates_model_version") == 2

    # Admins see the serving version's gates with their evidence; agents do not.
    await make_agent(pool, tenant, f"admin@{tenant.slug}.test", role="admin")
    await make_agent(pool, tenant, f"agent@{tenant.slug}.test")
    admin, agent = ConsoleClient(gateway.url), ConsoleClient(gateway.url)
    try:
        assert await admin.login(f"admin@{tenant.slug}.test", PASSWORD) == 303
        shown = await admin.get("/console/api/admin/gates")
        assert shown["model_version"] == 2 and abs(shown["target"] - 0.9) < 1e-6 and shown["dev_n"] == result.holdout
        assert [g["category"] for g in shown["gates"]] == sorted(INTENTS)
        assert {"threshold", "precision", "support", "predicted", "reason"} <= set(shown["gates"][0])
        assert await agent.login(f"agent@{tenant.slug}.test", PASSWORD) == 303
        await agent.get("/console/api/admin/gates", expect=403)
    finally:
        await admin.close()
        await agent.close()

    # The model changes back: gates for v1 are measured and become the setting.
    async with pool.connection() as conn:
        await tenants.update_settings(conn, tenant.id, {"auto_gates": {"stale": 0.1}})
    assert await rt.rollback(pool, tenant.id) == 1
    async with pool.connection() as conn:
        v1 = await category_gates.for_version(conn, tenant.id, 1)
        t = await tenants.get(conn, tenant.id)
    assert t is not None and sorted(g["category"] for g in v1) == sorted(INTENTS)
    assert t.setting("auto_gates") == {g["category"]: g["threshold"] for g in v1}


def test_gates_measured_for_another_model_version_give_drafts_not_answers() -> None:
    p: dict[str, Any] = dict(DEFAULT_POLICY)
    state = _state("shipping", 0.95)
    state["classify_meta"]["model_version"] = 3
    gates = {"shipping": 0.9}
    assert judge(state, p, {}, set(), gates, gates_model_version=3).decision is Decision.ANSWER
    stale = judge(state, p, {}, set(), gates, gates_model_version=2)
    assert stale.decision is Decision.SUGGEST and "v2" in stale.reason
