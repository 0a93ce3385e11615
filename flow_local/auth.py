"""Tokens and identities: API keys (stored hashed), HS256 JWTs, the verified Principal, access checks.

Token types (claim ``token_type``): ``user`` (from an API key or a CLI login), ``execution`` (given to
code running an execution), ``service`` (given to a hosted service), ``service_token`` (minted for
calling a hosted service; ``aud`` is ``service:<service_id>``, custom claims under ``claims``).
"""

from __future__ import annotations

import hashlib
import secrets
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, get_args

from fastapi import Request
from flow_server_routers.types import TokenScope

from flow_local.errors import ApiError, forbidden, unauthorized

ALGORITHM = "HS256"
USER_SCOPES: list[str] = list(get_args(TokenScope))
RUNTIME_SCOPES = ["read", "write"]
API_KEY_PREFIX = "fl_"
VERIFIED_CACHE_SIZE = 4096


def generate_api_key() -> str:
    """A new secret API key, ``fl_`` followed by 43 url-safe characters."""
    return API_KEY_PREFIX + secrets.token_urlsafe(32)


def hash_api_key(key: str) -> str:
    """The SHA-256 hex digest under which a key is stored."""
    return hashlib.sha256(key.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    """The verified identity behind a request's bearer token."""

    subject: str
    org_id: str
    workspace_id: str | None
    scopes: list[str]
    token_type: str
    expires_at: int
    jti: str
    token: str = field(repr=False, default="")
    claims: dict[str, Any] = field(default_factory=dict)
    raw: dict[str, Any] = field(default_factory=dict, repr=False)

    @property
    def execution_id(self) -> str | None:
        """The execution an execution token was minted for."""
        value = self.raw.get("execution_id")
        return str(value) if value else None

    @property
    def service_id(self) -> str | None:
        """The hosted service a service token belongs to (or, for a service_token, targets)."""
        value = self.raw.get("service_id")
        if value:
            return str(value)
        aud = self.raw.get("aud")
        if isinstance(aud, str) and aud.startswith("service:"):
            return aud.removeprefix("service:")
        return None


class TokenSigner:
    """Mints and verifies the platform's HS256 JWTs."""

    def __init__(self, key: bytes) -> None:
        if len(key) < 16:
            raise ValueError("the signing key must be at least 16 bytes")
        self._key = key
        self._verified: dict[tuple[str, str | None], Principal] = {}
        self._lock = threading.Lock()
        self.execution_ended: Callable[[str], bool] = lambda _execution_id: False
        """Whether an execution has ended; the execution engine installs it when it starts."""

    def check_live(self, principal: Principal) -> Principal:
        """401 when ``principal`` belongs to an execution that has ended (its tokens end with it)."""
        execution_id = principal.execution_id
        if execution_id is not None and self.execution_ended(execution_id):
            raise unauthorized(f"the bearer token belonged to execution '{execution_id}', which has ended")
        return principal

    def mint(
        self,
        *,
        subject: str,
        org_id: str,
        workspace_id: str | None = None,
        token_type: str = "user",
        scopes: list[str] | None = None,
        ttl_seconds: int = 3600,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Sign a token with the common claims plus ``extra`` (e.g. ``aud``, ``claims``, ``execution_id``)."""
        now = int(time.time())
        payload: dict[str, Any] = {
            "sub": subject,
            "org_id": org_id,
            "scopes": list(scopes if scopes is not None else USER_SCOPES),
            "token_type": token_type,
            "iat": now,
            "exp": now + int(ttl_seconds),
            "jti": uuid.uuid4().hex,
        }
        if workspace_id:
            payload["workspace_id"] = workspace_id
        payload.update(extra or {})
        import jwt  # PyJWT and cryptography load on the first token, not on the platform's start

        return jwt.encode(payload, self._key, algorithm=ALGORITHM)

    def decode(self, token: str, audience: str | None = None) -> dict[str, Any]:
        """Verify signature, algorithm, expiry and required claims; raise a 401 ApiError otherwise.

        Tokens carrying an ``aud`` claim are accepted only when ``audience`` matches it.
        """
        import jwt  # PyJWT and cryptography load on the first token, not on the platform's start

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise unauthorized("the bearer token is malformed") from exc
        if header.get("alg") != ALGORITHM:
            raise unauthorized(f"the bearer token must be signed with {ALGORITHM}")
        try:
            return jwt.decode(
                token,
                self._key,
                algorithms=[ALGORITHM],
                audience=audience,
                options={"require": ["exp", "iat", "sub", "org_id", "token_type", "jti"]},
            )
        except jwt.ExpiredSignatureError as exc:
            raise unauthorized("the bearer token has expired") from exc
        except jwt.InvalidAudienceError as exc:
            raise unauthorized("the bearer token is not meant for this endpoint") from exc
        except jwt.PyJWTError as exc:
            raise unauthorized(f"the bearer token is invalid: {exc}") from exc

    def verify(self, token: str, audience: str | None = None) -> Principal:
        """A Principal from a verified token.

        A token that verified once is remembered (with its audience) until it expires: the same
        string cannot verify differently later (the key is fixed, tokens are not revocable), so a
        hit skips the signature check. An expired entry is dropped and checked again, which raises
        the usual 401. Failures are never remembered. The Principal is shared: treat it read-only.
        """
        cache_key = (token, audience)
        cached = self._verified.get(cache_key)
        if cached is not None:
            if time.time() < cached.expires_at:
                return cached
            with self._lock:
                self._verified.pop(cache_key, None)
        principal = self._principal(token, self.decode(token, audience))
        self._remember(cache_key, principal)
        return principal

    def _remember(self, cache_key: tuple[str, str | None], principal: Principal) -> None:
        """Keep a verified Principal, dropping the oldest entry when the cache is full."""
        with self._lock:
            if len(self._verified) >= VERIFIED_CACHE_SIZE:
                self._verified.pop(next(iter(self._verified)), None)
            self._verified[cache_key] = principal

    @staticmethod
    def _principal(token: str, claims: dict[str, Any]) -> Principal:
        """The Principal carried by verified ``claims``."""
        return Principal(
            subject=str(claims["sub"]),
            org_id=str(claims["org_id"]),
            workspace_id=str(claims["workspace_id"]) if claims.get("workspace_id") else None,
            scopes=[str(s) for s in claims.get("scopes", [])],
            token_type=str(claims["token_type"]),
            expires_at=int(claims["exp"]),
            jti=str(claims["jti"]),
            token=token,
            claims=dict(claims.get("claims") or {}),
            raw=claims,
        )

    def mint_user_token(
        self, subject: str, org_id: str, workspace_id: str | None = None, ttl_seconds: int = 3600
    ) -> str:
        """A user token (management access to the org, or to one workspace)."""
        return self.mint(subject=subject, org_id=org_id, workspace_id=workspace_id, ttl_seconds=ttl_seconds)

    def mint_execution_token(
        self,
        *,
        org_id: str,
        workspace_id: str,
        execution_id: str,
        subject: str | None = None,
        ttl_seconds: int = 3600,
    ) -> str:
        """The token handed to code running an execution (AUTH_TOKEN of the runner)."""
        return self.mint(
            subject=subject or f"execution:{execution_id}",
            org_id=org_id,
            workspace_id=workspace_id,
            token_type="execution",
            scopes=RUNTIME_SCOPES,
            ttl_seconds=ttl_seconds,
            extra={"execution_id": execution_id},
        )

    def mint_service_runtime_token(
        self, *, org_id: str, workspace_id: str, service_id: str, ttl_seconds: int = 86400
    ) -> str:
        """The token a hosted service runs with (token_type ``service``)."""
        return self.mint(
            subject=f"service:{service_id}",
            org_id=org_id,
            workspace_id=workspace_id,
            token_type="service",
            scopes=RUNTIME_SCOPES,
            ttl_seconds=ttl_seconds,
            extra={"service_id": service_id},
        )

    def mint_service_token(
        self,
        *,
        org_id: str,
        workspace_id: str | None,
        service_id: str,
        subject: str,
        claims: dict[str, Any],
        ttl_seconds: int = 3600,
        scopes: list[str] | None = None,
        execution_id: str | None = None,
    ) -> str:
        """An HSL service token: audience ``service:<service_id>``, custom ``claims``.

        With ``execution_id`` (minted by code running an execution) it ends with that execution.
        """
        extra: dict[str, Any] = {"aud": f"service:{service_id}", "claims": dict(claims)}
        if execution_id:
            extra["execution_id"] = execution_id
        return self.mint(
            subject=subject,
            org_id=org_id,
            workspace_id=workspace_id,
            token_type="service_token",
            scopes=scopes if scopes is not None else RUNTIME_SCOPES,
            ttl_seconds=ttl_seconds,
            extra=extra,
        )


def minted_ttl(principal: Principal, ttl_seconds: int) -> int:
    """The lifetime of a token a caller mints: never past the caller's own token for runtime callers."""
    if principal.token_type == "user":
        return ttl_seconds
    return max(1, min(ttl_seconds, principal.expires_at - int(time.time())))


class AttemptLimiter:
    """Counts failed attempts per caller in a sliding window; refuses with 429 once there are too many.

    Attributes:
        limit: Failed attempts allowed per window.
        window_seconds: Length of the window.
    """

    def __init__(self, limit: int, window_seconds: float) -> None:
        self.limit = limit
        self.window_seconds = window_seconds
        self._failures: dict[str, list[float]] = {}
        self._lock = threading.Lock()

    def check(self, caller: str, what: str) -> None:
        """429 when ``caller`` has used up its failed attempts at ``what``."""
        now = time.monotonic()
        with self._lock:
            recent = [t for t in self._failures.get(caller, []) if now - t < self.window_seconds]
            self._failures[caller] = recent
            if len(recent) >= self.limit:
                retry_after = int(self.window_seconds - (now - recent[0])) + 1
                raise ApiError(
                    429,
                    "rate_limited",
                    f"too many failed {what}: {len(recent)} in {self.window_seconds:g} s; retry in {retry_after} s",
                    headers={"Retry-After": str(retry_after)},
                )

    def failed(self, caller: str) -> None:
        """Record one failed attempt of ``caller``."""
        with self._lock:
            self._failures.setdefault(caller, []).append(time.monotonic())


def bearer_token(request: Request) -> str | None:
    """The bearer token of a request, or None."""
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


async def get_principal(request: Request) -> Principal:
    """FastAPI dependency: the verified Principal of the request (401 when missing or invalid).

    A coroutine on purpose: verification is CPU-only (HMAC, cached per token), so it runs on the
    event loop instead of costing a thread-pool hop per request as a sync dependency would.
    """
    return principal_of(request)


def principal_of(request: Request) -> Principal:
    """The verified Principal of the request (401 when missing or invalid), for direct calls."""
    cached = getattr(request.state, "principal", None)
    if cached is not None:
        return cached  # type: ignore[no-any-return]
    token = bearer_token(request)
    if token is None:
        raise unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    signer: TokenSigner = request.app.state.platform.tokens
    principal = signer.check_live(signer.verify(token))
    request.state.principal = principal
    return principal


def require_org(principal: Principal, org_id: str) -> None:
    """403 unless the token belongs to ``org_id``."""
    if principal.org_id != org_id:
        raise forbidden(f"this token does not give access to organization '{org_id}'")


def require_workspace(principal: Principal, org_id: str, workspace_id: str) -> None:
    """403 unless the token belongs to ``org_id`` and (when workspace-bound) to ``workspace_id``."""
    require_org(principal, org_id)
    if principal.workspace_id is not None and principal.workspace_id != workspace_id:
        raise forbidden(f"this token does not give access to workspace '{workspace_id}'")


def storage_scope(principal: Principal) -> str:
    """The storage key prefix a token may use: all of its org's keys, or ``workspaces/<id>/`` when bound.

    Org-level areas follow the workspace binding: a workspace-bound token (a workspace API key, an
    execution's or a hosted service's token) reaches only what belongs to its workspace there too.
    """
    return "" if principal.workspace_id is None else f"workspaces/{principal.workspace_id}/"


def require_storage_key(principal: Principal, key: str) -> None:
    """403 unless ``key`` lies in the token's storage scope."""
    scope = storage_scope(principal)
    if not key.startswith(scope):
        raise forbidden(
            f"a token bound to workspace '{principal.workspace_id}' may only use storage keys under '{scope}'"
        )


def storage_listing_prefix(principal: Principal, prefix: str) -> str:
    """The prefix to list for a token: ``prefix`` narrowed to the token's storage scope (403 when outside it)."""
    scope = storage_scope(principal)
    if prefix.startswith(scope):
        return prefix
    if scope.startswith(prefix):
        return scope
    require_storage_key(principal, prefix)
    return prefix


def require_user(principal: Principal, action: str) -> None:
    """403 for runtime tokens (execution, service): ``action`` is a management operation."""
    if principal.token_type != "user":
        raise ApiError(
            403,
            "forbidden",
            f"{action} needs a user token; {principal.token_type} tokens are read-only here",
        )
