"""Model calls are timed through the observer the gateway passes to the brain."""

from __future__ import annotations

from agent_graph.embedder import add_model_observer, embed_async
from gateway import metrics


async def test_embedding_batches_are_observed_as_model_latency() -> None:
    add_model_observer(metrics.record_model_call)
    name = "switchboard_model_latency_seconds_count"
    before = metrics.REGISTRY.get_sample_value(name, {"task": "embed"}) or 0.0
    await embed_async("How do I reset my password?")
    after = metrics.REGISTRY.get_sample_value(name, {"task": "embed"}) or 0.0
    assert after >= before + 1
