"""Find the route of an operation in one regular-expression match instead of trying the routes one by one.

A Starlette router tries its routes in order, one regular expression and one Python call each, and
takes the first that matches both path and method; with a hundred and fifty operations a request to one
near the end pays for all the others. :class:`RouteIndex` joins the same expressions, in the same order,
into one alternation over ``"<METHOD> <path>"``, so the first alternative that matches is the route the
router would have chosen. It serves that route at once when it is an operation of the document, and
leaves every other request (no route of the document, a wrong method, the console's pages, a request
FastAPI's OpenTelemetry support is tracing) to the router, unchanged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from starlette.routing import BaseRoute, Match, Route, Router
from starlette.types import Receive, Scope, Send

from flow_local._generated.routers._support import OperationRoute

_NAMED_GROUP = re.compile(r"\(\?P<\w+>")


def _alternative(route: Route) -> str:
    """``route``'s path expression behind its methods, its groups made anonymous (the index names them)."""
    path = _NAMED_GROUP.sub("(?:", route.path_regex.pattern.removeprefix("^"))
    methods = "|".join(sorted(re.escape(method) for method in route.methods or ())) or r"[^ ]+"
    return f"(?:{methods}) {path}"


def leading_routes(routes: Sequence[BaseRoute]) -> list[Route]:
    """The plain routes at the head of ``routes``, up to the first other kind (a mount, a lazy group):
    past it the index could not tell which route comes first."""
    leading: list[Route] = []
    for route in routes:
        if not isinstance(route, Route):
            break
        leading.append(route)
    return leading


class RouteIndex:
    """The lookup of ``router``'s routes (as they are when it is made): indexed, else the router's own.

    Install it with :meth:`install`, once every route is in place.
    """

    def __init__(self, router: Router) -> None:
        self.router = router
        self.fallback = router.app
        self.routes = leading_routes(router.routes)
        alternatives = (f"(?P<r{i}>{_alternative(route)})" for i, route in enumerate(self.routes))
        self.pattern = re.compile("|".join(alternatives))

    @classmethod
    def install(cls, router: Router) -> None:
        """Make ``router`` look its routes up through an index (what ``Router.__call__`` runs)."""
        router.middleware_stack = cls(router)

    def find(self, scope: Scope) -> OperationRoute | None:
        """The operation route the router would choose for ``scope``, or None when it would choose another."""
        if scope["type"] != "http" or scope.get("root_path") or "fastapi.telemetry" in scope:
            return None
        found = self.pattern.match(f"{scope['method']} {scope['path']}")
        if found is None or found.lastgroup is None:
            return None
        route = self.routes[int(found.lastgroup[1:])]
        return route if isinstance(route, OperationRoute) else None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.find(scope)
        if route is None:
            await self.fallback(scope, receive, send)
            return
        match, child_scope = route.matches(scope)
        if match is not Match.FULL:
            await self.fallback(scope, receive, send)
            return
        scope.setdefault("router", self.router)
        scope["route"] = route
        scope.update(child_scope)
        await route.handle(scope, receive, send)
