"""Golden files: every shared case through every channel, compared with a reviewed JSON snapshot.

A formatter change shows up as a readable diff of the goldens in review. Regenerate after an
intended change with ``UPDATE_GOLDEN=1 python -m pytest tests/formatters`` and read the diff.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from formatters import RENDERERS, render
from store.models import Channel
from tests.formatters.cases import CASES, Case

GOLDEN_DIR = Path(__file__).parent / "golden"
UPDATE = os.environ.get("UPDATE_GOLDEN") == "1"


def _as_json(payload: dict[str, Any]) -> Any:
    """Round-trip through JSON: what a channel or the outbox stores is JSON, not Python objects."""
    return json.loads(json.dumps(payload, ensure_ascii=False))


@pytest.mark.parametrize("channel", list(RENDERERS), ids=str)
@pytest.mark.parametrize("case", CASES, ids=lambda case: case.name)
def test_golden(case: Case, channel: Channel) -> None:
    payload = _as_json(render(channel, case.reply, case.ctx))
    path = GOLDEN_DIR / f"{case.name}.{channel.value}.json"
    if UPDATE:
        GOLDEN_DIR.mkdir(exist_ok=True)
        path.write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    assert path.exists(), f"no golden {path.name}; run with UPDATE_GOLDEN=1 and review it"
    assert payload == json.loads(path.read_text(encoding="utf-8"))
