"""Tokens and identities: API keys (stored hashed), EdDSA JWTs, the verified Principal, access checks.

Tokens are signed with an Ed25519 private key named by the header's ``kid``; anyone holding the
public keys (published as a JSON Web Key Set) verifies them, so hosted services, runners and other
API replicas need no secret to check a token.

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
from typing import Any, Protocol, get_args

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from fastapi import Request

from flow_local._generated.models import JsonWebKey
from flow_local._generated.routers.types import TokenScope
from flow_local.errors import ApiError, forbidden, unauthorized


def _document_value(field: str) -> str:
    """The one value the document allows for a field of ``JsonWebKey``."""
    (value,) = get_args(JsonWebKey.model_fields[field].annotation)
    return str(value)


ALGORITHM = _document_value("alg")
MAX_TOKEN_SECONDS = 30 * 24 * 3600
"""The longest lifetime of a token; a retired key verifies for this long after its retirement."""
USER_SCOPES: list[str] = list(get_args(TokenScope))
RUNTIME_SCOPES = ["read", "write"]
API_KEY_PREFIX = "fl_"
VERIFIED_CACHE_SIZE = 4096
GRANT_CACHE_SIZE = 4096


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


class KeySource(Protocol):
    """Where a verifier finds the public key named by a token's ``kid``."""

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The public key ``kid``, or None when unknown or retired."""
        ...


class SigningKeys(KeySource, Protocol):
    """A key source that also holds the current private key (only the platform has one)."""

    def current(self) -> tuple[str, Ed25519PrivateKey]:
        """The ``kid`` and private key new tokens are signed with."""
        ...

    def jwks(self) -> dict[str, Any]:
        """The JSON Web Key Set of every public key that still verifies tokens."""
        ...


def public_jwk(kid: str, key: Ed25519PublicKey) -> dict[str, str]:
    """One public key as a JSON Web Key (``OKP``/``Ed25519``, for ``EdDSA`` signatures)."""
    from jwt.algorithms import OKPAlgorithm  # loaded on first use, not on the platform's start

    jwk: dict[str, str] = OKPAlgorithm.to_jwk(key, as_dict=True)
    return {**jwk, "kid": kid, "alg": ALGORITHM, "use": _document_value("use")}


def jwks_public_keys(document: dict[str, Any]) -> dict[str, Ed25519PublicKey]:
    """The Ed25519 signing keys of a JSON Web Key Set, by ``kid`` (other keys are skipped)."""
    from jwt.algorithms import OKPAlgorithm  # loaded on first use, not on the platform's start

    found: dict[str, Ed25519PublicKey] = {}
    for jwk in document.get("keys") or []:
        if jwk.get("kty") != _document_value("kty") or jwk.get("crv") != _document_value("crv"):
            continue
        if not jwk.get("kid"):
            continue
        key = OKPAlgorithm.from_jwk(jwk)
        if isinstance(key, Ed25519PublicKey):
            found[str(jwk["kid"])] = key
    return found


class SingleKey:
    """One Ed25519 key held in memory: a copy of the platform's signing key, or a new one.

    Args:
        kid: The key's id (a new one when omitted).
        private: The private key (a new one when omitted).
    """

    def __init__(self, kid: str | None = None, private: Ed25519PrivateKey | None = None) -> None:
        self.kid = kid or uuid.uuid4().hex
        self._private = private or Ed25519PrivateKey.generate()

    def current(self) -> tuple[str, Ed25519PrivateKey]:
        """This key."""
        return self.kid, self._private

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The public half, when ``kid`` names this key."""
        return self._private.public_key() if kid == self.kid else None

    def jwks(self) -> dict[str, Any]:
        """A key set of this one key."""
        return {"keys": [public_jwk(self.kid, self._private.public_key())]}


class JwksKeys:
    """Public keys read from the platform's JSON Web Key Set: all a hosted service or runner needs.

    Args:
        url: Where the key set is published (``GET /api/v1/auth/jwks``); fetched again, at most once
            every ``refetch_seconds``, when a token names a key it does not hold (after a rotation).
        document: A key set already at hand (no fetching unless ``url`` is given too).
        refetch_seconds: Least time between two fetches.
    """

    def __init__(
        self, url: str | None = None, document: dict[str, Any] | None = None, refetch_seconds: float = 5.0
    ) -> None:
        self.url = url
        self.refetch_seconds = refetch_seconds
        self._keys = jwks_public_keys(document or {"keys": []})
        self._fetched_at = -float("inf")
        self._lock = threading.Lock()
        if url is not None and document is None:
            self._fetch()

    def _fetch(self) -> None:
        assert self.url is not None
        import httpx  # only a remote key set needs it

        answer = httpx.get(self.url, timeout=10.0)
        answer.raise_for_status()
        self._keys = jwks_public_keys(answer.json())
        self._fetched_at = time.monotonic()

    def public_key(self, kid: str) -> Ed25519PublicKey | None:
        """The key ``kid``, fetching the key set again when it is unknown (not more often than allowed)."""
        key = self._keys.get(kid)
        if key is not None or self.url is None:
            return key
        with self._lock:
            if time.monotonic() - self._fetched_at >= self.refetch_seconds:
                import httpx  # only a remote key set needs it

                try:
                    self._fetch()
                except httpx.HTTPError:
                    return None
        return self._keys.get(kid)


class TokenVerifier:
    """Verifies the platform's EdDSA JWTs with public keys only."""

    def __init__(self, keys: KeySource) -> None:
        self._public_keys = keys
        self._verified: dict[tuple[str, str | None], Principal] = {}
        self._lock = threading.Lock()
        self.execution_ended: Callable[[str], bool] = lambda _execution_id: False
        """Whether an execution has ended; the execution engine installs it when it starts."""
        self.grants = GrantCache()
        """The organizations and workspaces each token was found to reach (see :class:`GrantCache`)."""

    def check_live(self, principal: Principal) -> Principal:
        """401 when ``principal`` belongs to an execution that has ended (its tokens end with it)."""
        execution_id = principal.execution_id
        if execution_id is not None and self.execution_ended(execution_id):
            raise unauthorized(f"the bearer token belonged to execution '{execution_id}', which has ended")
        return principal

    def decode(self, token: str, audience: str | None = None) -> dict[str, Any]:
        """Verify signature, algorithm, key, expiry and required claims; raise a 401 ApiError otherwise.

        Tokens carrying an ``aud`` claim are accepted only when ``audience`` matches it.
        """
        import jwt  # PyJWT loads with the first token, not on the platform's way to its first answer

        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as exc:
            raise unauthorized("the bearer token is malformed") from exc
        if header.get("alg") != ALGORITHM:
            raise unauthorized(f"the bearer token must be signed with {ALGORITHM}")
        kid = header.get("kid")
        key = self._public_keys.public_key(kid) if isinstance(kid, str) else None
        if key is None:
            raise unauthorized("the bearer token is signed with a key this platform does not know")
        try:
            return jwt.decode(
                token,
                key,
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
        string cannot verify differently later (a retired key keeps verifying until every token it
        signed has expired, tokens are not revocable), so a hit skips the signature check. An
        expired entry is dropped and checked again, which raises the usual 401. Failures are never
        remembered. The Principal is shared: treat it read-only.
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


class TokenSigner(TokenVerifier):
    """Mints the platform's EdDSA JWTs (header ``kid`` names the key) and verifies them."""

    def __init__(self, keys: SigningKeys) -> None:
        super().__init__(keys)
        self.keys = keys

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
        """Sign a token with the common claims plus ``extra`` (e.g. ``aud``, ``claims``, ``execution_id``).

        Raises:
            ValueError: ``ttl_seconds`` is beyond :data:`MAX_TOKEN_SECONDS` (a retired key would stop
                verifying the token before it expires).
        """
        if ttl_seconds > MAX_TOKEN_SECONDS:
            raise ValueError(f"a token lives at most {MAX_TOKEN_SECONDS} s, not {ttl_seconds}")
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
        kid, key = self.keys.current()
        import jwt  # PyJWT loads with the first token, not on the platform's way to its first answer

        return jwt.encode(payload, key, algorithm=ALGORITHM, headers={"kid": kid})

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


class GrantCache:
    """Remembers which organization or workspace a token passed the tenancy check for, until the token
    expires, so a repeated request skips the check's database read.

    Safe because both halves of the check are fixed for a given token: its org and workspace claims are
    signed, and organizations and workspaces are never deleted. Only passes are remembered; a refusal
    is checked again every time. Whether the token itself is still good (expiry, an ended execution) is
    checked on every request before this cache is asked. Bounded: the oldest entry goes when full.
    """

    def __init__(self, size: int = GRANT_CACHE_SIZE) -> None:
        self.size = size
        self._expiry: dict[tuple[str, str, str | None], int] = {}
        self._lock = threading.Lock()

    def granted(self, principal: Principal, org_id: str, workspace_id: str | None = None) -> bool:
        """Whether ``principal``'s token passed the check for ``org_id`` (and ``workspace_id``) and is unexpired."""
        expires_at = self._expiry.get((principal.token, org_id, workspace_id))
        return expires_at is not None and time.time() < expires_at

    def grant(self, principal: Principal, org_id: str, workspace_id: str | None = None) -> None:
        """Remember that ``principal``'s token passed the check, until the token expires."""
        with self._lock:
            if len(self._expiry) >= self.size:
                self._expiry.pop(next(iter(self._expiry)), None)
            self._expiry[(principal.token, org_id, workspace_id)] = principal.expires_at


def minted_ttl(principal: Principal, ttl_seconds: int) -> int:
    """The lifetime of a token a caller mints: never past the caller's own token for runtime callers."""
    if principal.token_type == "user":
        return ttl_seconds
    return max(1, min(ttl_seconds, principal.expires_at - int(time.time())))


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
    state: dict[str, Any] = request.scope.setdefault("state", {})  # what ``request.state`` reads
    cached: Principal | None = state.get("principal")  # (a missing attribute of it raises, which costs)
    if cached is not None:
        return cached
    token = bearer_token(request)
    if token is None:
        raise unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    signer: TokenSigner = request.app.state.platform.tokens
    principal = signer.check_live(signer.verify(token))
    state["principal"] = principal
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
