"""Who may read /metrics: a bearer token when one is set, otherwise loopback clients only."""

from __future__ import annotations

from unittest import mock

import pytest
from aiohttp import web
from aiohttp.test_utils import make_mocked_request

from gateway.metrics_endpoint import allowed

TOKEN = "scrape-token-0123456789abcdef"


def request(remote: str, authorization: str | None = None) -> web.Request:
    headers = {"Authorization": authorization} if authorization else {}
    transport = mock.Mock()
    transport.get_extra_info.side_effect = lambda name, default=None: (remote, 1234) if name == "peername" else default
    return make_mocked_request("GET", "/metrics", headers=headers, transport=transport)


@pytest.mark.parametrize("remote", ["127.0.0.1", "::1"])
def test_without_a_token_loopback_is_served(remote: str) -> None:
    allowed(request(remote), None)


def test_without_a_token_other_hosts_are_forbidden() -> None:
    with pytest.raises(web.HTTPForbidden):
        allowed(request("10.1.2.3"), None)


@pytest.mark.parametrize("header", [None, "Bearer wrong-token-000000000000", f"Basic {TOKEN}", TOKEN])
def test_with_a_token_anything_else_is_unauthorized_even_from_loopback(header: str | None) -> None:
    with pytest.raises(web.HTTPUnauthorized):
        allowed(request("127.0.0.1", header), TOKEN)


def test_with_a_token_the_bearer_is_served_from_anywhere() -> None:
    allowed(request("10.1.2.3", f"Bearer {TOKEN}"), TOKEN)
