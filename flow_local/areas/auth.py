"""Authentication: API-key exchange, CLI login requests (create, poll, approve) and /auth/me."""

from __future__ import annotations

import secrets
import time
from datetime import UTC, datetime
from typing import Any

from flow_local._generated.models import (
    CliLoginApproval,
    CliLoginRequest,
    CliLoginStatus,
    CurrentUser,
    JsonWebKeySet,
    TokenRequest,
    TokenResponse,
)
from flow_local._generated.routers.auth import AuthOperations
from flow_local.areas.tenants import TenantsBackend
from flow_local.auth import Principal, require_user
from flow_local.call import Call
from flow_local.core import Platform
from flow_local.errors import ApiError, not_found, unauthorized
from flow_local.rate_limits import AttemptLimiter
from flow_local.values import new_id

LOGIN_TTL_SECONDS = 600
LOGIN_TOKEN_TTL_SECONDS = 12 * 3600
APPROVAL_FAILURES = 10
APPROVAL_WINDOW_SECONDS = 600.0
_CODE_ALPHABET = "BCDFGHJKLMNPQRSTVWXZ"

SCHEMA = [
    "CREATE TABLE cli_login_requests (id TEXT PRIMARY KEY, user_code TEXT NOT NULL UNIQUE,"
    " status TEXT NOT NULL, expires_at REAL NOT NULL, org_id TEXT, workspace_id TEXT, token TEXT)",
]


class AuthBackend(AuthOperations[Call]):
    """API-key exchange and the CLI login flow."""

    def __init__(self, platform: Platform) -> None:
        self.platform = platform
        self.db = platform.db
        self.db.migrate("auth", SCHEMA)
        self.approvals = AttemptLimiter(self.db, "cli-approvals", APPROVAL_FAILURES, APPROVAL_WINDOW_SECONDS)

    def exchange(self, api_key: str, ttl_minutes: int) -> dict[str, Any]:
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
                    access_token=self.platform.sealer.open(row["token"]),
                    org_id=row["org_id"],
                    workspace_id=row["workspace_id"],
                )
                conn.execute(
                    "UPDATE cli_login_requests SET status='consumed', token=NULL WHERE id = ?", (request_id,)
                )
        return result

    def approve(self, user_code: str, principal: Principal) -> dict[str, Any]:
        """Approve a pending request as the calling user (wrong codes are rate-limited per caller)."""
        code = user_code.strip().upper()
        caller = f"{principal.org_id}/{principal.subject}"
        self.approvals.check(caller, "CLI login approvals")
        if self.db.query_one("SELECT 1 FROM cli_login_requests WHERE user_code = ?", (code,)) is None:
            self.approvals.failed(caller)
            raise ApiError(404, "not_found", f"no login request with code '{code}'", "user_code")
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
                (principal.org_id, principal.workspace_id, self.platform.sealer.seal(token), row["id"]),
            )
        return {
            "request_id": row["id"],
            "status": "approved",
            "org_id": principal.org_id,
            "workspace_id": principal.workspace_id,
        }

    async def get_json_web_key_set(self, call: Call) -> JsonWebKeySet:
        """The public keys that verify the platform's tokens."""
        return JsonWebKeySet.model_validate(self.platform.tokens.keys.jwks())

    async def exchange_api_key(self, call: Call, *, body: TokenRequest) -> TokenResponse:
        """Exchange an API key for a JWT."""
        return TokenResponse.model_validate(self.exchange(body.api_key, body.ttl_minutes))

    async def create_cli_login_request(self, call: Call) -> CliLoginRequest:
        """Start a CLI login."""
        return CliLoginRequest.model_validate(self.create_login_request())

    async def poll_cli_login_request(self, call: Call, *, request_id: str) -> CliLoginStatus:
        """Poll a CLI login request."""
        return CliLoginStatus.model_validate(self.poll(request_id))

    async def approve_cli_login_request(self, call: Call, *, body: CliLoginApproval) -> CliLoginStatus:
        """Approve a CLI login request as the calling user."""
        principal = call.principal
        require_user(principal, "approving a CLI login")
        return CliLoginStatus.model_validate(self.approve(body.user_code, principal))

    async def get_current_user(self, call: Call) -> CurrentUser:
        """The identity behind the bearer token."""
        principal = call.principal
        return CurrentUser.model_validate(
            {
                "subject_id": principal.subject,
                "token_type": principal.token_type,
                "org_id": principal.org_id,
                "workspace_id": principal.workspace_id,
                "scopes": principal.scopes,
                "name": principal.subject,
                "expires_at": datetime.fromtimestamp(principal.expires_at, UTC),
            }
        )
