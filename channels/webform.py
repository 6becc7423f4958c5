"""Hosted contact form per tenant: ``GET /forms/{tenant}`` draws it, ``POST /forms/{tenant}`` takes it.

The POST accepts an HTML form (urlencoded) and JSON (API clients and embeds); the answer follows
the request: a page for the form, JSON for JSON.

Safety rules, and why:
- **CSRF.** The HTML form carries a token signed with the app secret and bound to a random nonce in
  a ``SameSite=Lax`` cookie (double submit). JSON needs no token but must be sent as
  ``Content-Type: application/json``: a browser cannot send that cross-site without a CORS
  preflight, and this route answers no preflight, so only same-origin pages and non-browser clients
  get through. Other content types (multipart, text/plain — what a cross-site form can send) get 415.
- **Idempotency.** The hidden submission token becomes the inbound message's external id, so a
  double click, a reload of the POST or a client retry stores one message in one conversation.
  JSON clients should send their own random ``submission_token``; without one each POST is new.
- **Abuse.** A honeypot field (hidden from people, filled by naive bots) gets a success page and
  stores nothing; a per-address token bucket answers 429 with Retry-After; the body is capped.
- Every value on a page is escaped (``channels.web_pages``); nothing typed is ever markup.
"""

from __future__ import annotations

import json
import math
import re
import secrets
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web
from itsdangerous import BadSignature, URLSafeTimedSerializer
from psycopg_pool import AsyncConnectionPool

from channels.ports import FormConfirmation, Ingest
from channels.rate_limit import TokenBuckets
from channels.web_pages import CSP, SECURITY_HEADERS, Safe, escape, join, render
from store import tenants, translations
from store.models import Channel, ClaimSource, IdentityClaim, IdentityKind, InboundMessage
from store.tenants import Tenant

CSRF_COOKIE = "sb_form_csrf"
HONEYPOT = "website"
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{16,128}")
# Deliberately loose (the mailbox decides what it accepts); it only catches typos and junk.
EMAIL_RE = re.compile(r"[^\s@<>()\[\]\\,;:\"]{1,64}@[^\s@<>()\[\]\\,;:\"_.]+(?:\.[^\s@<>()\[\]\\,;:\"_.]+)+")
CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
LINE_BREAK_RE = re.compile(r"[\r\n\u2028\u2029]")
FORM_HEADERS = {**SECURITY_HEADERS, "Content-Security-Policy": CSP + "; frame-ancestors 'none'"}


@dataclass(frozen=True, slots=True)
class FormLimits:
    max_body_bytes: int = 256 * 1024  # 10,000 non-Latin characters percent-encoded fit with room
    name_chars: int = 200
    email_chars: int = 254
    subject_chars: int = 200
    message_chars: int = 10_000
    submissions_per_minute: float = 10.0
    submission_burst: float = 10.0
    csrf_max_age_seconds: int = 24 * 3600


@dataclass(frozen=True, slots=True)
class Submission:
    name: str | None
    email: str
    subject: str | None
    message: str
    token: str


class FormRejected(Exception):
    """A request refused before validation (rate, size, content type, CSRF): status and a message."""

    def __init__(self, status: int, code: str, message: str, field: str | None = None,
                 headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.field = field
        self.headers = headers or {}


def validate(data: dict[str, Any], limits: FormLimits, *, token_required: bool) -> tuple[Submission | None, dict[str, str]]:
    """Field by field, so the page and the JSON can name every problem at once."""
    errors: dict[str, str] = {}

    def text(name: str, max_len: int, *, required: bool, single_line: bool) -> str | None:
        value = data.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                errors[name] = "is required"
            return None
        if not isinstance(value, str):
            errors[name] = "must be text"
            return None
        value = value.strip()
        if len(value) > max_len:
            errors[name] = f"must be at most {max_len:,} characters (this is {len(value):,})"
        elif CONTROL_RE.search(value) or (single_line and LINE_BREAK_RE.search(value)):
            errors[name] = "contains characters that are not allowed"
        return value

    name = text("name", limits.name_chars, required=False, single_line=True)
    email = text("email", limits.email_chars, required=True, single_line=True)
    if email is not None and "email" not in errors and not EMAIL_RE.fullmatch(email):
        errors["email"] = "is not a valid email address (like name@example.com)"
    subject = text("subject", limits.subject_chars, required=False, single_line=True)
    message = text("message", limits.message_chars, required=True, single_line=False)
    token = data.get("submission_token")
    if token is None and not token_required:
        token = uuid.uuid4().hex
    elif not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
        errors["submission_token"] = "is missing or malformed (16-128 letters, digits, - or _)"
    if errors:
        return None, errors
    assert email is not None and message is not None and isinstance(token, str)
    return Submission(name, email.lower(), subject, message, token), {}


class WebFormChannel:
    def __init__(self, pool: AsyncConnectionPool, *, ingest: Ingest, confirm: FormConfirmation, secret: str,
                 limits: FormLimits | None = None) -> None:
        self.pool = pool
        self.ingest = ingest
        self.confirm = confirm
        self.limits = limits or FormLimits()
        self._csrf = URLSafeTimedSerializer(secret, salt="switchboard.webform.csrf")
        self._per_ip = TokenBuckets(self.limits.submissions_per_minute / 60, self.limits.submission_burst)

    def routes(self) -> list[web.RouteDef]:
        return [web.get("/forms/{tenant}", self.show), web.post("/forms/{tenant}", self.submit)]

    # -- GET -----------------------------------------------------------------------------------------
    async def show(self, request: web.Request) -> web.Response:
        tenant = await self._tenant(request)
        if tenant is None:
            return _not_found_page()
        return self._form_page(request, tenant, {}, {}, status=200)

    # -- POST ----------------------------------------------------------------------------------------
    async def submit(self, request: web.Request) -> web.Response:
        wants_json = request.content_type == "application/json"
        try:
            return await self._submit(request, wants_json)
        except FormRejected as exc:
            if wants_json:
                error: dict[str, Any] = {"code": exc.code, "message": str(exc)}
                if exc.field:
                    error["field"] = exc.field
                return web.json_response({"error": error}, status=exc.status, headers=exc.headers)
            body = render("not_found.html", title="We couldn't take that", message=str(exc))
            return web.Response(text=body, status=exc.status, content_type="text/html",
                                headers={**FORM_HEADERS, **exc.headers})

    async def _submit(self, request: web.Request, wants_json: bool) -> web.Response:
        ip = request.remote or "?"
        if not self._per_ip.allow(ip):
            wait = max(1, math.ceil(self._per_ip.retry_after(ip)))
            raise FormRejected(429, "rate_limited", f"Too many messages from your network; try again in {wait} s.",
                               headers={"Retry-After": str(wait)})
        tenant = await self._tenant(request)
        if tenant is None:
            if wants_json:
                raise FormRejected(404, "not_found", "unknown tenant", field="tenant")
            return _not_found_page()
        data = await self._read(request, wants_json)
        if not wants_json and not self._csrf_ok(request, tenant, data.get("csrf_token")):
            return self._form_page(request, tenant, data, {}, status=403, form_error=(
                "Your form session expired or cookies are blocked. Please check your message and send it again."))
        if isinstance(data.get(HONEYPOT), str) and data[HONEYPOT].strip():
            name = data.get("name")
            shown = name.strip()[:self.limits.name_chars] if isinstance(name, str) else None
            return self._accepted(request, tenant, None, None, honeypot_name=shown, wants_json=wants_json)
        submission, errors = validate(data, self.limits, token_required=not wants_json)
        if submission is None:
            if wants_json:
                field = next(iter(errors))
                return web.json_response({"error": {"code": "invalid", "message": f"{field} {errors[field]}",
                                                    "field": field}, "errors": errors}, status=422)
            return self._form_page(request, tenant, data, errors, status=422)
        result = await self.ingest(InboundMessage(
            tenant_id=tenant.id, channel=Channel.WEBFORM, external_id=submission.token, text=submission.message,
            subject=submission.subject,
            claims=(IdentityClaim(IdentityKind.EMAIL, submission.email, ClaimSource.FORM_EMAIL, submission.name),),
            raw={"form": {"name": submission.name, "email": submission.email, "subject": submission.subject},
                 "user_agent": request.headers.get("User-Agent", "")[:300]},
        ))
        emailed = bool(tenant.setting("email_enabled"))
        if emailed:  # also on a duplicate: the port is idempotent and finishes what a crash interrupted
            # The browser's language: the message itself is classified later, by the agent graph.
            language = translations.negotiate(request.headers.get("Accept-Language"))
            await self.confirm(tenant.id, result.conversation_id, result.message_id,
                               _confirmation_text(tenant, language), language=language)
        return self._accepted(request, tenant, submission, result.conversation_id, emailed=emailed,
                              duplicate=result.duplicate, wants_json=wants_json)

    async def _read(self, request: web.Request, wants_json: bool) -> dict[str, Any]:
        """The body, capped and parsed; anything else is a 4xx naming what was wrong."""
        if not wants_json and request.content_type != "application/x-www-form-urlencoded":
            raise FormRejected(415, "unsupported_media_type",
                               "send application/x-www-form-urlencoded (the HTML form) or application/json",
                               field="Content-Type")
        limit = self.limits.max_body_bytes
        if request.content_length is not None and request.content_length > limit:
            raise FormRejected(413, "too_large", f"the form is larger than {limit // 1024} KiB", field="body")
        raw = bytearray()
        while chunk := await request.content.readany():
            raw += chunk
            if len(raw) > limit:
                raise FormRejected(413, "too_large", f"the form is larger than {limit // 1024} KiB", field="body")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise FormRejected(400, "bad_encoding", "the body is not UTF-8", field="body") from None
        if wants_json:
            try:
                data = json.loads(text)
            except ValueError as exc:
                raise FormRejected(400, "bad_json", f"the body is not valid JSON: {exc}", field="body") from None
            if not isinstance(data, dict):
                raise FormRejected(400, "bad_json", "the body must be a JSON object", field="body")
            return data
        try:
            pairs = parse_qsl(text, keep_blank_values=True, max_num_fields=40)
        except ValueError:
            raise FormRejected(400, "bad_form", "too many fields", field="body") from None
        out: dict[str, Any] = {}
        for key, value in pairs:
            out.setdefault(key, value)  # the first of repeated fields, like a browser would send one
        return out

    # -- CSRF ----------------------------------------------------------------------------------------
    def _csrf_ok(self, request: web.Request, tenant: Tenant, token: Any) -> bool:
        nonce = request.cookies.get(CSRF_COOKIE)
        if not isinstance(token, str) or not nonce or len(token) > 500:
            return False
        try:
            data = self._csrf.loads(token, max_age=self.limits.csrf_max_age_seconds)
        except BadSignature:
            return False
        return isinstance(data, dict) and data.get("t") == tenant.id and secrets.compare_digest(
            str(data.get("n", "")), nonce)

    def _csrf_pair(self, request: web.Request, tenant: Tenant) -> tuple[str, str]:
        """(nonce for the cookie, token for the form); an existing cookie is kept so several tabs work."""
        nonce = request.cookies.get(CSRF_COOKIE, "")
        if not TOKEN_RE.fullmatch(nonce):
            nonce = secrets.token_urlsafe(24)
        return nonce, self._csrf.dumps({"t": tenant.id, "n": nonce})

    # -- pages ---------------------------------------------------------------------------------------
    async def _tenant(self, request: web.Request) -> Tenant | None:
        async with self.pool.connection() as conn:
            return await tenants.by_slug(conn, request.match_info["tenant"])

    def _form_page(self, request: web.Request, tenant: Tenant, data: dict[str, Any], errors: dict[str, str], *,
                   status: int, form_error: str | None = None) -> web.Response:
        nonce, csrf = self._csrf_pair(request, tenant)
        token = data.get("submission_token")
        if not isinstance(token, str) or not TOKEN_RE.fullmatch(token):
            token = uuid.uuid4().hex  # nothing was stored under a rejected submission, so keep or mint
        values = {k: v if isinstance(v, str) else "" for k, v in data.items()}
        lim = self.limits
        body = render(
            "form.html", tenant_name=tenant.name, tenant_slug=tenant.slug, csrf_token=csrf,
            submission_token=token, honeypot=HONEYPOT,
            summary=_error_summary(errors, form_error),
            field_name=_field("name", "Your name", values, errors, max_len=lim.name_chars, autocomplete="name",
                              optional=True),
            field_email=_field("email", "Email address", values, errors, max_len=lim.email_chars, kind="email",
                               autocomplete="email", hint="We'll reply to this address."),
            field_subject=_field("subject", "Subject", values, errors, max_len=lim.subject_chars, optional=True),
            field_message=_field("message", "How can we help?", values, errors, max_len=lim.message_chars,
                                 kind="textarea"),
            email_note=("You'll get a confirmation email right away." if tenant.setting("email_enabled") else ""),
        )
        resp = web.Response(text=body, status=status, content_type="text/html", headers=FORM_HEADERS)
        resp.set_cookie(CSRF_COOKIE, nonce, max_age=lim.csrf_max_age_seconds, path="/forms/", httponly=True,
                        samesite="Lax", secure=request.secure)
        return resp

    def _accepted(self, request: web.Request, tenant: Tenant, submission: Submission | None,
                  conversation_id: int | None, *, wants_json: bool, honeypot_name: str | None = None,
                  emailed: bool = False, duplicate: bool = False) -> web.Response:
        reference = f"#{conversation_id}" if conversation_id is not None else None
        if wants_json:
            return web.json_response({"ok": True, "reference": reference, "duplicate": duplicate,
                                      "confirmation_email": emailed}, status=200 if duplicate else 201)
        name = submission.name if submission else honeypot_name
        if submission is None:  # the honeypot: look like success, promise nothing specific
            email_line = "We'll get back to you by email."
        elif emailed:
            email_line = f"A confirmation email is on its way to {submission.email}."
        else:
            email_line = (f"We'll reply to {submission.email}. This support desk doesn't send confirmation "
                          "emails, so don't wait for one.")
        body = render(
            "form_done.html", tenant_name=tenant.name, tenant_slug=tenant.slug,
            heading=f"Thanks, {name}!" if name else "Thanks!",
            reference=Safe(f' Your reference is <strong>{escape(reference)}</strong>.') if reference else "",
            email_line=email_line,
        )
        return web.Response(text=body, content_type="text/html", headers=FORM_HEADERS)


def _confirmation_text(tenant: Tenant, language: str = "en") -> str:
    return translations.translate(
        language, "Thanks for contacting {tenant}. We received your message and a person from our team will "
                  "reply to this email. Your message is quoted below for your records.", tenant=tenant.name)


def _not_found_page() -> web.Response:
    body = render("not_found.html", title="Form not found", message="There is no contact form at this address.")
    return web.Response(text=body, status=404, content_type="text/html", headers=FORM_HEADERS)


def _error_summary(errors: dict[str, str], form_error: str | None) -> Safe:
    if not errors and not form_error:
        return Safe("")
    items = [Safe(f'<li><a href="#f-{escape(f)}">{escape(_LABELS.get(f, f))} {escape(m)}</a></li>')
             for f, m in errors.items()]
    heading = escape(form_error) if form_error else (
        "Please fix this problem:" if len(errors) == 1 else f"Please fix these {len(errors)} problems:")
    listed = Safe(f"<ul>{join(items)}</ul>") if items else Safe("")
    return Safe(f'<div class="sb-error-summary" role="alert" id="sb-errors"><p>{heading}</p>{listed}</div>')


_LABELS = {"name": "Name", "email": "Email address", "subject": "Subject", "message": "Message",
           "submission_token": "Form token"}


def _field(name: str, label: str, values: dict[str, str], errors: dict[str, str], *, max_len: int,
           kind: str = "text", autocomplete: str = "off", optional: bool = False, hint: str = "") -> Safe:
    """Label, control, hint and error, tied together with aria-describedby for screen readers."""
    fid = f"f-{name}"
    error = errors.get(name)
    described = " ".join(x for x in (f"{fid}-hint" if hint else "", f"{fid}-error" if error else "") if x)
    attrs = (f'id="{fid}" name="{name}" maxlength="{max_len}" autocomplete="{autocomplete}"'
             + ("" if optional else ' required aria-required="true"')
             + (' aria-invalid="true"' if error else "")
             + (f' aria-describedby="{described}"' if described else ""))
    value = escape(values.get(name, ""))
    if kind == "textarea":
        control = f'<textarea {attrs} rows="7">{value}</textarea>'
    else:
        control = f'<input {attrs} type="{kind}" value="{value}">'
    opt = ' <span class="sb-optional">(optional)</span>' if optional else ""
    parts = [f'<div class="sb-field{" sb-field--error" if error else ""}">',
             f'<label for="{fid}">{escape(label)}{opt}</label>']
    if error:
        parts.append(f'<p class="sb-field-error" id="{fid}-error">{escape(_LABELS.get(name, name))} {escape(error)}</p>')
    parts.append(control)
    if hint:  # below the control, so the inputs of a two-column row line up
        parts.append(f'<p class="sb-hint" id="{fid}-hint">{escape(hint)}</p>')
    parts.append("</div>")
    return Safe("".join(parts))
