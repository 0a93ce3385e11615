"""The running platform's shared parts: settings, database, token signer, area backends, components.

Areas reach it from a request with :func:`platform_of`; components get it in ``start(platform)``.
"""

from __future__ import annotations

from typing import Any, Protocol, TypeVar, runtime_checkable

from fastapi import Request

from flow_local.auth import TokenSigner
from flow_local.backends import open_database
from flow_local.sealing import Sealer
from flow_local.settings import Settings
from flow_local.signing_keys import DatabaseKeyRing

T = TypeVar("T")


@runtime_checkable
class PlatformComponent(Protocol):
    """Something the platform starts with the server and stops with it (NATS, runners, service hosts)."""

    async def start(self, platform: Platform) -> None:
        """Start; called once the database and backends are ready."""

    async def stop(self) -> None:
        """Stop and release everything started."""


class Platform:
    """The state of one running local platform."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.db = open_database(settings)
        self.sealer = Sealer(settings.sealing_key)
        self.tokens = TokenSigner(DatabaseKeyRing(self.db, self.sealer))
        self.components: list[PlatformComponent] = []
        self._backends: dict[type, Any] = {}
        self.extras: dict[str, Any] = {}

    @property
    def url(self) -> str:
        """The platform's base URL (also the gateway URL)."""
        return self.settings.url

    def backend(self, cls: type[T]) -> T:
        """The one instance of an area backend class, created (with this platform) on first use."""
        found = self._backends.get(cls)
        if found is None:
            found = cls(self)  # type: ignore[call-arg]
            self._backends[cls] = found
        return found  # type: ignore[no-any-return]

    def component(self, cls: type[T]) -> T | None:
        """The registered component of a class, if any."""
        for item in self.components:
            if isinstance(item, cls):
                return item
        return None

    def close(self) -> None:
        """Close the database."""
        self.db.close()


def platform_of(request: Request) -> Platform:
    """The platform serving a request."""
    return request.app.state.platform  # type: ignore[no-any-return]
