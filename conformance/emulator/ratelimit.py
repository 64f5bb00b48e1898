"""Data Center's per-user rate limiting (token bucket and ``X-RateLimit-*`` headers), used by
the request gates in :mod:`.app`."""

from __future__ import annotations

import threading
import time


class RateLimiter:
    """Data Center's per-user token bucket (capacity, tokens per second)."""

    def __init__(self, capacity: int, fill_rate: float) -> None:
        self.capacity = capacity
        self.fill_rate = fill_rate
        self._lock = threading.Lock()
        self._buckets: dict[str, tuple[float, float]] = {}

    def take(self, user: str) -> tuple[bool, int, int]:
        """(allowed, remaining, retry_after_seconds)."""
        t = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(user, (float(self.capacity), t))
            tokens = min(float(self.capacity), tokens + (t - last) * self.fill_rate)
            if tokens >= 1:
                tokens -= 1
                self._buckets[user] = (tokens, t)
                return True, int(tokens), 0
            self._buckets[user] = (tokens, t)
            wait = max(1, int((1 - tokens) / self.fill_rate + 0.999))
            return False, 0, wait

    def headers(self, remaining: int, retry_after: int) -> dict[str, str]:
        fill = self.fill_rate
        return {
            "X-RateLimit-Limit": str(self.capacity),
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Interval-Seconds": "1",
            "X-RateLimit-FillRate": str(int(fill)) if float(fill).is_integer() else str(fill),
            "Retry-After": str(retry_after),
        }


__all__ = ["RateLimiter"]
