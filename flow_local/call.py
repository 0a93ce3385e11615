"""The call context a backend receives with every operation: the caller and the request it came by.

The generated routers get it from the access rules (:mod:`flow_local.areas.access`), which have
already checked the token and its organization and workspace binding where the document asks for it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from starlette.requests import Request

from flow_local.auth import Principal
from flow_local.errors import ApiError, request_id_of, unauthorized


@dataclass(frozen=True, slots=True)
class Call:
    """One call of an operation.

    ``caller`` is None only for operations the document lets through without a token (``public``)
    or with an optional one (``optional``: a presigned URL); ``refusal`` then says why a token that
    was sent did not verify. A backend puts headers for the answer in ``answer_headers``. ``request`` is for the operations that
    pass a request through (the hosted-service proxy); backends read their arguments from the typed
    parameters, never from it.
    """

    request: Request
    caller: Principal | None
    refusal: ApiError | None = None
    answer_headers: dict[str, str] = field(default_factory=dict)

    @property
    def principal(self) -> Principal:
        """The verified caller (401 when the call carried no valid token, saying why)."""
        if self.caller is None:
            raise self.refusal or unauthorized("missing bearer token: send 'Authorization: Bearer <token>'")
        return self.caller

    @property
    def request_id(self) -> str:
        """The id of the request, as the error renderer reports it."""
        return request_id_of(self.request)
