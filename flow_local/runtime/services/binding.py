"""Which FlowSDK instances a hosted service uses, so the runtime can bind each request's context on them.

A service normally keeps one module-level ``flow = FlowSDK()``; the runtime finds it by itself (every
FlowSDK held in a global of a module loaded from the service's source directory, or in ``app.state``).
Code that creates a FlowSDK elsewhere registers it once::

    from flow_local.runtime.services import register_flow

    flow = register_flow(FlowSDK())
"""

from __future__ import annotations

import sys
import weakref
from pathlib import Path
from typing import Any

from flow_sdk import FlowSDK

_registered: weakref.WeakSet[FlowSDK] = weakref.WeakSet()


def register_flow(flow: FlowSDK) -> FlowSDK:
    """Have the runtime bind every request's context on ``flow``; return it (for one-line use)."""
    if not isinstance(flow, FlowSDK):
        raise TypeError(f"register_flow() needs a FlowSDK, got {type(flow).__name__}")
    _registered.add(flow)
    return flow


def _in_dir(module: Any, root: Path) -> bool:
    location = getattr(module, "__file__", None)
    if not location:
        return False
    try:
        return Path(location).resolve().is_relative_to(root)
    except (OSError, ValueError):
        return False


def discover_flows(source_dir: Path, app: Any = None) -> list[FlowSDK]:
    """Every FlowSDK in module globals under ``source_dir``, in ``app.state``, or registered."""
    found: dict[int, FlowSDK] = {id(f): f for f in list(_registered)}
    root = source_dir.resolve()
    for module in list(sys.modules.values()):
        if module is None or not _in_dir(module, root):
            continue
        for value in list(vars(module).values()):
            if isinstance(value, FlowSDK):
                found[id(value)] = value
    state = getattr(getattr(app, "state", None), "_state", None)
    if isinstance(state, dict):
        for value in state.values():
            if isinstance(value, FlowSDK):
                found[id(value)] = value
    return list(found.values())
