"""classify: category, urgency, sentiment, complexity, skills and language, each with a confidence."""

from __future__ import annotations

from typing import Any

from agent_graph.backends import DEFAULT_CATEGORY_SKILLS, ClassifyInput
from agent_graph.deps import GraphDeps
from agent_graph.state import AgentState, classification_dict, episode_text


async def classify(state: AgentState, deps: GraphDeps) -> dict[str, Any]:
    tenant = await deps.tenant(state["tenant_id"])
    categories = tuple(tenant.setting("categories"))
    skills = {k: tuple(v) for k, v in {**DEFAULT_CATEGORY_SKILLS, **(tenant.setting("category_skills") or {})}.items()}
    text = episode_text(state)
    model = await deps.models.get(tenant.id, categories)
    result = await deps.backend.classify(ClassifyInput(
        text=text, vector=await deps.vector(text), categories=categories, category_skills=skills,
        category_model=model, default_language=str(tenant.setting("language") or "en"),
        urgency_head=await deps.urgency_heads.get(tenant.id),
    ))
    meta = {
        "top": [list(t) for t in result.top_categories],
        "margin": round(result.margin, 4),
        "out_of_scope": result.out_of_scope,
        "backend": result.backend,
        "model_version": result.model_version,
        "notes": list(result.notes),
    }
    return {"classification": classification_dict(result.classification), "classify_meta": meta}
