"""Named crash points: ``os._exit`` at the exact moments exactly-once delivery must survive.

``SWITCHBOARD_CRASH_AT=<name>`` (or ``<name>:<n>`` for the n-th time this process gets there) makes
the process die on the spot, without unwinding, closing connections or flushing anything, the way a
power cut or ``kill -9`` would. Unset, ``reached`` only reads the environment and returns. It lives in
the store because every room may import the store; tests/invariants/test_exactly_once.py uses it.
"""

from __future__ import annotations

import os
import sys
from collections import Counter

AFTER_INBOUND_COMMIT = "after_inbound_commit"  # ingest committed; the channel has not acked yet
AFTER_OUTBOX_COMMIT = "after_outbox_commit"  # a delivery is claimed (committed); nothing sent yet
AFTER_SEND = "after_send"  # the channel took the message; the outbox row is not marked sent yet
BETWEEN_CHECKPOINT_AND_REPLY = "between_checkpoint_and_reply"  # agent run: graph checkpointed, reply unwritten
NAMES = frozenset({AFTER_INBOUND_COMMIT, AFTER_OUTBOX_COMMIT, AFTER_SEND, BETWEEN_CHECKPOINT_AND_REPLY})
EXIT_CODE = 97  # tells a test's supervisor "died at the crash point", not some other failure

_hits: Counter[str] = Counter()


def reached(name: str) -> None:
    """Dies with EXIT_CODE if the environment names this point (on its n-th hit); otherwise nothing."""
    wanted = os.environ.get("SWITCHBOARD_CRASH_AT")
    if not wanted:
        return
    point, _, nth = wanted.partition(":")
    if point != name:
        return
    _hits[name] += 1
    if _hits[name] >= max(1, int(nth or 1)):
        sys.stderr.write(f"crash point {name} reached (hit {_hits[name]}): exiting\n")
        sys.stderr.flush()
        os._exit(EXIT_CODE)
