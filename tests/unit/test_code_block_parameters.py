"""A code block's parameters read from its code object match what ``inspect.signature`` reports."""

from __future__ import annotations

import functools
from typing import Any

import pytest

from flow_local.runtime import code_block
from flow_local.runtime.code_block import CodeBlockError, bind_arguments, parameters, runs_in_place

SOURCES = [
    "def main(): pass",
    "def main(x, y: int = 2): pass",
    "def main(x, /, y, *, z, w=1): pass",
    "def main(a, b=1, /, c=2, *args, d, e=3, **rest): pass",
    "def main(*args): pass",
    "def main(**kwargs): pass",
    "def main(x, *, flow): pass",
    "def main(x, **flow): pass",
    "async def main(x, *extra, y=0, **more):\n    local = 1\n    return local",
    "def main(x):\n    a = b = c = 1\n    def inner(q): return q + a\n    return inner(x)",
    "main = lambda x, y=1: x + y",
]


def _load(source: str) -> Any:
    namespace: dict[str, Any] = {}
    exec(compile(source, "<test>", "exec"), namespace)
    return namespace["main"]


@pytest.mark.parametrize("source", SOURCES)
def test_a_plain_function_s_parameters_match_its_signature(source: str) -> None:
    function = _load(source)
    assert parameters(function) == code_block._parameters_from_signature(function)


def test_a_wrapped_function_and_a_callable_object_go_through_the_signature() -> None:
    inner = _load("def main(x, y=1): pass")

    @functools.wraps(inner)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return inner(*args, **kwargs)

    class Callable:
        def __call__(self, z: int, flow: Any = None) -> None:
            return None

    assert parameters(wrapper) == [("x", "named", False), ("y", "named", True)]
    assert parameters(Callable()) == [("z", "named", False), ("flow", "named", True)]
    assert not runs_in_place(Callable())


def test_binding_by_name_from_the_code_object() -> None:
    function = _load("def main(a, b=1, /, c=2, *args, d, e=3, **rest): pass")
    bound = bind_arguments(function, {"a": 1, "d": 4, "other": 5}, lambda: None)
    assert bound == {"a": 1, "d": 4, "other": 5}
    with pytest.raises(CodeBlockError, match="needs the parameter 'd'"):
        bind_arguments(function, {"a": 1}, lambda: None)
    assert runs_in_place(_load("def main(x): pass"))
    assert not runs_in_place(_load("def main(x, *, flow): pass"))
    assert not runs_in_place(_load("async def main(x): pass"))
