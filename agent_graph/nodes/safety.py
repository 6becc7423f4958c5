"""safety: rules that override the models, and explicit requests for a person.

Rules are regular expressions so a tenant can read and edit them; each firing is logged with the
rule's name, so "why was this critical?" always has an answer. Requests for a person are matched by
many phrasings in several languages (:mod:`agent_graph.human_request`) — one keyword ("human") would
both miss "can I speak to someone" and fire on "human error".
"""

from __future__ import annotations

import re
from typing import Any

from agent_graph.deps import GraphDeps
from agent_graph.human_request import asks_for_person
from agent_graph.state import AgentState, classification_from, episode_text
from store import triage

__all__ = ["DEFAULT_RULES", "NOT_HELPED", "asks_for_person", "fired_rules", "safety", "tenant_rules"]

DEFAULT_RULES: tuple[dict[str, str], ...] = (
    {"name": "system_down", "action": "critical",
     "pattern": r"\b(system|site|website|app|application|service|platform|server|api|dashboard)s?\b[^.!?\n]{0,25}"
                r"\b(is|are|went|goes|seems?)?\s*(completely\s+)?(down|offline|unreachable|not loading at all)\b"},
    {"name": "production_down", "action": "critical",
     "pattern": r"\b(production|prod)\b[^.!?\n]{0,25}\b(down|broken|offline|outage|not working)\b"},
    {"name": "outage", "action": "critical", "pattern": r"\b(outage|everything is down|all users? (are|is) affected)\b"},
    {"name": "data_loss", "action": "critical",
     "pattern": r"\b(data loss|lost (all )?(of )?(our|my) data|(data|records|files) (were |was |are |is |got )?"
                r"(deleted|gone|wiped|missing))\b"},
    {"name": "security_breach", "action": "critical",
     "pattern": r"\b(security (breach|incident|issue)|breach(ed)?|hacked|compromised|unauthori[sz]ed (access|login|"
                r"charges?|transactions?)|someone (else )?(logged|got) into my account)\b"},
    {"name": "cannot_log_in", "action": "critical",
     "pattern": r"\b(cannot|can't|can not|cant|unable to|not able to)\s+(log ?in|sign ?in|login|access (my|our) "
                r"(account|workspace))\b"},
)

NOT_HELPED = re.compile(
    r"\b(didn[’']?t|did not|doesn[’']?t|does not|hasn[’']?t|has not)\s+(help|work|solve|fix)|\bnot\s+(helpful|what i "
    r"(asked|meant|need(ed)?))|\bstill\s+(not working|broken|doesn[’']?t work|the same|have the (same )?problem)",
    re.IGNORECASE,
)


def tenant_rules(settings_rules: list[dict[str, Any]] | None, use_defaults: bool = True) -> list[dict[str, str]]:
    rules = list(DEFAULT_RULES) if use_defaults else []
    for rule in settings_rules or []:
        if rule.get("pattern") and rule.get("action") in ("critical", "handoff"):
            rules.append({"name": str(rule.get("name") or rule["pattern"]), "action": rule["action"],
                          "pattern": str(rule["pattern"])})
    return rules


def fired_rules(text: str, rules: list[dict[str, str]]) -> list[dict[str, str]]:
    fired = []
    for rule in rules:
        try:
            m = re.search(rule["pattern"], text, re.IGNORECASE)
        except re.error:
            continue  # a tenant's broken pattern must not stop the graph
        if m:
            fired.append({"rule": rule["name"], "action": rule["action"], "matched": m.group(0)})
    return fired


async def safety(state: AgentState, deps: GraphDeps) -> dict[str, Any]:
    tenant = await deps.tenant(state["tenant_id"])
    text = episode_text(state)
    latest = state.get("gathered", [""])[-1]
    rules = tenant_rules(tenant.setting("safety_rules"), bool(tenant.setting("safety_defaults") is not False))
    fired = fired_rules(text, rules)
    if (matched := asks_for_person(latest)) is not None:
        fired.append({"rule": "asks_for_person", "action": "handoff", "matched": matched})
    if state.get("after_answer") and (m := NOT_HELPED.search(latest)) is not None:
        fired.append({"rule": "answer_did_not_help", "action": "handoff", "matched": m.group(0)})

    c = classification_from(state["classification"])
    classification = dict(state["classification"])
    if any(f["action"] == "critical" for f in fired):
        classification["urgency"] = "critical"
        classification["urgency_confidence"] = 1.0
    meta = state.get("classify_meta", {})
    async with deps.pool.connection() as conn, conn.transaction():
        await triage.record_classification(
            conn, state["tenant_id"], state["conversation_id"], state["message_id"], classification_from(classification),
            backend=str(meta.get("backend", "")), model_version=meta.get("model_version"),
            details={"top": meta.get("top"), "margin": meta.get("margin"), "out_of_scope": meta.get("out_of_scope"),
                     "model_urgency": c.urgency, "rules": fired, "notes": meta.get("notes", [])},
        )
        for f in fired:
            await triage.record_safety_firing(conn, state["tenant_id"], state["conversation_id"], state["message_id"],
                                              rule=f["rule"], action=f["action"], matched=f["matched"])
    return {
        "classification": classification,
        "safety": {"critical": [f for f in fired if f["action"] == "critical"],
                   "handoff": [f for f in fired if f["action"] == "handoff"]},
    }
