"""Token buckets keyed by connection or address: every rate has a limit."""

from __future__ import annotations

import time
from collections import OrderedDict


class TokenBuckets:
    """``rate`` tokens per second up to ``burst``; least-recently-used keys are forgotten past ``max_keys``."""

    def __init__(self, rate: float, burst: float, *, max_keys: int = 100_000) -> None:
        self.rate = rate
        self.burst = burst
        self.max_keys = max_keys
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def allow(self, key: str, cost: float = 1.0, *, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.pop(key, (self.burst, now))
        tokens = min(self.burst, tokens + (now - last) * self.rate)
        allowed = tokens >= cost
        if allowed:
            tokens -= cost
        self._buckets[key] = (tokens, now)
        while len(self._buckets) > self.max_keys:
            self._buckets.popitem(last=False)
        return allowed

    def retry_after(self, key: str, cost: float = 1.0) -> float:
        tokens, _ = self._buckets.get(key, (self.burst, 0.0))
        return max(0.0, (cost - tokens) / self.rate)
