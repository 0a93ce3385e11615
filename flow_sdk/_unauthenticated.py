"""Requests sent without a stored token: the API-key exchange and the CLI login flow.

:class:`~flow_sdk.config.FlowConfig` refreshes an expired token with :func:`exchange_api_key`, and
:class:`~flow_sdk.cli_client.CLIClient` sends its login requests with :func:`unauthenticated_send`;
both sit here so that neither module imports the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TypeVar

from flow_sdk._errors import CLIAuthenticationError, CLIClientError, FlowSDKError
from flow_sdk._generated.client.auth import build_exchange_api_key_request
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._requests import send_sync
from flow_sdk._transport import BearerAuth, build_sync_client

__all__ = ["STATIC_TIMEOUT_SECONDS", "exchange_api_key", "unauthenticated_send"]

STATIC_TIMEOUT_SECONDS = 15.0
ResultT = TypeVar("ResultT")


def _as_auth_error(error: FlowSDKError) -> CLIAuthenticationError:
    return CLIAuthenticationError(
        error.message,
        status_code=error.status_code,
        detail=error.detail,
        code=error.code,
        request_id=error.request_id,
        method=error.method,
        path=error.path,
    )


def unauthenticated_send(
    platform_url: str,
    api: ApiRequest[ResultT],
    what: str,
    *,
    headers: Mapping[str, str] | None = None,
    auth_family: bool = False,
) -> ResultT:
    """Send one request without a stored token (login, key exchange); errors are prefixed with ``what``.

    Raises:
        CLIClientError: The platform refused the request or could not be reached (a
            :class:`CLIAuthenticationError` for a 401, or for any failure when ``auth_family`` is set).
    """
    if not platform_url:
        raise CLIClientError(f"{what} failed: no platform URL given", code="missing_configuration")
    with build_sync_client(
        platform_url, BearerAuth(""), timeout=STATIC_TIMEOUT_SECONDS, max_retries=1
    ) as raw:
        try:
            return send_sync(raw, api, family="cli", extra_headers=headers)
        except CLIClientError as exc:
            error = _as_auth_error(exc) if auth_family or exc.status_code == 401 else exc
            if exc.status_code is not None:
                error.message = f"{what} failed ({exc.status_code}): {exc.detail}"
            else:
                error.message = f"{what} failed: {exc.detail}"
            error.args = (error.message,)
            raise error from exc


def exchange_api_key(platform_url: str, api_key: str, ttl_minutes: int = 60) -> str:
    """Exchange an org API key (fl_...) for a JWT access token (``POST /api/v1/auth/token``).

    Raises:
        CLIAuthenticationError: The platform refused the key or could not be reached.
    """
    request = build_exchange_api_key_request(body={"api_key": api_key, "ttl_minutes": ttl_minutes})
    token = unauthenticated_send(platform_url, request, "API key exchange", auth_family=True)
    return token["access_token"]
