"""The local platform: the Manifest Platform API on a laptop (FastAPI, SQLite, files, NATS).

``LocalPlatform`` starts one for tests and scripts; ``create_app`` builds the ASGI application.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flow_local.app import create_app
    from flow_local.harness import LocalPlatform
    from flow_local.settings import Settings

__all__ = ["LocalPlatform", "Settings", "create_app"]


def __getattr__(name: str) -> Any:
    if name == "LocalPlatform":
        from flow_local.harness import LocalPlatform

        return LocalPlatform
    if name == "create_app":
        from flow_local.app import create_app

        return create_app
    if name == "Settings":
        from flow_local.settings import Settings

        return Settings
    raise AttributeError(name)
