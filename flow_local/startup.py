"""Start the platform's components in the background, so that the API answers before they are up.

The application's lifespan calls :meth:`BackgroundStart.begin` and returns at once: the server starts
listening while a task runs the warm-up loaders (imports of heavy modules, in a thread, so the event
loop keeps answering) and then starts the components one after the other. The routes of the areas
that use a component go through :func:`wait_for_components`: a request to them (an execution
submitted during start-up) waits until the components run, or gets a 503 naming the failure when
they could not start.
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterable, Sequence

from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from flow_local.core import Platform, PlatformComponent
from flow_local.errors import ApiError

logger = logging.getLogger("flow_local")
STOP_WAIT_SECONDS = 60.0
"""How long stopping waits for a start under way to finish before cancelling it."""


class BackgroundStart:
    """Starts the components of a platform in the background, and stops those it started.

    Attributes:
        done: Set once the start is over, started or failed (a ``threading.Event``: other threads,
            such as a test harness, may wait on it).
        error: Why the start failed, if it did.
    """

    def __init__(
        self,
        platform: Platform,
        factories: Sequence[Callable[[], PlatformComponent]],
        warm_up: Sequence[Callable[[], object]] = (),
    ) -> None:
        self.platform = platform
        self.factories = list(factories)
        self.warm_up = list(warm_up)
        self.done = threading.Event()
        self.error: BaseException | None = None
        self._task: asyncio.Task[None] | None = None
        self._finished = asyncio.Event()

    def begin(self) -> None:
        """Start the components in a task of the running event loop."""
        self._finished = asyncio.Event()
        self._task = asyncio.create_task(self._run(), name="flow-local-start")

    async def _run(self) -> None:
        for load in self.warm_up:
            try:
                await asyncio.to_thread(load)
            except Exception:  # the request that needs it will tell
                logger.exception("loading %s in the background failed", getattr(load, "__name__", load))
        try:
            for factory in self.factories:
                component = factory()
                self.platform.components.append(component)
                await component.start(self.platform)
        except Exception as exc:
            self.error = exc
            logger.exception("the platform's components did not start")
        finally:
            self.done.set()
            self._finished.set()

    async def wait(self) -> None:
        """Return once the components run.

        Raises:
            ApiError: 503 when they could not start.
        """
        if not self.done.is_set():
            await self._finished.wait()
        if self.error is not None:
            raise ApiError(503, "unavailable", f"the platform's components did not start: {self.error}")

    async def stop(self) -> None:
        """Let a start under way finish (cancel it after a while), then stop every component, last first.

        A component whose start failed or was cancelled is stopped too: it may have started a part.
        """
        task = self._task
        if task is not None and not task.done():
            await asyncio.wait({task}, timeout=STOP_WAIT_SECONDS)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        for component in reversed(self.platform.components):
            try:
                await component.stop()
                logger.info("stopped %s", type(component).__name__)
            except Exception:
                logger.exception("stopping %r failed", component)
        self.platform.components.clear()


def wait_for_components(routes: Iterable[BaseRoute], starter: BackgroundStart) -> None:
    """Make each of ``routes`` wait until ``starter``'s components run (503 when they cannot)."""
    for route in routes:
        if isinstance(route, Route):
            route.app = _after_start(route.app, starter)


def _after_start(app: ASGIApp, starter: BackgroundStart) -> ASGIApp:
    """``app``, entered once the components run."""

    async def waiting(scope: Scope, receive: Receive, send: Send) -> None:
        await starter.wait()
        await app(scope, receive, send)

    return waiting
