"""Recompute a tenant's auto-resolve gates whenever its serving classifier changes.

Gates describe one model's confidences (:mod:`agent_graph.gates`), so a promotion or a rollback
makes the old ones meaningless. They are measured on the tenant's held-back feedback labels (the
same slice :mod:`agent_graph.retrain` judges candidates on, never trained on), stored per model
version with their evidence for admins, and their thresholds become the ``auto_gates`` setting the
decide node reads, together with the version they were measured for (``auto_gates_model_version``):
a head trained later from changed admin examples has no gates yet, and gets drafts until the next
retrain measures it. The precision target is the tenant setting ``auto_gate_precision`` (default 0.98).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg_pool import AsyncConnectionPool

from agent_graph.classifier import IntentClassifier
from agent_graph.embedder import embed_many_async
from agent_graph.gates import DEFAULT_MIN_SUPPORT, DEFAULT_TARGET, Gate, choose_gates, gates_setting
from store import category_gates, tenants


@dataclass(frozen=True)
class GateReport:
    model_version: int
    target: float
    dev_n: int
    gates: dict[str, Gate]


async def recompute(pool: AsyncConnectionPool, tenant_id: int, classifier: IntentClassifier, model_version: int,
                    holdout: Sequence[tuple[str, str]]) -> GateReport:
    """Measures ``classifier`` on ``holdout`` per category, stores the evidence, updates ``auto_gates``."""
    async with pool.connection() as conn:
        tenant = await tenants.get(conn, tenant_id)
    if tenant is None:
        raise LookupError(f"no tenant {tenant_id}")
    target = float(tenant.setting("auto_gate_precision") or DEFAULT_TARGET)
    if not 0.5 <= target <= 1.0:
        raise ValueError(f"auto_gate_precision must be between 0.5 and 1, not {target}")
    truth = [c for _, c in holdout]
    predicted: list[str | None] = []
    confidence: list[float] = []
    if holdout:
        for p in classifier.predict_embeddings(await embed_many_async([t for t, _ in holdout])):
            predicted.append(None if p.out_of_scope else p.label)  # out of scope never reaches the automatic path
            confidence.append(float(p.confidence))
    gates = choose_gates(truth, predicted, confidence, target=target, min_support=DEFAULT_MIN_SUPPORT,
                         categories=tuple(tenant.setting("categories")),
                         disabled=tuple(tenant.setting("human_only_categories") or ()))
    async with pool.connection() as conn, conn.transaction():
        await category_gates.replace(conn, tenant_id, model_version, [g.as_dict() for g in gates.values()],
                                     dev_n=len(holdout), target=target)
        await tenants.update_settings(conn, tenant_id, {"auto_gates": gates_setting(gates),
                                                        "auto_gates_model_version": model_version})
    return GateReport(model_version, target, len(holdout), gates)

