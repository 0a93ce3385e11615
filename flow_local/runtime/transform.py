"""Transforms: JSON-to-JSON mappings. A string ``$.a.b`` (or ``$.items[0].name``) is read from the data;
objects and lists are mapped recursively; every other value is copied as is."""

from __future__ import annotations

import re
from typing import Any

_TOKEN = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


class MappingError(ValueError):
    """A mapping expression is malformed or points at nothing."""


def resolve_path(data: Any, path: str) -> Any:
    """The value at ``$.a.b[0]`` in ``data`` (``$`` alone is the whole data).

    Raises:
        MappingError: The path is malformed or a part of it is missing.
    """
    if not path.startswith("$"):
        raise MappingError(f"a path must start with '$': {path!r}")
    rest = path[1:]
    value = data
    position = 0
    while position < len(rest):
        if rest[position] == ".":
            position += 1
        match = _TOKEN.match(rest, position)
        if match is None:
            raise MappingError(f"malformed path {path!r} at position {position + 1}")
        key, index = match.group(1), match.group(2)
        value = _step(value, key, index, path)
        position = match.end()
    return value


def _step(value: Any, key: str | None, index: str | None, path: str) -> Any:
    if index is not None:
        if not isinstance(value, list) or int(index) >= len(value):
            raise MappingError(f"{path}: no item [{index}]")
        return value[int(index)]
    if isinstance(value, dict) and key in value:
        return value[key]
    if isinstance(value, list) and key is not None and key.isdigit() and int(key) < len(value):
        return value[int(key)]
    raise MappingError(f"{path}: no key '{key}'")


def apply_mapping(mapping: Any, data: Any) -> Any:
    """Build the output of a mapping over ``data``.

    Raises:
        MappingError: A path in the mapping points at nothing.
    """
    if isinstance(mapping, str) and mapping.startswith("$"):
        return resolve_path(data, mapping)
    if isinstance(mapping, dict):
        return {key: apply_mapping(value, data) for key, value in mapping.items()}
    if isinstance(mapping, list):
        return [apply_mapping(item, data) for item in mapping]
    return mapping


def run_transform(spec: dict[str, Any], input_data: Any) -> Any:
    """Run a transform component's spec (``{"mapping": ...}``) on its input.

    Raises:
        MappingError: The spec has no mapping, or a path points at nothing.
    """
    if "mapping" not in spec:
        raise MappingError("the transform's spec has no 'mapping'")
    return apply_mapping(spec["mapping"], input_data)
