"""The request context the platform hands a hosted-service process with every request it forwards.

The platform verifies the caller's bearer token, then signs what it learned (subject, scopes, token
type, custom claims, request and job ids) into the ``X-Flow-Context`` header with a key of its own
for that service version (``FLOW_SERVICE_CONTEXT_KEY``, never the platform's signing key). The runtime
wrapper inside the service process accepts a request only with a valid header, so a process reached
directly on its loopback port cannot be given a forged identity.
"""

from __future__ import annotations

import secrets
import time
from dataclasses import dataclass, field
from typing import Any

CONTEXT_HEADER = "x-flow-context"
JOB_HEADER = "x-flow-job-id"
FORWARDED_BY_HEADER = "x-flow-forwarded-by"
CONTEXT_KEY_ENV = "FLOW_SERVICE_CONTEXT_KEY"
CONTEXT_TTL_SECONDS = 120
_ALGORITHM = "HS256"


class ContextError(Exception):
    """The context header is missing, forged or expired."""


def new_context_key() -> str:
    """A fresh random key for one service version (hex)."""
    return secrets.token_hex(32)


@dataclass(frozen=True)
class CallerContext:
    """The verified caller of one forwarded request, as the service process sees it."""

    subject_id: str
    scopes: list[str]
    token_type: str
    custom_claims: dict[str, Any] = field(default_factory=dict)
    org_id: str = ""
    workspace_id: str | None = None
    request_id: str = ""
    job_id: str | None = None

    def to_claims(self) -> dict[str, Any]:
        """The JWT payload carrying this context."""
        now = int(time.time())
        return {
            "sub": self.subject_id,
            "scopes": list(self.scopes),
            "token_type": self.token_type,
            "claims": dict(self.custom_claims),
            "org_id": self.org_id,
            "workspace_id": self.workspace_id,
            "request_id": self.request_id,
            "job_id": self.job_id,
            "iat": now,
            "exp": now + CONTEXT_TTL_SECONDS,
        }

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> CallerContext:
        """Rebuild a context from a verified payload."""
        return cls(
            subject_id=str(claims["sub"]),
            scopes=[str(s) for s in claims.get("scopes") or []],
            token_type=str(claims.get("token_type") or ""),
            custom_claims=dict(claims.get("claims") or {}),
            org_id=str(claims.get("org_id") or ""),
            workspace_id=claims.get("workspace_id"),
            request_id=str(claims.get("request_id") or ""),
            job_id=claims.get("job_id"),
        )


def sign_context(context: CallerContext, key: str) -> str:
    """The ``X-Flow-Context`` value for ``context``, signed with the version's key."""
    import jwt  # loaded on first use, not on the platform's start

    return jwt.encode(context.to_claims(), key, algorithm=_ALGORITHM)


def verify_context(value: str | None, key: str) -> CallerContext:
    """Verify an ``X-Flow-Context`` value and return its context.

    Raises:
        ContextError: The header is missing, not signed with ``key``, or expired.
    """
    if not value:
        raise ContextError("missing X-Flow-Context header: call the service through the platform")
    import jwt  # loaded on first use, not on the platform's start

    try:
        claims = jwt.decode(value, key, algorithms=[_ALGORITHM], options={"require": ["exp", "sub"]})
    except jwt.PyJWTError as exc:
        raise ContextError(f"invalid X-Flow-Context header: {exc}") from exc
    return CallerContext.from_claims(claims)
