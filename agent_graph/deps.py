"""What every node needs, handed in once when the graph is built (no globals, no upward imports)."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from psycopg_pool import AsyncConnectionPool

from agent_graph.backends import ModelBackend
from agent_graph.embedder import embed_many_async
from agent_graph.ports import ReplySink, Router
from agent_graph.tenant_models import TenantModels
from agent_graph.urgency_sentiment import TenantUrgencyHeads
from store import tenants
from store.tenants import Tenant

DEFAULT_POLICY: dict[str, Any] = {
    "auto_resolve": 0.80,
    "suggest": 0.45,
    "retrieval_min": 0.35,
    "clarify_margin": 0.12,  # top-2 category gap under which a short message counts as ambiguous
    "max_clarify_turns": 3,
    "frustrated_min": 0.75,  # sentiment confidence from which a frustrated customer goes to a human
    "cosine_floor": 0.2,  # retrieval cosine mapped to confidence 0 ...
    "cosine_ceiling": 0.55,  # ... and to confidence 1
}


# Tenants read during one agent run: every node asks for the tenant's settings, one read serves them.
# A context variable, because LangGraph runs nodes in tasks that inherit the run's context.
_RUN_TENANTS: ContextVar[dict[int, Tenant] | None] = ContextVar("run_tenants", default=None)


@contextmanager
def one_run() -> Iterator[None]:
    """Settings are read once per run: a change made mid-run applies from the next message on."""
    token = _RUN_TENANTS.set({})
    try:
        yield
    finally:
        _RUN_TENANTS.reset(token)


@dataclass
class GraphDeps:
    pool: AsyncConnectionPool
    sink: ReplySink
    router: Router
    backend: ModelBackend
    models: TenantModels
    _vectors: OrderedDict[str, np.ndarray] = field(default_factory=OrderedDict)
    urgency_heads: TenantUrgencyHeads = field(init=False)

    def __post_init__(self) -> None:
        self.urgency_heads = TenantUrgencyHeads(self.pool)

    async def tenant(self, tenant_id: int) -> Tenant:
        memo = _RUN_TENANTS.get()
        if memo is not None and tenant_id in memo:
            return memo[tenant_id]
        async with self.pool.connection() as conn:
            tenant = await tenants.get(conn, tenant_id)
        if tenant is None:
            raise LookupError(f"tenant {tenant_id} not found")
        if memo is not None:
            memo[tenant_id] = tenant
        return tenant

    async def vector(self, text: str) -> np.ndarray:
        """The offline embedding of ``text``; classify and retrieve share one model call."""
        cached = self._vectors.get(text)
        if cached is None:
            cached = (await embed_many_async([text]))[0]
            self._vectors[text] = cached
            while len(self._vectors) > 256:
                self._vectors.popitem(last=False)
        return cached


def policy(tenant: Tenant) -> dict[str, Any]:
    """Per-tenant thresholds over the defaults (the tenant setting may name only some)."""
    return {**DEFAULT_POLICY, **(tenant.setting("thresholds") or {})}
