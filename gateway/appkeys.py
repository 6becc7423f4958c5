"""Typed keys for what the app carries (aiohttp's AppKey keeps them collision-free and typed)."""

from __future__ import annotations

from typing import Any

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from gateway.settings import Settings

POOL = web.AppKey("pool", AsyncConnectionPool)
SETTINGS = web.AppKey("settings", Settings)
SERVICES = web.AppKey("services", dict[str, Any])
