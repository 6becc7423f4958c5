"""Knowledge-base gaps as topics for admins: what customers asked that the KB could not answer.

Two weeks of gap questions (store.kb_gaps) are embedded and clustered together (agent_graph.gaps),
so one topic's volume this week and last week are counted on the same cluster: the trend. Each
topic's article outline is extractive: the sentences agents actually wrote in those conversations,
ranked by how many agents wrote them, then by how central they are to all the agents' answers on the
topic, near-duplicates dropped. It invents nothing, so it runs offline.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np
from psycopg_pool import AsyncConnectionPool

from agent_graph.embedder import embed_many_async
from agent_graph.gaps import DEFAULT_DISTANCE_THRESHOLD, cluster
from store import kb_gaps, tenants

WEEK = timedelta(days=7)
MAX_QUESTIONS = 500  # per two weeks; clustering is quadratic in memory
MAX_EXAMPLES = 5
MAX_OUTLINE = 6
EMBED_CHARS = 1000
SENTENCE = re.compile(r"(?<=[.!?])\s+|\n+")
# Greetings, thanks and sign-offs are how agents write, not what the article should say.
SMALL_TALK = re.compile(r"^(hi|hello|hey|dear|thanks|thank you|best|regards|cheers|kind regards|sorry)\b", re.I)
DUPLICATE_COSINE = 0.9


@dataclass(frozen=True)
class Topic:
    key: str  # "c<conversation id>" of its most typical question: stable while the topic keeps it
    title: str
    examples: list[str]
    conversation_ids: list[int]
    this_week: int
    last_week: int
    outline: list[str]

    @property
    def trend(self) -> str:
        if self.this_week > self.last_week:
            return "up"
        return "down" if self.this_week < self.last_week else "flat"


async def gap_topics(pool: AsyncConnectionPool, tenant_id: int, *, now: datetime, min_size: int = 2,
                     distance_threshold: float = DEFAULT_DISTANCE_THRESHOLD) -> list[Topic]:
    """Topics with at least ``min_size`` questions in the last two weeks, biggest this week first."""
    async with pool.connection() as conn:
        tenant = await tenants.get(conn, tenant_id)
        low = float((tenant.setting("thresholds") if tenant else tenants.DEFAULT_SETTINGS["thresholds"])
                    .get("retrieval_min", 0.35))
        questions = await kb_gaps.gap_questions(conn, tenant_id, since=now - 2 * WEEK, until=now,
                                                low_confidence=low, limit=MAX_QUESTIONS)
    if not questions:
        return []
    vectors = await embed_many_async([q.question[:EMBED_CHARS] for q in questions])
    topics = []
    for c in cluster(vectors, distance_threshold=distance_threshold, n_representatives=MAX_EXAMPLES).clusters:
        if c.size < min_size:
            continue
        members = [questions[i] for i in c.members]
        head = questions[c.representatives[0]]
        answers = [a for q in members for a in q.agent_answers]
        topics.append(Topic(
            key=f"c{head.conversation_id}", title=_title(head.question),
            examples=[" ".join(questions[i].question.split())[:500] for i in c.representatives],
            conversation_ids=[q.conversation_id for q in members],
            this_week=sum(q.created_at >= now - WEEK for q in members),
            last_week=sum(q.created_at < now - WEEK for q in members),
            outline=await outline(answers)))
    return sorted(topics, key=lambda t: (-t.this_week, -len(t.conversation_ids), t.key))


def _title(question: str, limit: int = 120) -> str:
    flat = " ".join(question.split())
    return flat if len(flat) <= limit else flat[:limit].rsplit(" ", 1)[0] + "…"


def sentences(text: str) -> list[str]:
    out = []
    for s in SENTENCE.split(text):
        s = " ".join(s.split()).strip(" -*>")
        if 20 <= len(s) <= 400 and not SMALL_TALK.match(s):
            out.append(s)
    return out


async def outline(answers: list[str], limit: int = MAX_OUTLINE) -> list[str]:
    """The distinct sentences of the agents' answers, most often written first, then most central."""
    counts = Counter(s for a in answers for s in sentences(a))
    pool = [s for s, _ in counts.most_common(400)]
    if not pool:
        return []
    vectors = await embed_many_async(pool)
    weights = np.array([counts[s] for s in pool], dtype=np.float32)
    centre = (vectors * weights[:, None]).sum(axis=0)
    centre /= max(float(np.linalg.norm(centre)), 1e-12)
    central = vectors @ centre
    chosen: list[int] = []
    for i in sorted(range(len(pool)), key=lambda i: (-counts[pool[i]], -float(central[i]))):
        if all(float(vectors[i] @ vectors[j]) < DUPLICATE_COSINE for j in chosen):
            chosen.append(int(i))
        if len(chosen) == limit:
            break
    return [pool[i] for i in chosen]


def draft_markdown(topic: Topic) -> str:
    """The KB draft an admin finishes: the questions it must answer and what agents told customers."""
    lines = [f"# {topic.title}", "",
             f"Drafted from {len(topic.conversation_ids)} conversations the knowledge base could not answer.", "",
             "## What customers ask", ""]
    lines += [f"- {e}" for e in topic.examples]
    lines += ["", "## How agents answered", ""]
    lines += [f"- {s}" for s in topic.outline] or ["- (no agent answers yet)"]
    return "\n".join(lines) + "\n"
