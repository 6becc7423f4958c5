"""Signed, HTTP-only session cookies and CSRF tokens for the console.

The cookie carries (agent id, tenant id, session version) signed with the app secret; bumping the
agent's ``session_version`` (logout, password change) invalidates every cookie issued before.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass

from itsdangerous import BadSignature, URLSafeTimedSerializer

COOKIE = "sb_session"
MAX_AGE_SECONDS = 12 * 3600


@dataclass(frozen=True, slots=True)
class AgentSession:
    agent_id: int
    tenant_id: int
    version: int
    role: str = "agent"

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


class SessionCodec:
    def __init__(self, secret: str) -> None:
        self._secret = secret.encode()
        self._s = URLSafeTimedSerializer(secret, salt="switchboard.console.session")

    def dump(self, session: AgentSession) -> str:
        return self._s.dumps([session.agent_id, session.tenant_id, session.version])

    def load(self, value: str) -> tuple[int, int, int] | None:
        try:
            data = self._s.loads(value, max_age=MAX_AGE_SECONDS)
        except BadSignature:
            return None
        if not (isinstance(data, list) and len(data) == 3 and all(isinstance(x, int) for x in data)):
            return None
        return data[0], data[1], data[2]

    def csrf_for(self, cookie_value: str) -> str:
        """Bound to the session cookie, so a token from another session is useless."""
        return hmac.new(self._secret, b"csrf:" + cookie_value.encode(), hashlib.sha256).hexdigest()

    def csrf_ok(self, cookie_value: str, token: str | None) -> bool:
        return bool(token) and hmac.compare_digest(self.csrf_for(cookie_value), token or "")

    def login_csrf(self, nonce: str) -> str:
        return hmac.new(self._secret, b"login:" + nonce.encode(), hashlib.sha256).hexdigest()
