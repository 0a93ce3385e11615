"""Authentication: API-key exchange, CLI login requests (create, poll, approve) and /auth/me."""

from __future__ import annotations

import secrets
import time
from typing import Any

from fastapi import APIRouter, Depends, Request
from flow_server_models import (
    CliLoginApproval,
    CliLoginRequest,
    CliLoginStatus,
    CurrentUser,
    TokenRequest,
    TokenResponse,
)

from flow_local.areas.tenants import TenantsBackend
from flow_local.auth import Principal, get_principal, require_user
from flow_local.core import Platform, platform_of
from flow_local.errors import ApiError, not_found, unauthorized
from flow_local.values import iso_from_unix, new_id

LOGIN_TTL_SECONDS = 600
LOGIN_TOKEN_TTL_SECONDS = 12 * 3600
_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"

SCHEMA = [
    "CREATE TABLE cli_login_requests (id TEXT PRIMARY KEY, user_code TEXT NOT NULL UNIQUE,"
    " status TEXT NOT NULL, expires_at REAL NOT NULL, org_id TEXT, workspace_id TEXT, token TEXT)",
]


class AuthBackend:
    """API-key exchange and the CLI login flow."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.db = platform.db
        self.db.migrate("auth", SCHEMA)

    def exchange_api_key(self, api_key: str, ttl_minutes: int) -> dict[str, Any]:
        """A user token for a valid API key (401 otherwise)."""
        record = self.platform.backend(TenantsBackend).find_api_key(api_key)
        if record is None:
            raise unauthorized("the API key is not valid")
        ttl = ttl_minutes * 60
        token = self.platform.tokens.mint_user_token(
            f"apikey:{record['id']}", record["org_id"], record["workspace_id"], ttl_seconds=ttl
        )
        return {"access_token": token, "token_type": "bearer", "expires_in": ttl}

    def create_login_request(self) -> dict[str, Any]:
        """A pending login request with a user code like ``WDJB-MJHT``."""
        code = "-".join("".join(secrets.choice(_CODE_ALPHABET) for _ in range(4)) for _ in range(2))
        request_id = new_id()
        self.db.execute(
            "INSERT INTO cli_login_requests (id, user_code, status, expires_at) VALUES (?, ?, 'pending', ?)",
            (request_id, code, time.time() + LOGIN_TTL_SECONDS),
        )
        return {
            "request_id": request_id,
            "user_code": code,
            "verification_url": f"{self.platform.url}/approve?code={code}",
            "expires_in": LOGIN_TTL_SECONDS,
            "interval": 1,
        }

    def poll(self, request_id: str) -> dict[str, Any]:
        """The request's state; the token is handed out on the first poll after approval."""
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM cli_login_requests WHERE id = ?", (request_id,)).fetchone()
            if row is None:
                raise not_found("login request", request_id)
            status = row["status"]
            if status == "pending" and row["expires_at"] < time.time():
                status = "expired"
            result: dict[str, Any] = {"request_id": request_id, "status": status}
            if status == "approved":
                result.update(
                    access_token=row["token"], org_id=row["org_id"], workspace_id=row["workspace_id"]
                )
                conn.execute(
                    "UPDATE cli_login_requests SET status='consumed', token=NULL WHERE id = ?", (request_id,)
                )
        return result

    def approve(self, user_code: str, principal: Principal) -> dict[str, Any]:
        """Approve a pending request as the calling user."""
        code = user_code.strip().upper()
        with self.db.transaction() as conn:
            row = conn.execute("SELECT * FROM cli_login_requests WHERE user_code = ?", (code,)).fetchone()
            if row is None:
                raise ApiError(404, "not_found", f"no login request with code '{code}'", "user_code")
            if row["status"] != "pending" or row["expires_at"] < time.time():
                raise ApiError(
                    400, "invalid_state", f"login request '{code}' is no longer pending", "user_code"
                )
            token = self.platform.tokens.mint_user_token(
                principal.subject,
                principal.org_id,
                principal.workspace_id,
                ttl_seconds=LOGIN_TOKEN_TTL_SECONDS,
            )
            conn.execute(
                "UPDATE cli_login_requests SET status='approved', org_id=?, workspace_id=?, token=? WHERE id=?",
                (principal.org_id, principal.workspace_id, token, row["id"]),
            )
        return {
            "request_id": row["id"],
            "status": "approved",
            "org_id": principal.org_id,
            "workspace_id": principal.workspace_id,
        }


router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


def _auth(request: Request) -> AuthBackend:
    return platform_of(request).backend(AuthBackend)


def _dump(model: Any) -> dict[str, Any]:
    return model.model_dump(mode="json", exclude_unset=True)  # type: ignore[no-any-return]


@router.post("/token")
async def exchange_api_key(body: TokenRequest, request: Request) -> dict[str, Any]:
    """POST /api/v1/auth/token: exchange an API key for a JWT."""
    return _dump(TokenResponse(**_auth(request).exchange_api_key(body.api_key, body.ttl_minutes or 60)))


@router.post("/cli-login-requests", status_code=201)
async def create_cli_login_request(request: Request) -> dict[str, Any]:
    """POST /api/v1/auth/cli-login-requests."""
    return _dump(CliLoginRequest(**_auth(request).create_login_request()))


@router.post("/cli-login-requests/approve")
async def approve_cli_login_request(
    body: CliLoginApproval, request: Request, principal: Principal = Depends(get_principal)
) -> dict[str, Any]:
    """POST /api/v1/auth/cli-login-requests/approve."""
    require_user(principal, "approving a CLI login")
    return _dump(CliLoginStatus(**_auth(request).approve(body.user_code, principal)))


@router.get("/cli-login-requests/{request_id}")
async def poll_cli_login_request(request_id: str, request: Request) -> dict[str, Any]:
    """GET /api/v1/auth/cli-login-requests/{request_id}."""
    return _dump(CliLoginStatus(**_auth(request).poll(request_id)))


@router.get("/me")
async def get_current_user(principal: Principal = Depends(get_principal)) -> dict[str, Any]:
    """GET /api/v1/auth/me."""
    return _dump(
        CurrentUser(
            subject_id=principal.subject,
            token_type=principal.token_type,
            org_id=principal.org_id,
            workspace_id=principal.workspace_id,
            scopes=principal.scopes,
            name=principal.subject,
            expires_at=iso_from_unix(principal.expires_at),
        )
    )
