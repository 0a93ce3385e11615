"""Rate limits kept in the platform's database, so that API replicas sharing it enforce one limit.

Two kinds: :class:`RateLimiter` allows a number of requests per fixed window and key (the gateway),
:class:`AttemptLimiter` allows a number of failed attempts per sliding window and caller (wrong CLI
login codes). Both count with wall-clock time, which every replica shares, and write their counts in
one transaction each, which the database serialises across processes.
"""

from __future__ import annotations

import math
import time

from flow_local.db import Database
from flow_local.errors import ApiError

SCHEMA = [
    "CREATE TABLE rate_windows (limiter TEXT NOT NULL, caller TEXT NOT NULL, window_start REAL NOT NULL,"
    " count INTEGER NOT NULL, PRIMARY KEY (limiter, caller))",
    "CREATE TABLE rate_failures (limiter TEXT NOT NULL, caller TEXT NOT NULL, at REAL NOT NULL)",
    "CREATE INDEX rate_failures_caller ON rate_failures (limiter, caller, at)",
]


def _too_many(detail: str, retry_after: int) -> ApiError:
    return ApiError(429, "rate_limited", detail, headers={"Retry-After": str(retry_after)})


class RateLimiter:
    """Allow ``limit`` requests per ``window`` seconds per key; answer 429 with Retry-After beyond.

    Args:
        db: The database the counts live in.
        name: The limit's name (limits share one table).
        limit: Requests allowed per window.
        window: Length of the window in seconds.
    """

    def __init__(self, db: Database, name: str, limit: int, window: float) -> None:
        db.migrate("rate_limits", SCHEMA)
        self.db = db
        self.name = name
        self.limit = limit
        self.window = window

    def check(self, key: str) -> None:
        """Count one request for ``key``; raise a 429 ApiError when over the limit."""
        now = time.time()
        with self.db.transaction() as conn:
            row = conn.execute(
                "SELECT window_start, count FROM rate_windows WHERE limiter = ? AND caller = ?",
                (self.name, key),
            ).fetchone()
            start, count = (float(row[0]), int(row[1])) if row is not None else (now, 0)
            if now - start >= self.window:
                start, count = now, 0
            if count >= self.limit:
                retry = max(1, math.ceil(start + self.window - now))
                raise _too_many(
                    f"rate limit of {self.limit} requests per {self.window:g}s reached; retry later", retry
                )
            conn.execute(
                "INSERT OR REPLACE INTO rate_windows (limiter, caller, window_start, count) VALUES (?, ?, ?, ?)",
                (self.name, key, start, count + 1),
            )


class AttemptLimiter:
    """Counts failed attempts per caller in a sliding window; refuses with 429 once there are too many.

    Args:
        db: The database the failures are recorded in.
        name: The limit's name.
        limit: Failed attempts allowed per window.
        window_seconds: Length of the window.
    """

    def __init__(self, db: Database, name: str, limit: int, window_seconds: float) -> None:
        db.migrate("rate_limits", SCHEMA)
        self.db = db
        self.name = name
        self.limit = limit
        self.window_seconds = window_seconds

    def check(self, caller: str, what: str) -> None:
        """429 when ``caller`` has used up its failed attempts at ``what``."""
        now = time.time()
        row = self.db.query_one(
            "SELECT COUNT(*), MIN(at) FROM rate_failures WHERE limiter = ? AND caller = ? AND at > ?",
            (self.name, caller, now - self.window_seconds),
        )
        recent = int(row[0]) if row is not None else 0
        if recent >= self.limit and row is not None:
            retry_after = int(self.window_seconds - (now - float(row[1]))) + 1
            raise _too_many(
                f"too many failed {what}: {recent} in {self.window_seconds:g} s; retry in {retry_after} s",
                retry_after,
            )

    def failed(self, caller: str) -> None:
        """Record one failed attempt of ``caller`` (and forget its attempts older than the window).

        Call it outside a transaction that is about to be rolled back, or the record goes with it.
        """
        now = time.time()
        with self.db.transaction() as conn:
            conn.execute(
                "DELETE FROM rate_failures WHERE limiter = ? AND caller = ? AND at <= ?",
                (self.name, caller, now - self.window_seconds),
            )
            conn.execute(
                "INSERT INTO rate_failures (limiter, caller, at) VALUES (?, ?, ?)", (self.name, caller, now)
            )
