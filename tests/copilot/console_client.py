"""A signed-in console session over real HTTP (cookies, CSRF) and the /copilot socket."""

from __future__ import annotations

import re
from typing import Any

import aiohttp
import socketio
from psycopg_pool import AsyncConnectionPool

from copilot.passwords import hash_password
from store import agents
from store.tenants import Tenant

PASSWORD = "correct horse battery"


async def make_agent(pool: AsyncConnectionPool, tenant: Tenant, email: str, role: str = "agent") -> int:
    async with pool.connection() as conn:
        a = await agents.create(conn, tenant.id, email=email, name=email.split("@")[0], role=role,
                                password_hash=hash_password(PASSWORD), skills=("billing",))
    return a.id


class ConsoleClient:
    def __init__(self, base: str) -> None:
        self.base = base
        self.http = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.csrf = ""

    async def login(self, email: str, password: str) -> int:
        async with self.http.get(f"{self.base}/console/login") as resp:
            page = await resp.text()
        token = re.search(r'name="csrf" value="([^"]+)"', page)
        assert token, page
        async with self.http.post(f"{self.base}/console/login", allow_redirects=False,
                                  data={"email": email, "password": password, "csrf": token.group(1)}) as resp:
            status = resp.status
        if status == 303:
            me = await self.get("/console/api/me")
            self.csrf = me["csrf"]
        return status

    async def get(self, path: str, expect: int = 200) -> Any:
        async with self.http.get(f"{self.base}{path}") as resp:
            assert resp.status == expect, (resp.status, await resp.text())
            return await resp.json()

    async def post(self, path: str, body: dict[str, Any] | None = None, expect: int = 200, csrf: bool = True) -> Any:
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        async with self.http.post(f"{self.base}{path}", json=body or {}, headers=headers) as resp:
            assert resp.status == expect, (resp.status, await resp.text())
            return await resp.json()

    async def send(self, method: str, path: str, body: Any = None, expect: int = 200, csrf: bool = True) -> Any:
        """Any verb with a JSON body (the admin API uses PATCH and PUT)."""
        headers = {"X-CSRF-Token": self.csrf} if csrf else {}
        async with self.http.request(method, f"{self.base}{path}", json=body, headers=headers) as resp:
            assert resp.status == expect, (resp.status, await resp.text())
            return await resp.json()

    def cookie_header(self) -> str:
        return "; ".join(f"{c.key}={c.value}" for c in self.http.cookie_jar)

    async def socket(self) -> socketio.AsyncClient:
        sio = socketio.AsyncClient(reconnection=False)
        await sio.connect(self.base, namespaces=["/copilot"], headers={"Cookie": self.cookie_header(),
                                                                        "Origin": self.base},
                          transports=["websocket"], wait_timeout=10)
        return sio

    async def close(self) -> None:
        await self.http.close()
