"""REST v1, API tokens and the OpenAPI document; ``mount`` is the one call the app factory makes."""

from __future__ import annotations

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from agent_graph.deps import GraphDeps
from gateway.api import openapi
from gateway.api.auth import Authenticator
from gateway.api.classify import ClassifyService
from gateway.api.conversation_writes import ConversationWrites
from gateway.api.customer_attributes import CustomerAttributesRestApi
from gateway.api.customers import CustomersApi
from gateway.api.guard import PlatformAuth
from gateway.api.guard import routes as guarded_routes
from gateway.api.kb_articles import KbArticlesApi
from gateway.api.routes import IngestPort, RestApi
from gateway.api.tenants import TenantsApi
from gateway.api.webhooks_api import WebhooksApi

REST_API = web.AppKey("rest_api", RestApi)


def mount(app: web.Application, pool: AsyncConnectionPool, *, ingest: IngestPort, graph: GraphDeps,
          base_url: str = "", platform_token: str | None = None) -> RestApi:
    """``graph`` is the agent runner's deps, so classify shares its models, backend and caches."""
    api = RestApi(pool, ingest, ClassifyService(graph), Authenticator(pool))
    ops = [*api.operations(), *ConversationWrites(pool, base_url).operations(), *KbArticlesApi(pool).operations(),
           *WebhooksApi(pool).operations()]
    app.add_routes(api.routes(ops))
    # Customers and tenants go through a guard that also knows the platform operator's token.
    lifecycle = [*CustomersApi(pool).operations(), *CustomerAttributesRestApi(pool).operations(),
                 *TenantsApi(pool, base_url).operations()]
    app.add_routes(guarded_routes(lifecycle, PlatformAuth(api.auth, platform_token)))
    app.add_routes(openapi.routes([*ops, *lifecycle]))
    app[REST_API] = api
    return api
