"""Servers both end-to-end invariant suites need: a private Dovecot with a fresh mailbox user."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.servers.dovecot import Dovecot


@pytest.fixture
def imap() -> Iterator[Dovecot]:
    server = Dovecot()
    server.start()
    try:
        yield server.with_new_user()
    finally:
        server.cleanup()
