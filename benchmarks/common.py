"""Helpers shared by the benchmark cases: capability lookup, identities, timed loops."""

from __future__ import annotations

import gc
import importlib
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

ORG_ID = "org-bench"
WORKSPACE_ID = "ws-bench"
COMPONENT_ID = "svc-component-bench"
SERVICE_ID = "svc-bench"
STATE_KEY = "last_sync_cursor"
CHAT_MODEL = "offline/echo"
CHAT_MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant."},
    {"role": "user", "content": "What is the capital of France?"},
]


class Unavailable(Exception):
    """A capability the figure needs has not landed (or cannot run here); the message says why."""


def load(target: str) -> Any:
    """Import ``module:attribute`` (attribute may be dotted), or raise `Unavailable` saying why.

    Args:
        target: For example ``"flow_sdk:FlowSDK"``.
    """
    module_name, _, attribute = target.partition(":")
    try:
        value: Any = importlib.import_module(module_name)
        for part in filter(None, attribute.split(".")):
            value = getattr(value, part)
    except (ImportError, AttributeError) as exc:
        raise Unavailable(f"{target} not importable: {type(exc).__name__}: {exc}") from exc
    return value


def require_method(owner: Any, name: str, where: str) -> Any:
    """Return ``owner.name``, or raise `Unavailable` naming ``where`` when it is missing."""
    method = getattr(owner, name, None)
    if method is None:
        raise Unavailable(f"{where}.{name} does not exist yet")
    return method


def bench_token(org_id: str = ORG_ID, workspace_id: str = WORKSPACE_ID) -> str:
    """A syntactically valid HS256 JWT for the fixed server (which never checks it)."""
    jwt = load("jwt:encode")
    now = int(time.time())
    claims = {
        "sub": "user-bench",
        "org_id": org_id,
        "workspace_id": workspace_id,
        "scopes": ["read", "write"],
        "token_type": "user",
        "iat": now,
        "exp": now + 3600,
        "jti": "jti-bench",
    }
    return str(jwt(claims, "bench-secret-not-used-for-anything-real", algorithm="HS256"))


def chat_body(stream: bool = False) -> dict[str, Any]:
    """The chat completion request body both the SDK and the baseline send."""
    body: dict[str, Any] = {
        "model": CHAT_MODEL,
        "messages": CHAT_MESSAGES,
        "temperature": 0.7,
        "max_tokens": 256,
    }
    if stream:
        body["stream"] = True
    return body


@dataclass
class Samples:
    """Paired clocks of repeated timed blocks: client CPU time and wall time, one entry per block.

    Attributes:
        cpu: This process's CPU time (user + system) per unit, one entry per block.
        wall: Wall-clock time per unit, one entry per block.
    """

    cpu: list[float] = field(default_factory=list)
    wall: list[float] = field(default_factory=list)

    def add(self, cpu: float, wall: float) -> None:
        """Record one block."""
        self.cpu.append(cpu)
        self.wall.append(wall)


async def time_async_calls(
    call: Callable[[], Awaitable[Any]], calls: int, into: Samples | None = None
) -> None:
    """Run ``call`` ``calls`` times in a row; record microseconds per call (CPU and wall) ``into``."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        await call()
    if into is not None:
        into.add((time.process_time() - cpu) / calls * 1e6, (time.perf_counter() - wall) / calls * 1e6)


def time_sync_calls(call: Callable[[], Any], calls: int, into: Samples | None = None) -> None:
    """The sync twin of `time_async_calls`."""
    gc.collect()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(calls):
        call()
    if into is not None:
        into.add((time.process_time() - cpu) / calls * 1e6, (time.perf_counter() - wall) / calls * 1e6)


async def close_quietly(obj: Any) -> None:
    """Close an SDK object by whichever close method it has (``aclose`` or ``close``, sync or async)."""
    for name in ("aclose", "close"):
        method = getattr(obj, name, None)
        if method is None:
            continue
        result = method()
        if isinstance(result, Awaitable):
            await result
        return


def describe(exc: BaseException) -> str:
    """Why a capability could not be measured: the message of `Unavailable`, else the raised error."""
    if isinstance(exc, Unavailable):
        return str(exc)
    return f"raised {type(exc).__name__}: {exc}"[:300]
