"""The route index picks, for any method and path, the route the router's own ordered lookup would pick."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import Match, Route

from flow_local._generated.routers._support import OperationRoute
from flow_local.app import create_app
from flow_local.route_index import RouteIndex, leading_routes
from flow_local.settings import Settings

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")
SAMPLES = {"path": ["a", "a/b", "v2/x", "vx/y", "a\n"], "int": ["2"], "str": ["a1", "a.b:c", "a\n"]}
PARAMETER = re.compile(r"\{(\w+)(?::(\w+))?\}")


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> Starlette:
    """The platform's application (no lifespan: only its routing is used)."""
    data_dir: Path = tmp_path_factory.mktemp("route-index")
    return create_app(Settings.load(data_dir, port=8080))


def _paths(route: Route) -> list[str]:
    """Request paths for ``route``: each parameter replaced by each sample of its kind, one at a time."""
    plain = PARAMETER.sub(lambda m: "2" if m.group(2) == "int" else "p1", route.path)
    paths = [plain]
    for found in PARAMETER.finditer(route.path):
        for sample in SAMPLES[found.group(2) or "str"]:
            paths.append(route.path.replace(found.group(0), sample))
    return [PARAMETER.sub(lambda m: "2" if m.group(2) == "int" else "p1", path) for path in paths]


def _scope(method: str, path: str) -> dict[str, Any]:
    return {"type": "http", "method": method, "path": path, "root_path": "", "headers": []}


def _first_full(routes: list[Route], scope: dict[str, Any]) -> Route | None:
    """What Starlette's router does: the first route matching both path and method."""
    for route in routes:
        match, _ = route.matches(scope)
        if match is Match.FULL:
            return route
    return None


def test_the_index_is_what_the_application_router_runs(app: Starlette) -> None:
    assert isinstance(app.router.middleware_stack, RouteIndex)


def test_every_method_and_path_finds_the_route_the_router_would_pick(app: Starlette) -> None:
    index = RouteIndex(app.router)
    routes = leading_routes(app.router.routes)
    operations = [route for route in routes if isinstance(route, OperationRoute)]
    assert operations == [route for route in app.router.routes if isinstance(route, OperationRoute)]
    extra = ["/openapi.json", "/", "/login", "/nope", "/api/v1/nope", "/api/v1/health/"]
    paths = {path for route in operations for path in _paths(route)} | set(extra)
    checked = 0
    for path in sorted(paths):
        for method in METHODS:
            scope = _scope(method, path)
            expected = _first_full(routes, scope)
            assert index.find(scope) is (expected if isinstance(expected, OperationRoute) else None), (
                method,
                path,
            )
            checked += expected is not None
    assert checked > len(operations)


def test_a_request_under_a_root_path_is_left_to_the_router(app: Starlette) -> None:
    index = RouteIndex(app.router)
    scope = _scope("GET", "/api/v1/health")
    assert index.find(scope) is not None
    assert index.find({**scope, "root_path": "/prefix"}) is None
