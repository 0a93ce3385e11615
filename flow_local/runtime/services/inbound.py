"""Who is calling a hosted service: the platform's check of the bearer token on the service proxy.

Accepted: user, execution and service (runtime) tokens of the service's org, and service tokens
whose audience is ``service:<target>``. A service token minted for service A reaches service B only
when A itself forwards it (``flow.services`` with ``reuse_service_token=True`` or
``auth="caller_service_token"``), which the platform knows from A's own runtime token in
``X-Flow-Forwarded-By``; sent directly to B, it is refused.
"""

from __future__ import annotations

from starlette.requests import Request

from flow_local.auth import Principal, TokenVerifier, bearer_token, require_org
from flow_local.errors import unauthorized
from flow_local.runtime.services.context import FORWARDED_BY_HEADER, CallerContext

SERVICE_AUDIENCE_PREFIX = "service:"


def _unverified_audience(token: str) -> str | None:
    import jwt  # loaded on first use, not on the platform's start

    try:
        claims = jwt.decode(token, options={"verify_signature": False})
    except jwt.PyJWTError as exc:
        raise unauthorized("the bearer token is malformed") from exc
    audience = claims.get("aud")
    if audience is None:
        return None
    if not isinstance(audience, str) or not audience.startswith(SERVICE_AUDIENCE_PREFIX):
        raise unauthorized("the bearer token's audience is not a hosted service")
    return audience


def _forwarder(request: Request, signer: TokenVerifier) -> Principal | None:
    value = request.headers.get(FORWARDED_BY_HEADER, "")
    scheme, _, token = value.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return signer.verify(token.strip())


def authenticate_caller(request: Request, signer: TokenVerifier, org_id: str, service_id: str) -> Principal:
    """The verified caller of ``service_id`` (401 when missing, invalid, expired or for another service)."""
    token = bearer_token(request)
    if token is None:
        raise unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
    audience = _unverified_audience(token)
    target = f"{SERVICE_AUDIENCE_PREFIX}{service_id}"
    if audience is None or audience == target:
        principal = signer.verify(token, audience=audience)
    else:
        principal = _delegated(request, signer, token, audience, service_id)
    signer.check_live(principal)
    require_org(principal, org_id)
    return principal


def _delegated(
    request: Request, signer: TokenVerifier, token: str, audience: str, service_id: str
) -> Principal:
    """A service token for another service, accepted only when forwarded by that service."""
    principal = signer.verify(token, audience=audience)
    forwarder = _forwarder(request, signer)
    owner = audience.removeprefix(SERVICE_AUDIENCE_PREFIX)
    if (
        forwarder is None
        or forwarder.token_type != "service"
        or forwarder.service_id != owner
        or forwarder.org_id != principal.org_id
    ):
        raise unauthorized(f"this service token is for service '{owner}', not '{service_id}'")
    return principal


def caller_context(principal: Principal, request_id: str, job_id: str | None = None) -> CallerContext:
    """What the service process learns about the caller."""
    return CallerContext(
        subject_id=principal.subject,
        scopes=list(principal.scopes),
        token_type=principal.token_type,
        custom_claims=dict(principal.claims),
        org_id=principal.org_id,
        workspace_id=principal.workspace_id,
        request_id=request_id,
        job_id=job_id,
    )
