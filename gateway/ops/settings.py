"""The tenant settings ops reads, with their defaults (per tenant, not constants in code)."""

from __future__ import annotations

from typing import Any

from store.incidents import INCIDENT_DEFAULTS
from store.tenants import Tenant

OPS_DEFAULTS: dict[str, Any] = {
    # {"timezone": "Europe/Berlin", "weekly": {"mon": [["09:00", "12:00"], ["13:00", "17:00"]]}, "holidays": [...]}
    "business_hours": None,
    "inactivity_close_minutes": {"chat": 30},  # per channel; a channel not listed never closes for inactivity
    "csat": {"enabled": True, "survey_auto_resolved": True, "link_days": 7},
    "sla_tick_seconds": 30,
    "digest_every_days": 7,  # the weekly digest to leads and admins; 0 = off
    "incidents": INCIDENT_DEFAULTS,
}


def ops_setting(tenant: Tenant | None, key: str) -> Any:
    default = OPS_DEFAULTS[key]
    value = tenant.settings.get(key) if tenant else None
    if isinstance(default, dict) and isinstance(value, dict) and key != "inactivity_close_minutes":
        return {**default, **value}
    return default if value is None else value
