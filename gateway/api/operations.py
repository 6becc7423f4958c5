"""What one REST operation is: its route, scope and models. Routes and the OpenAPI document are both
built from the same list of these, so every mounted route is documented by construction."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from aiohttp import web
from pydantic import BaseModel

from store.api_tokens import ApiToken

OperationHandler = Callable[[web.Request, ApiToken], Awaitable[web.StreamResponse]]


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str
    scope: str
    summary: str
    handler: OperationHandler
    # Success status → response body model(s); several models mean "one of these".
    responses: dict[int, tuple[type[BaseModel], ...]]
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    path_params: type[BaseModel] | None = None
    description: str = ""
    errors: tuple[int, ...] = field(default=(401, 403, 429))
