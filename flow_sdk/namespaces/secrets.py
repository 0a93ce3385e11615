"""``flow.secrets``: read-only access to workspace secrets."""

from __future__ import annotations

import builtins
import re
from collections.abc import AsyncIterator

from flow_sdk._errors import FlowSDKError
from flow_sdk._generated.client.request import ApiRequest
from flow_sdk._generated.client.secrets import build_get_secret_request, build_list_secrets_request
from flow_sdk._generated.types import SecretInfo
from flow_sdk._pages import MAX_PAGE_SIZE
from flow_sdk.namespaces._base import Namespace

__all__ = ["SecretsNamespace"]

_NAME = re.compile(r"[A-Za-z0-9_.-]{1,200}")


class SecretsNamespace(Namespace):
    """Read secrets; create and update them through the management API or the CLI."""

    async def get(self, name: str) -> str:
        """Return a secret's value (``GET .../secrets/{name}``)."""
        if not _NAME.fullmatch(name) or name in (".", ".."):
            raise FlowSDKError(
                f"invalid secret name {name!r}: use 1 to 200 of A-Z, a-z, 0-9, '_', '.', '-' (not '.' or '..')",
                code="invalid_name",
            )
        org_id, workspace_id = self._flow._workspace()
        secret = await self._send(build_get_secret_request(org_id, workspace_id, name))
        return secret["value"]

    async def list(self) -> list[SecretInfo]:
        """List secret names and metadata, never values (``GET .../secrets``).

        The platform answers a page at a time; this reads them all. :meth:`iter` reads them as needed.
        """
        return [item async for item in self.iter(page_size=MAX_PAGE_SIZE)]

    def iter(self, *, page_size: int = 100) -> AsyncIterator[SecretInfo]:
        """Every secret's name and metadata, in name order, fetched a page at a time (``GET .../secrets``).

        Example::

            async for secret in flow.secrets.iter():
                print(secret["name"], secret["updated_at"])
        """
        org_id, workspace_id = self._flow._workspace()

        def page(cursor: str | None) -> ApiRequest[builtins.list[SecretInfo]]:
            return build_list_secrets_request(org_id, workspace_id, limit=page_size, cursor=cursor)

        return self._pages(page)
