"""The README must tell the truth about configuration and the quick start."""

from __future__ import annotations

from pathlib import Path

from gateway.settings import describe

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def test_every_setting_is_documented_with_its_default() -> None:
    for env, default, _ in describe():
        shown = f"`{default}`" if default else "—"
        assert f"| `{env}` | {shown} |" in README, env


def test_quick_start_has_exactly_two_commands() -> None:
    block = README.split("## Quick start", 1)[1].split("```bash", 1)[1].split("```", 1)[0]
    commands = [line for line in block.strip().splitlines() if line.strip()]
    assert [c.split("#")[0].strip() for c in commands] == ["./run demo", "./run test"]
