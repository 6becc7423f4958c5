"""One JSON error shape for every HTTP route: a code, a message, and the field at fault."""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from gateway.logs import request_id

log = logging.getLogger("switchboard.http")
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def error_response(status: int, code: str, message: str, field: str | None = None,
                   headers: dict[str, str] | None = None) -> web.Response:
    body: dict[str, Any] = {"error": {"code": code, "message": message}}
    if field is not None:
        body["error"]["field"] = field
    return web.json_response(body, status=status, headers=headers)


class FieldError(Exception):
    """Raised by handlers for bad input; rendered as 422 (or the given status) naming the field."""

    def __init__(self, field: str, message: str, status: int = 422, code: str = "invalid") -> None:
        super().__init__(message)
        self.field = field
        self.status = status
        self.code = code


@web.middleware
async def errors_middleware(request: web.Request, handler: Handler) -> web.StreamResponse:
    rid = request.headers.get("X-Request-Id", "")[:64] or uuid.uuid4().hex
    token = request_id.set(rid)
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers["X-Request-Id"] = rid
        return response
    except FieldError as exc:
        status = exc.status
        return error_response(exc.status, exc.code, str(exc), exc.field, headers={"X-Request-Id": rid})
    except web.HTTPRequestEntityTooLarge:
        status = 413
        return error_response(413, "too_large", "request body too large", "body", headers={"X-Request-Id": rid})
    except web.HTTPException as exc:
        status = exc.status
        if exc.status < 400 or exc.content_type == "application/json" or exc.text is None:
            raise
        if request.headers.get("Accept", "").startswith("text/html"):
            raise
        return error_response(exc.status, exc.reason.lower().replace(" ", "_"), exc.text or exc.reason,
                              headers={"X-Request-Id": rid})
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:  # request.json() on bad JSON or non-UTF-8 bytes
        status = 400
        why = exc.msg if isinstance(exc, json.JSONDecodeError) else "not UTF-8"
        return error_response(400, "bad_json", f"request body is not valid JSON: {why}", "body",
                              headers={"X-Request-Id": rid})
    except RecursionError:  # json.loads on "[[[[…" a few thousand deep, inside any handler's body parsing
        status = 400
        return error_response(400, "too_deep", "request body is nested too deeply", "body",
                              headers={"X-Request-Id": rid})
    except Exception:
        log.exception("unhandled error", extra={"path": request.path, "method": request.method})
        return error_response(500, "internal", "internal error; the request id is in X-Request-Id",
                              headers={"X-Request-Id": rid})
    finally:
        log.debug("request", extra={"path": request.path, "method": request.method, "status": status,
                                    "duration_ms": round((time.perf_counter() - started) * 1000, 1)})
        request_id.reset(token)
