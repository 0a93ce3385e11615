"""The console's pages (mounted at ``/``; none is part of the API document).

Every page needs a console session (see :mod:`flow_local.console.session`); without one it redirects
to ``/login``. State-changing forms (cancel, approve, logout) carry the session's CSRF token.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import jinja2
from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from flow_local.console.data import TERMINAL, ConsoleData, printed
from flow_local.console.gateway_log import GatewayCallLog
from flow_local.console.session import (
    Session,
    check_csrf,
    clear_session_cookie,
    current_session,
    safe_next,
    set_session_cookie,
)
from flow_local.core import platform_of
from flow_local.errors import ApiError

HERE = Path(__file__).parent
MAX_FORM_BYTES = 16 * 1024
EXECUTION_STATUSES = ("pending", "running", *TERMINAL)
EXECUTION_KINDS = ("code_block", "agent", "workflow")

router = APIRouter(include_in_schema=False)
templates = jinja2.Environment(
    loader=jinja2.FileSystemLoader(HERE / "templates"), autoescape=True, undefined=jinja2.ChainableUndefined
)
static_files = StaticFiles(directory=HERE / "static")


def _page(
    name: str, request: Request, session: Session | None, status_code: int = 200, **context: Any
) -> HTMLResponse:
    html = templates.get_template(name).render(request=request, session=session, **context)
    headers = {"Cache-Control": "no-store", "X-Frame-Options": "DENY", "Content-Security-Policy": _CSP}
    return HTMLResponse(html, status_code=status_code, headers=headers)


_CSP = "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'self'"


async def _form(request: Request) -> dict[str, str]:
    """A urlencoded form body (at most 16 KiB; 413 otherwise)."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        raise ApiError(413, "payload_too_large", f"a console form is limited to {MAX_FORM_BYTES} bytes")
    return {key: values[0] for key, values in parse_qs(body.decode("utf-8", "replace")).items()}


@asynccontextmanager
async def _data(request: Request, session: Session) -> AsyncIterator[ConsoleData]:
    """The API as this session sees it, in the workspace chosen with ``?ws=`` (else its own or the default)."""
    platform = platform_of(request)
    workspace = request.query_params.get("ws") or session.principal.workspace_id or ""
    data = ConsoleData(platform.url, session.token, session.principal.org_id, workspace)
    try:
        if not workspace:
            await data.use_default_workspace()
        yield data
    finally:
        await data.close()


def _redirect(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


# ---------------------------------------------------------------------------- login
@router.get("/login")
async def login_form(request: Request, next: str = "/") -> HTMLResponse:
    """The login form: paste the dev API key (``flow local env`` prints it as FLOW_API_KEY)."""
    return _page("login.html", request, None, next_path=safe_next(next), error=None)


@router.post("/login")
async def login(request: Request) -> Response:
    """Exchange the API key for a token kept in an HttpOnly cookie, then go where the user was going."""
    from flow_sdk import CLIClient
    from flow_sdk._errors import FlowSDKError

    form = await _form(request)
    next_path = safe_next(form.get("next"))
    try:
        token = await asyncio.to_thread(
            CLIClient.exchange_api_key, platform_of(request).url, form.get("api_key", "").strip()
        )
    except FlowSDKError:
        return _page(
            "login.html", request, None, 401, next_path=next_path, error="That API key is not valid."
        )
    response = _redirect(next_path)
    set_session_cookie(response, token, secure=request.url.scheme == "https")
    return response


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the console session."""
    session = current_session(request)
    check_csrf(request, session, (await _form(request)).get("csrf", ""))
    response = _redirect("/login")
    clear_session_cookie(response)
    return response


# ---------------------------------------------------------------------------- executions
@router.get("/")
async def executions_page(request: Request, status: str = "", kind: str = "") -> HTMLResponse:
    """Executions of the workspace, filtered by status and kind."""
    session = current_session(request)
    async with _data(request, session) as data:
        items = await data.executions(status if status in EXECUTION_STATUSES else None, kind or None)
        spaces = await data.workspaces()
    return _page(
        "executions.html",
        request,
        session,
        executions=items,
        status=status,
        kind=kind,
        statuses=EXECUTION_STATUSES,
        kinds=EXECUTION_KINDS,
        workspaces=spaces,
        ws=data.workspace_id,
    )


@router.get("/executions/{execution_id}")
async def execution_page(request: Request, execution_id: str) -> HTMLResponse:
    """One execution: its record, input and output, stdout and stderr, and a live event timeline."""
    session = current_session(request)
    async with _data(request, session) as data:
        execution = await data.execution(execution_id)
        submitted = await data.input(execution_id)
        result = await data.result(execution_id)
        events = await data.events(execution_id, 0, 0.0)
    return _page(
        "execution.html",
        request,
        session,
        execution=execution,
        input=submitted["input"],
        result=result,
        stdout=result.get("stdout") or printed(events, "stdout"),
        stderr=result.get("stderr") or printed(events, "stderr"),
        events=events,
        terminal=TERMINAL,
        ws=data.workspace_id,
    )


@router.get("/executions/{execution_id}/live")
async def execution_live(request: Request, execution_id: str, after_seq: int = 0) -> JSONResponse:
    """New events after ``after_seq`` (held up to 10 s) and the current status, for the timeline script."""
    session = current_session(request)
    async with _data(request, session) as data:
        events = await data.events(execution_id, after_seq, 10.0)
        execution = await data.execution(execution_id)
    return JSONResponse({"status": execution.get("status"), "events": events})


@router.post("/executions/{execution_id}/cancel")
async def cancel_execution(request: Request, execution_id: str) -> Response:
    """Cancel an execution, then show it again."""
    session = current_session(request)
    check_csrf(request, session, (await _form(request)).get("csrf", ""))
    async with _data(request, session) as data:
        await data.cancel(execution_id)
    return _redirect(f"/executions/{execution_id}?ws={data.workspace_id}")


# ---------------------------------------------------------------------------- services
@router.get("/services")
async def services_page(request: Request) -> HTMLResponse:
    """Hosted services and their versions."""
    session = current_session(request)
    async with _data(request, session) as data:
        services = await data.services()
    return _page("services.html", request, session, services=services, ws=data.workspace_id)


@router.get("/services/{service_id}")
async def service_page(request: Request, service_id: str) -> HTMLResponse:
    """One service: versions, their health, and its log (refreshed live)."""
    session = current_session(request)
    async with _data(request, session) as data:
        service = await data.service(service_id)
        logs = await data.service_logs(service_id)
    return _page("service.html", request, session, service=service, logs=logs, ws=data.workspace_id)


@router.get("/services/{service_id}/logs")
async def service_logs(request: Request, service_id: str) -> JSONResponse:
    """The newest log lines of a service, for the live log script."""
    session = current_session(request)
    async with _data(request, session) as data:
        logs = await data.service_logs(service_id)
    return JSONResponse(logs)


# ---------------------------------------------------------------------------- data and records
@router.get("/storage")
async def storage_page(request: Request, prefix: str = "") -> HTMLResponse:
    """Objects in the org's storage under a prefix."""
    session = current_session(request)
    async with _data(request, session) as data:
        objects = await data.objects(prefix)
    return _page("storage.html", request, session, objects=objects, prefix=prefix, ws=data.workspace_id)


@router.get("/vector")
async def vector_page(request: Request) -> HTMLResponse:
    """Vector collections of the workspace."""
    session = current_session(request)
    async with _data(request, session) as data:
        indexes = await data.vector_indexes()
    return _page("vector.html", request, session, indexes=indexes, ws=data.workspace_id)


@router.get("/gateway")
async def gateway_page(request: Request) -> HTMLResponse:
    """The org's recent gateway calls: model, provider, tokens, latency, status."""
    session = current_session(request)
    calls = platform_of(request).backend(GatewayCallLog).recent(session.principal.org_id)
    return _page("gateway.html", request, session, calls=calls, ws=request.query_params.get("ws", ""))


@router.get("/audit")
async def audit_page(request: Request) -> HTMLResponse:
    """The workspace's audit log, newest first."""
    session = current_session(request)
    async with _data(request, session) as data:
        events = await data.audit()
    return _page("audit.html", request, session, events=events, ws=data.workspace_id)


# ---------------------------------------------------------------------------- CLI login approval
@router.get("/approve")
async def approve_form(request: Request, code: str = "") -> HTMLResponse:
    """The page a CLI login's approval URL opens: confirm the code shown in the terminal."""
    session = current_session(request)
    return _page("approve.html", request, session, code=code, message=None, ws="")


@router.post("/approve")
async def approve(request: Request) -> HTMLResponse:
    """Approve the CLI login with this code as the logged-in user."""
    session = current_session(request)
    form = await _form(request)
    check_csrf(request, session, form.get("csrf", ""))
    code = form.get("code", "").strip().upper()
    async with _data(request, session) as data:
        approved = await data.approve_login(code)
    message = (
        f"Approved: the terminal showing {code} is now logged in."
        if approved
        else (f"No pending login with code {code} (it may have expired): start `flow login` again.")
    )
    return _page(
        "approve.html", request, session, 200 if approved else 404, code=code, message=message, ws=""
    )
