"""The OpenAPI document is generated, 3.1, covers every mounted /api/v1 route, and its refs resolve."""

from __future__ import annotations

from typing import Any

import aiohttp

from tests.servers.gateway import RunningGateway


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == "$ref"] + [r for v in node.values() for r in _refs(v)]
    if isinstance(node, list):
        return [r for v in node for r in _refs(v)]
    return []


async def test_document_covers_every_route(api: RunningGateway, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{api.url}/api/openapi.json") as resp:
        assert resp.status == 200
        doc = await resp.json()
    assert doc["openapi"] == "3.1.0" and doc["info"]["title"] and doc["paths"]
    mounted = {(r.method.lower(), r.resource.canonical) for r in api.app.router.routes()
               if r.resource is not None and r.resource.canonical.startswith("/api/v1/") and r.method != "HEAD"}
    documented = {(m, p) for p, ms in doc["paths"].items() for m in ms}
    assert mounted and mounted == documented
    schemas = doc["components"]["schemas"]
    for ref in _refs(doc):
        assert ref.startswith("#/components/schemas/") and ref.rsplit("/", 1)[1] in schemas, ref
    op_ids = [op["operationId"] for ms in doc["paths"].values() for op in ms.values()]
    assert len(op_ids) == len(set(op_ids))
    for path, methods in doc["paths"].items():
        for op in methods.values():
            assert op["security"] == [{"bearerAuth": []}] and op["x-scope"]
            assert {"401", "403", "429"} <= set(op["responses"]), path
            assert op["responses"]["429"]["headers"]["Retry-After"]
            for p in op["parameters"]:
                assert p["in"] in ("path", "query") and "schema" in p
            if "{id}" in path:
                assert any(p["name"] == "id" and p["in"] == "path" and p["required"] for p in op["parameters"])
    assert schemas["ErrorBody"]["properties"]["error"] == {"$ref": "#/components/schemas/ErrorDetail"}
    assert set(schemas["ErrorDetail"]["properties"]) == {"code", "message", "field"}


async def test_docs_page_lists_paths_without_external_assets(api: RunningGateway, http: aiohttp.ClientSession) -> None:
    async with http.get(f"{api.url}/api/docs") as resp:
        assert resp.status == 200 and resp.content_type == "text/html"
        page = await resp.text()
    for path in ("/api/v1/classify", "/api/v1/conversations", "/api/v1/conversations/{id}", "ClassifyResult"):
        assert path in page
    assert "<script" not in page and "src=" not in page and "https://cdn" not in page
