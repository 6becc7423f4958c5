"""Schemathesis against the served ``/api/openapi.json`` of a running gateway: every documented route,
with an admin token so each is reachable, must answer without a 5xx, with a documented status, content
type, headers and a body that matches its schema. It reads the served document, so routes added later
are covered without touching this file.

Bounded: ``SB_SCHEMATHESIS_EXAMPLES`` examples per operation (default 8) with a fixed seed
(``SB_SCHEMATHESIS_SEED``), valid and invalid data both.
"""

from __future__ import annotations

import asyncio
import os

import aiohttp
import hypothesis
import schemathesis
from hypothesis import HealthCheck, Phase
from psycopg_pool import AsyncConnectionPool
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.generation import GenerationMode

from store import api_tokens
from store.tenants import Tenant
from tests.servers.gateway import RunningGateway

EXAMPLES = int(os.environ.get("SB_SCHEMATHESIS_EXAMPLES", "8"))
SEED = int(os.environ.get("SB_SCHEMATHESIS_SEED", "20261123"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


def run(base_url: str, secret: str) -> tuple[list[str], set[str], list[str]]:
    """(operations run, those that answered 2xx at least once, failures); runs in a thread so the
    gateway keeps serving in the test's loop."""
    schema = schemathesis.openapi.from_url(f"{base_url}/api/openapi.json")
    exercised: list[str] = []
    succeeded: set[str] = set()
    failures: list[str] = []
    for result in schema.get_all_operations():
        operation = result.ok()
        strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE) | operation.as_strategy(
            generation_mode=GenerationMode.NEGATIVE)

        @hypothesis.seed(SEED)
        @hypothesis.settings(max_examples=EXAMPLES, deadline=None, database=None, derandomize=False,
                             phases=[Phase.explicit, Phase.generate], suppress_health_check=list(HealthCheck),
                             print_blob=False)
        @hypothesis.given(case=strategy)
        def check(case: schemathesis.Case) -> None:
            response = case.call_and_validate(base_url=base_url, headers={"Authorization": f"Bearer {secret}"},
                                              checks=CHECKS, timeout=60)
            if response.status_code < 300:
                succeeded.add(case.operation.label)

        exercised.append(operation.label)
        try:
            check()
        except Exception as exc:  # a failing example: keep going so one run reports every operation
            failures.append(f"{operation.label}: {str(exc)[:1500]}")
    return exercised, succeeded, failures


async def test_served_openapi_document_holds(api: RunningGateway, pool: AsyncConnectionPool,
                                             kb_tenant: Tenant) -> None:
    async with pool.connection() as conn:
        _, secret = await api_tokens.create(conn, kb_tenant.id, name="schemathesis", scopes=("admin",),
                                            created_by="test", rate_limit_per_minute=1_000_000)
    exercised, succeeded, failures = await asyncio.to_thread(run, api.url, secret)
    assert not failures, "\n\n".join(failures)
    async with aiohttp.ClientSession() as http, http.get(f"{api.url}/api/openapi.json") as resp:
        served = await resp.json()
    assert len(exercised) == sum(len(methods) for methods in served["paths"].values()) >= 20
    # the admin token reaches the routes: the list calls succeed with generated queries
    assert {"GET /api/v1/conversations", "GET /api/v1/kb/articles", "GET /api/v1/webhooks"} <= succeeded, succeeded
