"""``GET /metrics``: Prometheus exposition, protected because KPIs are business data.

Access: with ``SWITCHBOARD_METRICS_TOKEN`` set, a request must carry ``Authorization: Bearer <token>``
(401 otherwise). Without a token, only loopback clients are served (403 otherwise) — fine for a
Prometheus on the same host; behind a reverse proxy on the same host every client looks local,
so set a token there.
"""

from __future__ import annotations

import hmac
import ipaddress
from collections.abc import Iterator
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import Metric
from prometheus_client.registry import Collector

from gateway import metrics
from gateway.appkeys import POOL, SETTINGS
from gateway.kpi_collector import StoreKpiCollector

REGISTRY_KEY = web.AppKey("metrics_registry", CollectorRegistry)
KPIS_KEY = web.AppKey("metrics_kpis", object)
CHAT_KEY = web.AppKey("metrics_chat", object)


class _ProcessMetrics(Collector):
    """Forwards the process-wide registry, so each app's registry can add its own store collector."""

    def collect(self) -> Iterator[Metric]:
        yield from metrics.REGISTRY.collect()


def allowed(request: web.Request, token: str | None) -> None:
    if token:
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            raise web.HTTPUnauthorized(text="metrics need a bearer token", headers={"WWW-Authenticate": "Bearer"})
        return
    try:
        local = request.remote is not None and ipaddress.ip_address(request.remote).is_loopback
    except ValueError:
        local = False
    if not local:
        raise web.HTTPForbidden(text="metrics are served to loopback only unless SWITCHBOARD_METRICS_TOKEN is set")


async def handle(request: web.Request) -> web.Response:
    app = request.app
    allowed(request, app[SETTINGS].metrics_token)
    kpi = app[KPIS_KEY]
    if isinstance(kpi, StoreKpiCollector):
        await kpi.refresh()
    chat: Any = app[CHAT_KEY]
    connections = getattr(chat, "_connections", None)
    if connections is not None:
        metrics.SOCKET_CONNECTIONS.labels("chat").set(sum(connections.values()))
    body = generate_latest(app[REGISTRY_KEY])
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def setup(app: web.Application, chat: object) -> None:
    """Mounts /metrics; the store collector only when SWITCHBOARD_METRICS_STORE_KPIS is on."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(_ProcessMetrics())
    kpi: object = None
    if app[SETTINGS].metrics_store_kpis:
        kpi = StoreKpiCollector(app[POOL])
        registry.register(kpi)  # type: ignore[arg-type]
    app[REGISTRY_KEY] = registry
    app[KPIS_KEY] = kpi
    app[CHAT_KEY] = chat
    metrics.SOCKET_CONNECTIONS.labels("chat")
    app.router.add_get("/metrics", handle)
