"""Choosing a human agent. The router lives in ``gateway.ops.routing``; this name stays the entry point."""

from __future__ import annotations

from gateway.ops.routing import SkillRouter

__all__ = ["SkillRouter"]
