"""``flow.auth``: the caller's identity from the bound request context."""

from __future__ import annotations

from typing import Any, cast

from flow_sdk.namespaces._base import Namespace

__all__ = ["AuthNamespace"]


class AuthNamespace(Namespace):
    """Read-only view of ``auth`` in the request context bound with ``FlowSDK.bind_request_context``."""

    def _auth(self) -> dict[str, Any]:
        auth: Any = self._flow._request_context().get("auth") or {}
        return cast("dict[str, Any]", auth) if isinstance(auth, dict) else {}

    @property
    def is_bound(self) -> bool:
        """True when a request context with auth information is bound."""
        return bool(self._auth())

    @property
    def subject_id(self) -> str | None:
        """The caller's subject id, or None outside a bound request."""
        value = self._auth().get("subject_id")
        return None if value is None else str(value)

    @property
    def scopes(self) -> list[str]:
        """The caller's scopes (empty outside a bound request)."""
        scopes: list[Any] = self._auth().get("scopes") or []
        return [str(scope) for scope in scopes]

    @property
    def token_type(self) -> str | None:
        """``user``, ``execution``, ``service`` or ``service_token``; None outside a bound request."""
        value = self._auth().get("token_type")
        return None if value is None else str(value)

    @property
    def custom_claims(self) -> dict[str, Any]:
        """Custom claims of a service token (empty when there are none)."""
        claims: Any = self._auth().get("custom_claims") or {}
        return dict(cast("dict[str, Any]", claims)) if isinstance(claims, dict) else {}

    def claim(self, name: str, default: Any = None) -> Any:
        """Return one custom claim, or ``default``."""
        return self.custom_claims.get(name, default)

    def has_scope(self, scope: str) -> bool:
        """True when the caller holds ``scope``."""
        return scope in self.scopes
