"""REST v1, API tokens and the OpenAPI document; ``mount`` is the one call the app factory makes."""

from __future__ import annotations

from aiohttp import web
from psycopg_pool import AsyncConnectionPool

from agent_graph.deps import GraphDeps
from gateway.api import openapi
from gateway.api.auth import Authenticator
from gateway.api.classify import ClassifyService
from gateway.api.routes import IngestPort, RestApi

REST_API = web.AppKey("rest_api", RestApi)


def mount(app: web.Application, pool: AsyncConnectionPool, *, ingest: IngestPort, graph: GraphDeps) -> RestApi:
    """``graph`` is the agent runner's deps, so classify shares its models, backend and caches."""
    api = RestApi(pool, ingest, ClassifyService(graph), Authenticator(pool))
    app.add_routes(api.routes())
    app.add_routes(openapi.routes(api.operations()))
    app[REST_API] = api
    return api
