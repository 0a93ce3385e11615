"""The hosted-service host: version processes, the runtime wrapper inside them, the skills artifact.

Inside a service, ``register_flow(flow)`` makes the runtime bind each request's context on a FlowSDK
that is not a module-level global of the service's own modules (those are found by themselves).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from flow_local.runtime.services.binding import register_flow

__all__ = ["register_flow"]


def __getattr__(name: str) -> Any:
    if name == "register_flow":
        from flow_local.runtime.services.binding import register_flow

        return register_flow
    raise AttributeError(name)
