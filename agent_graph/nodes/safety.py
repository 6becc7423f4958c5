"""safety: rules that override the models, and explicit requests for a person.

Rules are regular expressions so a tenant can read and edit them; each firing is logged with the
rule's name, so "why was this critical?" always has an answer. Requests for a person are matched by
many phrasings in several languages — one keyword ("human") would both miss "can I speak to
someone" and fire on "human error".
"""

from __future__ import annotations

import re
from typing import Any

from agent_graph.deps import GraphDeps
from agent_graph.state import AgentState, classification_from, episode_text
from store import triage

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

HUMAN_REQUEST = re.compile(
    "|".join([
        # English
        r"\b(talk|speak|chat)\s+(to|with)\s+(a|an|some|the|your)?\s*(real\s+|actual\s+|live\s+)?"
        r"(human|person|people|agent|someone|somebody|representative|rep|operator|manager|supervisor|staff)\b",
        r"\b(real|actual|live)\s+(human|person|agent|people)\b",
        r"\bhuman\s+(being|agent|support|please|help)\b",
        r"\b(want|need|would like|[’']d like|get me|give me|connect me|transfer me|put me through)\s+"
        r"((to|with)\s+)?(talk\s+to\s+|speak\s+(to|with)\s+)?(a|an)\s+(real\s+|live\s+)?"
        r"(human|person|agent|representative|operator)\b",
        r"\b(agent|human|representative|operator|person)\s*,?\s*(please|pls|plz|now)\b",
        r"\brepresentative\b",
        r"\b(no|not|stop)\s+(more\s+)?(talking to\s+)?(a\s+)?(bot|robot|machine|ai)s?\b",
        # German
        r"\b(mit\s+)?(einem|einer|jemandem)\s+(echten\s+|richtigen\s+)?(menschen|mitarbeiter(in)?|person|berater(in)?|"
        r"kundenberater(in)?)?\s*(sprechen|reden)\b",
        r"\b(echte[nr]?|richtige[nr]?)\s+(mensch(en)?|person|mitarbeiter)\b",
        r"\bmitarbeiter(in)?\s+bitte\b",
        # French
        r"\bparler\s+(à|a|avec)\s+(un|une|quelqu[’']un)(\s+(humain|conseill(er|ère)|agent|personne|vraie?\s+personne))?",
        r"\b(une\s+vraie\s+personne|un\s+(vrai\s+)?humain|un\s+conseiller)\b",
        # Spanish
        r"\bhablar\s+con\s+(una|un|alguien)(\s+(persona|humano|agente|representante))?",
        r"\b(persona\s+real|un\s+humano|un\s+agente)\b",
    ]),
    re.IGNORECASE,
)

# Bitext's contact_human_agent phrasings showed what the first list missed: gerunds ("help talking with
# an agent"), "contact"/"reach" verbs, "assistant"/"operator", a swear word between article and noun,
# and no article at all ("talking with agent"). "contact person" (a field on an account) needs an
# article or someone/somebody after the verb, so it does not fire.
_PERSON = (r"(human|person|people|agent|someone|somebody|anyone|anybody|representative|rep|operator|assistant|"
           r"advisor|adviser|supervisor|staff|employee|associate)s?")
_REACH = r"(talk(ing|ed)?|speak(ing)?|chat(ting|ted)?|contact(ing)?|reach(ing)?|get(ting)? in touch)"
HUMAN_REQUEST_VERBS = re.compile(
    "|".join([
        rf"\b{_REACH}\s+((to|with|w[ie]?[rt]?h)\s+)?(a|an|some|the|your|one of your)\s+(\w+\s+)?{_PERSON}\b",
        rf"\b{_REACH}\s+((to|with|w[ie]?[rt]?h)\s+)?(some|any)(one|body)\b",
        r"\b(talk(ing)?|speak(ing)?|chat(ting)?)\s+(to|with|w[ie]?[rt]?h)\s+(\w+\s+)?"
        r"(human|person|agent|representative|operator|assistant|someone|somebody)s?\b",
    ]),
    re.IGNORECASE,
)

# Typos are common in angry messages ("talkk to somone", "speak with a eprson"). Words close to the
# few that carry a request for a person are mapped back to them before the patterns run: one edit for
# short words, two from nine letters. Near words that are real and common stay as they are.
_KEYWORDS = ("talk", "talking", "speak", "speaking", "chat", "chatting", "contact", "contacting", "someone",
             "somebody", "person", "agent", "assistant", "operator", "human", "representative")
_KEEP = frozenset("that what walk walking tall talks chart cart cat chant contract contacts contacted humane "
                  "parson persona agency urgent speck spear sometime somewhere someday".split())


def _edits(a: str, b: str, limit: int) -> int:
    """Optimal-string-alignment distance (adjacent transpositions count once), stopped past ``limit``."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev2: list[int] = []
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                cur[j] = min(cur[j], prev2[j - 2] + 1)
        if min(cur) > limit:
            return limit + 1
        prev2, prev = prev, cur
    return prev[-1]


def _fix_typo(word: str) -> str:
    low = word.lower()
    if len(low) < 4 or low in _KEEP or low in _KEYWORDS:
        return word
    for key in _KEYWORDS:
        if _edits(low, key, 2 if len(key) >= 9 else 1) <= (2 if len(key) >= 9 else 1):
            return key
    return word


def normalise_typos(text: str) -> str:
    return re.sub(r"[A-Za-z]+", lambda m: _fix_typo(m.group(0)), text)


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


def asks_for_person(text: str) -> str | None:
    """The phrase that asks for a person, matched as typed first and then with typos mapped back."""
    for candidate in (text, normalise_typos(text)):
        for pattern in (HUMAN_REQUEST, HUMAN_REQUEST_VERBS):
            if (m := pattern.search(candidate)) is not None:
                return m.group(0)
    return None


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
