"""Console sessions: the dev API key is exchanged for a token kept in an HttpOnly cookie; forms carry a
CSRF token derived from it.

The CSRF token is an HMAC of the session token under the platform's signing key, so it needs no
storage, changes with every login, and cannot be computed by a page that cannot read the cookie.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.responses import RedirectResponse

from flow_local.auth import Principal
from flow_local.core import platform_of
from flow_local.errors import ApiError

COOKIE = "flow_console"
SESSION_MINUTES = 12 * 60


@dataclass(frozen=True)
class Session:
    """Who is logged in to the console.

    Attributes:
        token: The bearer token the console calls the API with.
        principal: The verified identity of ``token``.
        csrf: The token state-changing forms must send back.
    """

    token: str
    principal: Principal
    csrf: str


class LoginRequired(Exception):
    """No valid console session: the page redirects to the login form."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def csrf_for(request: Request, token: str) -> str:
    """The CSRF token that goes with the session ``token``."""
    key = platform_of(request).settings.signing_key
    return hmac.new(key, b"console-csrf:" + token.encode(), hashlib.sha256).hexdigest()[:40]


def current_session(request: Request) -> Session:
    """The session of this request.

    Raises:
        LoginRequired: No cookie, or its token is invalid, expired or not a user token.
    """
    token = request.cookies.get(COOKIE, "")
    if not token:
        raise LoginRequired(_this_path(request))
    try:
        principal = platform_of(request).tokens.verify(token)
    except ApiError:
        raise LoginRequired(_this_path(request)) from None
    if principal.token_type != "user":
        raise LoginRequired(_this_path(request))
    return Session(token=token, principal=principal, csrf=csrf_for(request, token))


def check_csrf(request: Request, session: Session, sent: str) -> None:
    """Refuse a state-changing form whose CSRF token does not match the session (403)."""
    if not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise ApiError(403, "csrf_failed", "the form's CSRF token is missing or wrong; reload the page")


def set_session_cookie(response: Response, token: str, secure: bool) -> None:
    """Keep ``token`` in an HttpOnly, SameSite=Strict cookie for the console's lifetime."""
    response.set_cookie(
        COOKIE,
        token,
        max_age=SESSION_MINUTES * 60,
        httponly=True,
        samesite="strict",
        secure=secure,
        path="/",
    )


def clear_session_cookie(response: Response) -> None:
    """Forget the session."""
    response.delete_cookie(COOKIE, path="/")


def safe_next(value: str | None) -> str:
    """A local path to go to after login (anything else, such as another site, becomes ``/``)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def login_url(next_path: str) -> str:
    """The login page, returning to ``next_path`` afterwards."""
    return f"/login?next={quote(next_path, safe='')}"


def login_redirect(request: Request, exc: Exception) -> Response:
    """Exception handler: a page without a session goes to the login form."""
    assert isinstance(exc, LoginRequired)
    return RedirectResponse(login_url(exc.next_path), status_code=303)


def _this_path(request: Request) -> str:
    query = f"?{request.url.query}" if request.url.query else ""
    return f"{request.url.path}{query}"
