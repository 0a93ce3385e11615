"""Run a code block: Python source defining ``main`` (sync or async), parameters filled from the input.

A parameter named ``flow`` receives a ready ``FlowSDK()`` (configured from the runtime variables);
the other parameters are taken from the input by name (``**kwargs`` takes the rest). The return value
must be JSON. Failures raise :class:`CodeBlockError` carrying the type, message and a traceback that
shows only the code block's own frames.

A plain function that takes no ``flow`` can be called in place (:func:`runs_in_place`,
:func:`call_in_place`): in the calling thread, with no event loop. Everything else runs in an event
loop (:func:`run_loaded`), a sync ``main`` in a thread of it.
"""

from __future__ import annotations

import asyncio
import hashlib
import inspect
import json
import linecache
import traceback
import types
from collections.abc import Awaitable, Callable
from typing import Any

FLOW_PARAMETER = "flow"
NAMED = "named"
"""A parameter given by name (positional-or-keyword, keyword-only or positional-only)."""
VAR_POSITIONAL = "*args"
VAR_KEYWORD = "**kwargs"
_COMPILED: dict[str, Any] = {}


class CodeBlockError(Exception):
    """A code block failed: the error type, its message and the code block's traceback."""

    def __init__(self, error_type: str, message: str, traceback_text: str | None = None) -> None:
        super().__init__(f"{error_type}: {message}")
        self.error_type = error_type
        self.message = message
        self.traceback_text = traceback_text

    def as_dict(self) -> dict[str, Any]:
        """The spec's ``ExecutionError`` shape: message, type, traceback."""
        return {"message": self.message, "type": self.error_type, "traceback": self.traceback_text}


def _compile(source: str) -> tuple[Any, str]:
    """The compiled code object of a source (cached by content) and its pseudo file name."""
    digest = hashlib.sha256(source.encode()).hexdigest()[:16]
    filename = f"<code_block {digest}>"
    code = _COMPILED.get(digest)
    if code is None:
        try:
            code = compile(source, filename, "exec")
        except SyntaxError as exc:
            raise CodeBlockError("SyntaxError", f"{exc.msg} (line {exc.lineno})", None) from exc
        lines = source.splitlines(keepends=True)
        linecache.cache[filename] = (len(source), None, lines, filename)
        _COMPILED[digest] = code
    return code, filename


def load_entrypoint(source: str, entrypoint: str = "main") -> tuple[Callable[..., Any], str]:
    """Execute the source in a fresh namespace and return its entrypoint function and file name.

    Raises:
        CodeBlockError: The source does not compile, fails at import, or defines no such function.
    """
    code, filename = _compile(source)
    namespace: dict[str, Any] = {"__name__": "__code_block__"}
    try:
        exec(code, namespace)
    except Exception as exc:
        raise failure(exc, filename) from exc
    function = namespace.get(entrypoint)
    if not callable(function):
        raise CodeBlockError("ValueError", f"the code block defines no function '{entrypoint}'")
    return function, filename


def parameters(function: Callable[..., Any]) -> list[tuple[str, str, bool]]:
    """The parameters of ``function`` in :func:`inspect.signature`'s order: name, kind, whether it has a default.

    The kind is :data:`NAMED`, :data:`VAR_POSITIONAL` or :data:`VAR_KEYWORD`. A plain function is read
    from its code object: in a freshly forked child that costs a tenth of ``inspect.signature``, which
    touches (and so copies) many of the pages it inherited. Anything else (a wrapped function, a
    callable object) goes through ``inspect.signature``.
    """
    if type(function) is not types.FunctionType or hasattr(function, "__wrapped__"):
        return _parameters_from_signature(function)
    code = function.__code__
    names = code.co_varnames
    positional = code.co_argcount
    named = positional + code.co_kwonlyargcount
    first_default = positional - len(function.__defaults__ or ())
    keyword_defaults = function.__kwdefaults__ or {}
    found = [(name, NAMED, index >= first_default) for index, name in enumerate(names[:positional])]
    if code.co_flags & inspect.CO_VARARGS:
        found.append((names[named], VAR_POSITIONAL, False))
    found += [(name, NAMED, name in keyword_defaults) for name in names[positional:named]]
    if code.co_flags & inspect.CO_VARKEYWORDS:
        found.append((names[named + bool(code.co_flags & inspect.CO_VARARGS)], VAR_KEYWORD, False))
    return found


def _parameters_from_signature(function: Callable[..., Any]) -> list[tuple[str, str, bool]]:
    kinds: dict[Any, str] = {
        inspect.Parameter.VAR_POSITIONAL: VAR_POSITIONAL,
        inspect.Parameter.VAR_KEYWORD: VAR_KEYWORD,
    }
    return [
        (name, kinds.get(parameter.kind, NAMED), parameter.default is not inspect.Parameter.empty)
        for name, parameter in inspect.signature(function).parameters.items()
    ]


def bind_arguments(
    function: Callable[..., Any], inputs: dict[str, Any], flow_factory: Callable[[], Any]
) -> dict[str, Any]:
    """Keyword arguments for ``function`` from the input by parameter name.

    Raises:
        CodeBlockError: A required parameter has no value in the input.
    """
    arguments: dict[str, Any] = {}
    takes_rest = False
    for name, kind, has_default in parameters(function):
        if kind == VAR_KEYWORD:
            takes_rest = True
        elif kind == VAR_POSITIONAL:
            continue
        elif name == FLOW_PARAMETER:
            arguments[name] = flow_factory()
        elif name in inputs:
            arguments[name] = inputs[name]
        elif not has_default:
            raise CodeBlockError(
                "TypeError", f"main() needs the parameter '{name}' but the input has no key '{name}'"
            )
    if takes_rest:
        for key, value in inputs.items():
            arguments.setdefault(key, value)
    return arguments


async def call_entrypoint(function: Callable[..., Any], arguments: dict[str, Any], filename: str) -> Any:
    """Call ``function`` (awaited when async; in a thread when sync) and return its JSON result.

    Raises:
        CodeBlockError: It raised, or returned something that is not JSON.
    """
    try:
        if inspect.iscoroutinefunction(function):
            result = await function(**arguments)
        else:
            result = await asyncio.to_thread(function, **arguments)
            if inspect.isawaitable(result):
                result = await result
    except Exception as exc:
        raise failure(exc, filename) from exc
    return _checked_json(result)


def runs_in_place(function: Callable[..., Any]) -> bool:
    """Whether ``function`` is a plain function taking no ``flow``: it needs no event loop to run."""
    if inspect.iscoroutinefunction(function):
        return False
    return all(name != FLOW_PARAMETER for name, _kind, _default in parameters(function))


def call_in_place(function: Callable[..., Any], inputs: dict[str, Any], filename: str) -> Any:
    """Call a function of :func:`runs_in_place` in this thread and return its JSON result.

    Should it return an awaitable anyway, that is awaited in an event loop of its own.

    Raises:
        CodeBlockError: A parameter is missing, it raised, or it returned something that is not JSON.
    """
    arguments = bind_arguments(function, inputs, _no_flow)
    try:
        result = function(**arguments)
    except Exception as exc:
        raise failure(exc, filename) from exc
    if inspect.isawaitable(result):
        result = asyncio.run(_settle(result, filename))
    return _checked_json(result)


def _no_flow() -> Any:
    raise AssertionError("a function run in place takes no flow parameter")


async def _settle(awaitable: Awaitable[Any], filename: str) -> Any:
    try:
        return await awaitable
    except Exception as exc:
        raise failure(exc, filename) from exc


def _checked_json(result: Any) -> Any:
    try:
        json.dumps(result)
    except (TypeError, ValueError) as exc:
        raise CodeBlockError("TypeError", f"main() returned a value that is not JSON: {exc}") from exc
    return result


def failure(exc: BaseException, filename: str) -> CodeBlockError:
    """A CodeBlockError for an exception raised by user code, its traceback cut to the user's frames."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if f.filename == filename]
    lines = ["Traceback (most recent call last):\n", *traceback.format_list(frames)]
    lines.extend(traceback.format_exception_only(type(exc), exc))
    return CodeBlockError(type(exc).__name__, str(exc) or type(exc).__name__, "".join(lines))


async def run_code_block(
    source: str, inputs: dict[str, Any], flow_factory: Callable[[], Any], entrypoint: str = "main"
) -> Any:
    """Load a code block, bind its parameters from ``inputs`` and run it; return its JSON result.

    Raises:
        CodeBlockError: Any failure of the code block.
    """
    function, filename = load_entrypoint(source, entrypoint)
    return await run_loaded(function, filename, inputs, flow_factory)


async def run_loaded(
    function: Callable[..., Any], filename: str, inputs: dict[str, Any], flow_factory: Callable[[], Any]
) -> Any:
    """Bind the parameters of a loaded entrypoint from ``inputs`` and run it; return its JSON result.

    Raises:
        CodeBlockError: Any failure of the code block.
    """
    arguments = bind_arguments(function, inputs, flow_factory)
    try:
        return await call_entrypoint(function, arguments, filename)
    finally:
        flow = arguments.get(FLOW_PARAMETER)
        close = getattr(flow, "close", None)
        if close is not None:
            await close()
