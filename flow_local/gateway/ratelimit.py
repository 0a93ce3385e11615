"""Fixed-window rate limits per key (an API key, or a token subject)."""

from __future__ import annotations

import math
import threading
import time

from flow_local.errors import ApiError


class RateLimiter:
    """Allow ``limit`` requests per ``window`` seconds per key; answer 429 with Retry-After beyond."""

    def __init__(self, limit: int, window: float) -> None:
        self.limit = limit
        self.window = window
        self._counts: dict[str, tuple[float, int]] = {}
        self._lock = threading.Lock()

    def check(self, key: str) -> None:
        """Count one request for ``key``; raise a 429 ApiError when over the limit."""
        now = time.monotonic()
        with self._lock:
            start, count = self._counts.get(key, (now, 0))
            if now - start >= self.window:
                start, count = now, 0
            if count >= self.limit:
                retry = max(1, math.ceil(start + self.window - now))
                raise ApiError(
                    429,
                    "rate_limited",
                    f"rate limit of {self.limit} requests per {self.window:g}s reached; retry later",
                    headers={"Retry-After": str(retry)},
                )
            self._counts[key] = (start, count + 1)
