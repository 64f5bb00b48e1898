"""Mirror of Jira Data Center's per-user token bucket, so the suite spends tokens as Jira refills
them instead of learning about the limit from 429 answers.

Data Center sends ``X-RateLimit-Limit`` (bucket size), ``X-RateLimit-Remaining``,
``X-RateLimit-FillRate`` (tokens per interval) and ``X-RateLimit-Interval-Seconds`` on every
limited answer, and 429 with ``Retry-After`` when the bucket is empty. Header values come from
whatever answers at the URL, so they are parsed with strict ASCII patterns and bounds: a value
such as ``²`` (which ``str.isdigit()`` accepts) or 5,000 digits is simply ignored.
"""

from __future__ import annotations

import email.utils
import math
import re
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TypedDict

RETRY_AFTER_CAP_S = 30.0
RETRY_AFTER_FLOOR_S = 1.0
MAX_HEADER_NUMBER = 10**9
# Tokens kept in hand: our estimate lags the server's by one round trip.
SAFETY_TOKENS = 1.0

_INT = re.compile(r"[ \t]*([0-9]{1,10})[ \t]*")
_NUMBER = re.compile(r"[ \t]*([0-9]{1,10}(?:\.[0-9]{1,6})?)[ \t]*")
_HTTP_DATE_MAX_CHARS = 64


def header_int(value: str | None) -> int | None:
    """A non-negative ASCII integer header value within bounds, else None."""
    match = _INT.fullmatch(value or "")
    if match is None:
        return None
    number = int(match.group(1))
    return number if number <= MAX_HEADER_NUMBER else None


def header_number(value: str | None) -> float | None:
    """A non-negative ASCII decimal header value within bounds, else None."""
    match = _NUMBER.fullmatch(value or "")
    if match is None:
        return None
    number = float(match.group(1))
    return number if number <= MAX_HEADER_NUMBER else None


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Retry-After in seconds as Jira stated it (delta-seconds or an HTTP date), None if absent
    or unreadable. Not clamped: the caller decides what a long wait means."""
    if value is None:
        return None
    seconds = header_number(value)
    if seconds is not None:
        return seconds
    text = value.strip()
    if not text or len(text) > _HTTP_DATE_MAX_CHARS or not text.isascii():
        return None
    try:
        when = email.utils.parsedate_to_datetime(text)
        delta = when.timestamp() - (time.time() if now is None else now)
    except (TypeError, ValueError, IndexError, OverflowError):
        return None
    return max(0.0, delta) if math.isfinite(delta) else None


def clamp_retry_after(seconds: float | None) -> float:
    """The wait the suite actually makes: at least 1 s (Jira sends 0), at most the cap."""
    if seconds is None:
        return RETRY_AFTER_FLOOR_S
    return min(max(seconds, RETRY_AFTER_FLOOR_S), RETRY_AFTER_CAP_S)


class BucketJson(TypedDict):
    limit: int | None
    fill_rate: float | None
    interval_s: float | None
    lowest_remaining: int | None
    last_retry_after_s: float | None


@dataclass
class BucketSeen:
    """The bucket's numbers as Jira last stated them (None: never stated)."""

    limit: int | None = None
    fill_rate: float | None = None
    interval_s: float | None = None
    lowest_remaining: int | None = None
    last_retry_after_s: float | None = None

    def tokens_per_second(self) -> float | None:
        if not self.fill_rate or not self.interval_s:
            return None
        return self.fill_rate / self.interval_s

    def as_json(self) -> BucketJson:
        return {
            "limit": self.limit,
            "fill_rate": self.fill_rate,
            "interval_s": self.interval_s,
            "lowest_remaining": self.lowest_remaining,
            "last_retry_after_s": self.last_retry_after_s,
        }


@dataclass
class PacerStats:
    paced: int = 0  # requests that waited for a token
    paced_wait_s: float = 0.0
    retry_after_waits: int = 0  # waits ordered by a 429's Retry-After
    retry_after_wait_s: float = 0.0
    bucket: BucketSeen = field(default_factory=BucketSeen)


class Pacer:
    """Hands out send slots as the mirrored bucket allows.

    Until Jira has stated its bucket, requests are not paced. Afterwards the estimate is refilled
    at the stated rate, one token is spent per request, and a request waits while the estimate is
    below one token plus a safety margin. Each answer's ``X-RateLimit-Remaining``, less the
    requests still in flight, lowers the estimate when it is lower; a 429 empties it and holds
    every request back until its ``Retry-After`` has passed.
    """

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: float | None = None
        self._stamp = clock()
        self._not_before = 0.0
        self._outstanding = 0
        self.stats = PacerStats()

    def __getstate__(self) -> dict[str, object]:
        """Handed from a fetch process to the run's own (its lock stays behind)."""
        state = dict(self.__dict__)
        del state["_lock"]
        return state

    def __setstate__(self, state: dict[str, object]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    # -- sending --------------------------------------------------------------------------------

    def wait_needed(self) -> float:
        """Seconds until a token is free, or 0 after taking one (the caller then must send)."""
        with self._lock:
            now = self._clock()
            if now < self._not_before:
                return self._not_before - now
            rate = self.stats.bucket.tokens_per_second()
            if self._tokens is None or rate is None:
                self._outstanding += 1
                return 0.0
            self._refill(now, rate)
            need = 1.0 + self._safety()
            if self._tokens < need:
                return (need - self._tokens) / rate
            self._tokens -= 1.0
            self._outstanding += 1
            return 0.0

    def held_until(self) -> float:
        """The monotonic time before which Jira asked not to be sent anything."""
        return self._not_before

    def note_wait(self, seconds: float, *, retry_after: bool, first: bool) -> None:
        """Count a wait; ``first``: the first wait of this request (requests are counted once)."""
        with self._lock:
            if retry_after:
                self.stats.retry_after_waits += int(first)
                self.stats.retry_after_wait_s += seconds
            else:
                self.stats.paced += int(first)
                self.stats.paced_wait_s += seconds

    # -- answers --------------------------------------------------------------------------------

    def observe(self, headers: Mapping[str, str] | None, status: int | None) -> None:
        """Learn from one answer (None headers: the request got no answer)."""
        with self._lock:
            self._outstanding = max(0, self._outstanding - 1)
            if headers is None:
                return
            bucket = self.stats.bucket
            limit = header_int(headers.get("X-RateLimit-Limit"))
            fill = header_number(headers.get("X-RateLimit-FillRate"))
            interval = header_number(headers.get("X-RateLimit-Interval-Seconds"))
            remaining = header_int(headers.get("X-RateLimit-Remaining"))
            if limit is not None and limit > 0:
                bucket.limit = limit
            if fill is not None and fill > 0:
                bucket.fill_rate = fill
            if interval is not None and interval > 0:
                bucket.interval_s = interval
            elif fill is not None and bucket.interval_s is None:
                bucket.interval_s = 1.0
            now = self._clock()
            if remaining is not None:
                if bucket.lowest_remaining is None or remaining < bucket.lowest_remaining:
                    bucket.lowest_remaining = remaining
                # Answers arrive out of order: an older, higher Remaining must not raise the
                # estimate, so the lower of the two wins (the refill raises it again).
                stated = float(max(0, remaining - self._outstanding))
                rate = bucket.tokens_per_second()
                if self._tokens is not None and rate is not None:
                    self._refill(now, rate)
                    stated = min(stated, self._tokens)
                self._tokens = stated
                self._stamp = now
            if status == 429:
                self._tokens = 0.0
                self._stamp = now

    def hold(self, seconds: float) -> None:
        """A 429 said to wait: nothing is sent before ``seconds`` from now."""
        with self._lock:
            self.stats.bucket.last_retry_after_s = seconds
            self._not_before = max(self._not_before, self._clock() + seconds)

    def cancel(self) -> None:
        """A slot taken by ``wait_needed`` was not used after all."""
        with self._lock:
            self._outstanding = max(0, self._outstanding - 1)

    # -- internals ------------------------------------------------------------------------------

    def _refill(self, now: float, rate: float) -> None:
        assert self._tokens is not None
        capacity = float(self.stats.bucket.limit or math.inf)
        self._tokens = min(capacity, self._tokens + (now - self._stamp) * rate)
        self._stamp = now

    def _safety(self) -> float:
        limit = self.stats.bucket.limit
        return SAFETY_TOKENS if limit is None or limit >= 4 else 0.0
