"""The OpenAPI 3.1 document, generated from the operations list and the pydantic models, and a plain
HTML page that lists it. Pydantic emits JSON Schema 2020-12, which is what OpenAPI 3.1 embeds."""

from __future__ import annotations

import html
import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gateway.api.models import ErrorBody
from gateway.api.operations import Operation
from store.api_tokens import SCOPES

REF = "#/components/schemas/{model}"
ERROR_TEXT = {400: "the body is not valid JSON", 413: "the body is too large",
              401: "missing, unknown or revoked token", 403: "the token lacks the required scope",
              404: "not found (or another tenant's)", 422: "invalid input; `field` names it",
              409: "conflicts with the current state; `field` names what", 429: "rate limited; see Retry-After"}


def _models(ops: Sequence[Operation]) -> list[type[BaseModel]]:
    seen: dict[type[BaseModel], None] = {ErrorBody: None}
    for op in ops:
        for model in (op.body, op.query, op.path_params, *(m for ms in op.responses.values() for m in ms)):
            if model is not None:
                seen[model] = None
    return list(seen)


def _content(refs: list[dict[str, Any]]) -> dict[str, Any]:
    schema = refs[0] if len(refs) == 1 else {"oneOf": refs}
    return {"application/json": {"schema": schema}}


def _parameters(model: type[BaseModel] | None, where: str, defs: dict[str, Any]) -> list[dict[str, Any]]:
    if model is None:
        return []
    schema = defs[model.__name__]
    required = set(schema.get("required", ()))
    return [{"name": name, "in": where, "required": where == "path" or name in required,
             "description": prop.get("description", ""), "schema": prop}
            for name, prop in schema.get("properties", {}).items()]


def document(ops: Sequence[Operation], *, title: str = "Switchboard API", version: str = "1") -> dict[str, Any]:
    models = _models(ops)
    keys, top = models_json_schema([(m, "serialization") for m in models], ref_template=REF)
    defs: dict[str, Any] = top.get("$defs", {})
    ref = {m: keys[(m, "serialization")] for m in models}
    paths: dict[str, dict[str, Any]] = {}
    for op in ops:
        responses: dict[str, Any] = {
            str(status): {"description": "OK" if status == 200 else "Created" if status == 201 else str(status),
                          "content": _content([ref[m] for m in models_])}
            for status, models_ in op.responses.items()}
        # Every route with a JSON body can also meet a malformed body (400) or one over the size limit (413).
        for status in (*op.errors, *((400, 413) if op.body is not None else ())):
            responses[str(status)] = {"description": ERROR_TEXT.get(status, "error"), "content": _content([ref[ErrorBody]])}
            if status == 429:
                responses[str(status)]["headers"] = {"Retry-After": {"schema": {"type": "integer"},
                                                                     "description": "seconds to wait"}}
        needs = (f"Requires scope `{op.scope}` (or `admin`)." if op.scope in SCOPES
                 else f"Requires the `{op.scope}` credential, not a tenant token.")
        entry: dict[str, Any] = {
            "operationId": op.operation_id, "summary": op.summary,
            "description": f"{op.description}\n\n{needs}".strip(),
            "security": [{"bearerAuth": []}], "x-scope": op.scope,
            "parameters": _parameters(op.path_params, "path", defs) + _parameters(op.query, "query", defs),
            "responses": responses,
        }
        if op.body is not None:
            entry["requestBody"] = {"required": True, "content": _content([ref[op.body]])}
        paths.setdefault(op.path, {})[op.method.lower()] = entry
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version,
                 "description": "REST v1. Send `Authorization: Bearer <token>` (`switchboard token create`)."
                                " Every error is `{\"error\": {\"code\", \"message\", \"field\"}}`. Rate limits are"
                                " per token and per serving process."},
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "paths": paths,
        "components": {"schemas": defs,
                       "securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    }


def docs_page(doc: dict[str, Any]) -> str:
    e = html.escape
    parts = [f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{e(doc['info']['title'])}</title>",
             "<style>body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
             "code,pre{font:13px ui-monospace,monospace}pre{background:#f5f5f5;padding:.75rem;overflow:auto}"
             ".m{display:inline-block;min-width:4rem;font-weight:700}section{border-top:1px solid #ddd}</style>",
             f"</head><body><h1>{e(doc['info']['title'])} v{e(doc['info']['version'])}</h1>",
             f"<p>{e(doc['info']['description'])}</p><p><a href=\"/api/openapi.json\">openapi.json</a></p>"]
    for path, methods in doc["paths"].items():
        for method, op in methods.items():
            parts.append(f"<section id=\"{e(op['operationId'])}\"><h2><span class=m>{e(method.upper())}</span>"
                         f"<code>{e(path)}</code></h2><p>{e(op['summary'])} — scope <code>{e(op['x-scope'])}</code></p>"
                         f"<p>{e(op['description'])}</p>")
            if op["parameters"]:
                parts.append("<h3>Parameters</h3><ul>" + "".join(
                    f"<li><code>{e(p['name'])}</code> ({e(p['in'])}{', required' if p['required'] else ''})"
                    f" {e(p['description'])}</li>" for p in op["parameters"]) + "</ul>")
            if "requestBody" in op:
                parts.append(f"<h3>Body</h3>{_schema_link(op['requestBody']['content'])}")
            parts.append("<h3>Responses</h3><ul>" + "".join(
                f"<li><code>{e(status)}</code> {e(r['description'])} {_schema_link(r.get('content', {}))}</li>"
                for status, r in op["responses"].items()) + "</ul></section>")
    parts.append("<section><h2>Schemas</h2>")
    for name, schema in doc["components"]["schemas"].items():
        parts.append(f"<h3 id=\"schema-{e(name)}\">{e(name)}</h3><pre>{e(json.dumps(schema, indent=2))}</pre>")
    parts.append("</section></body></html>")
    return "".join(parts)


def _schema_link(content: dict[str, Any]) -> str:
    schema = content.get("application/json", {}).get("schema", {})
    refs = [schema] if "$ref" in schema else schema.get("oneOf", [])
    names = [r["$ref"].rsplit("/", 1)[-1] for r in refs if "$ref" in r]
    return " or ".join(f"<a href=\"#schema-{html.escape(n)}\">{html.escape(n)}</a>" for n in names)


def routes(ops: Sequence[Operation]) -> list[web.RouteDef]:
    cached: dict[str, Any] = {}

    def doc() -> dict[str, Any]:
        if not cached:
            cached["doc"] = document(ops)
        return dict(cached["doc"])

    async def openapi_json(request: web.Request) -> web.Response:
        return web.json_response(doc())

    async def docs_html(request: web.Request) -> web.Response:
        return web.Response(text=docs_page(doc()), content_type="text/html",
                            headers={"Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'"})

    return [web.get("/api/openapi.json", openapi_json), web.get("/api/docs", docs_html)]
