"""The access rules the generated routers apply before they call a backend (the tenancy check).

Each rule verifies what the document's ``security`` asks for an operation and returns the
:class:`~flow_local.call.Call` the backend receives. The organization and workspace come from the
path: a token bound to another organization or workspace gets 403, an absent one 404.
"""

from __future__ import annotations

from starlette.requests import Request

from flow_local.areas.tenants import check_org, check_workspace
from flow_local.auth import bearer_token, principal_of
from flow_local.call import Call
from flow_local.core import platform_of
from flow_local.errors import ApiError
from flow_local.runtime.services.inbound import authenticate_caller


class PlatformAccess:
    """The access rules of the local platform (one instance serves every router)."""

    async def public(self, request: Request) -> Call:
        """No credentials needed."""
        return Call(request, None)

    async def optional(self, request: Request) -> Call:
        """The bearer token when it verifies; the backend decides what else it accepts (a signature)."""
        if bearer_token(request) is None:
            return Call(request, None)
        try:
            return Call(request, principal_of(request))
        except ApiError as refusal:
            return Call(request, None, refusal)

    async def authenticated(self, request: Request) -> Call:
        """A valid bearer token (401 otherwise)."""
        return Call(request, principal_of(request))

    async def org(self, request: Request) -> Call:
        """A bearer token of the organization in the path."""
        principal = principal_of(request)
        org_id = request.path_params["org_id"]
        grants = platform_of(request).tokens.grants
        if not grants.granted(principal, org_id):
            check_org(request, principal, org_id)
            grants.grant(principal, org_id)
        return Call(request, principal)

    async def workspace(self, request: Request) -> Call:
        """A bearer token of the organization and (when bound to one) the workspace in the path."""
        principal = principal_of(request)
        params = request.path_params
        org_id, workspace_id = params["org_id"], params["workspace_id"]
        grants = platform_of(request).tokens.grants
        if not grants.granted(principal, org_id, workspace_id):
            check_workspace(request, principal, org_id, workspace_id)
            grants.grant(principal, org_id, workspace_id)
        return Call(request, principal)

    async def service(self, request: Request) -> Call:
        """A token the hosted service in the path accepts (user, runtime or its own service token)."""
        params = request.path_params
        principal = authenticate_caller(
            request, platform_of(request).tokens, params["org_id"], params["service_id"]
        )
        return Call(request, principal)
