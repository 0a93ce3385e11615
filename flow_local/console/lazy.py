"""A route standing for a group of routes that are imported when a request first reaches them.

Placed after the API's routes, it keeps the console's modules (templates, the SDK client) off the
start path, while routing stays what it would be with the routes in place: a path the group does not
know still gets the API's 404, and a known path with another method its 405.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from starlette.datastructures import URLPath
from starlette.routing import BaseRoute, Match, NoMatchFound
from starlette.types import Receive, Scope, Send

MATCHED_ROUTE = "flow_local.lazy_route"
"""The scope key carrying the route :meth:`LazyRoutes.matches` chose to :meth:`LazyRoutes.handle`."""


class LazyRoutes(BaseRoute):
    """The routes ``load()`` returns, loaded on the first request that is matched against them."""

    def __init__(self, load: Callable[[], Sequence[BaseRoute]]) -> None:
        self._load = load
        self._routes: list[BaseRoute] | None = None

    @property
    def routes(self) -> list[BaseRoute]:
        """The loaded routes (loading them now if needed)."""
        if self._routes is None:
            self._routes = list(self._load())
        return self._routes

    def _best(self, scope: Scope) -> tuple[Match, Scope, BaseRoute | None]:
        """The first full match, else the first partial one (a known path, another method)."""
        partial: tuple[Match, Scope, BaseRoute | None] = (Match.NONE, {}, None)
        for route in self.routes:
            match, child_scope = route.matches(scope)
            if match is Match.FULL:
                return match, child_scope, route
            if match is Match.PARTIAL and partial[2] is None:
                partial = (match, child_scope, route)
        return partial

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope, route = self._best(scope)
        # The router applies the child scope before handle(), which then could not match again
        # (a mount moves the path to root_path): the chosen route travels in the scope.
        return match, {**child_scope, MATCHED_ROUTE: route}

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = scope.pop(MATCHED_ROUTE, None)
        assert isinstance(route, BaseRoute), "handle() called without a match"
        await route.handle(scope, receive, send)

    def url_path_for(self, name: str, /, **path_params: Any) -> URLPath:
        for route in self.routes:
            try:
                return route.url_path_for(name, **path_params)
            except NoMatchFound:
                continue
        raise NoMatchFound(name, path_params)
