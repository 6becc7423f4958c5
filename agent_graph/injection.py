"""Text that tries to give orders to an AI, found in customer messages or KB articles.

Customer and KB text are data, never instructions. The offline path cannot be steered (it only
quotes passages), but an article imported from a shared wiki could still carry a planted sentence
addressed to "the assistant"; quoting it to a customer would be embarrassing at best. Such lines are
dropped from answers, and in LLM mode the sources are fenced off as data (see ``backends.llm``).
"""

from __future__ import annotations

import re

INSTRUCTION_LIKE = re.compile(
    r"(ignore|disregard|forget|override)\s+(all\s+|any\s+|the\s+|your\s+)*(previous|prior|above|earlier|system)?\s*"
    r"(instructions|prompts?|rules|guidelines)"
    r"|\b(system prompt|you are now|act as (an?|the) |jailbreak|developer mode)"
    r"|\b(list|show|reveal|print|dump|give me)\b[^.\n]{0,40}\b(other|all)\s+(customers?|users?)\b"
    r"|\b(api[_ ]?keys?|passwords?|secrets?|credentials)\b[^.\n]{0,30}\b(of|for|from)\s+(other|all)\b",
    re.I,
)


def looks_like_instruction(text: str) -> bool:
    return INSTRUCTION_LIKE.search(text) is not None


def strip_instruction_lines(text: str) -> str:
    """Drops sentences (or list lines) that address an AI rather than a reader."""
    kept: list[str] = []
    for line in text.splitlines():
        if not looks_like_instruction(line):
            kept.append(line)
            continue
        sentences = re.split(r"(?<=[.!?])\s+", line)
        clean = " ".join(s for s in sentences if not looks_like_instruction(s))
        if clean.strip():
            kept.append(clean)
    return "\n".join(kept).strip()
