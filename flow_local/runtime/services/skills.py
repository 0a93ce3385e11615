"""The runtime-neutral skills artifact of a service version, derived from the app's own OpenAPI document.

One entry per operation: method, path, summary, description, operation id and an input schema (an
object whose properties are the path and query parameters, plus ``body`` for a JSON request body),
with every ``$ref`` inlined so the artifact stands alone.
"""

from __future__ import annotations

from typing import Any

HTTP_METHODS = ("get", "post", "put", "patch", "delete")
_MAX_REF_DEPTH = 12


def _resolve(node: Any, document: dict[str, Any], depth: int = 0) -> Any:
    """``node`` with every local ``$ref`` replaced by what it points to (cycles cut at a fixed depth)."""
    if isinstance(node, list):
        return [_resolve(item, document, depth) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        if depth >= _MAX_REF_DEPTH:
            return {"type": "object"}
        target: Any = document
        for part in ref[2:].split("/"):
            target = target.get(part, {}) if isinstance(target, dict) else {}
        return _resolve(target, document, depth + 1)
    return {key: _resolve(value, document, depth) for key, value in node.items()}


def _input_schema(
    operation: dict[str, Any], shared: list[Any], document: dict[str, Any]
) -> dict[str, Any] | None:
    properties: dict[str, Any] = {}
    required: list[str] = []
    for raw in [*shared, *(operation.get("parameters") or [])]:
        parameter = _resolve(raw, document)
        if not isinstance(parameter, dict) or parameter.get("in") not in ("path", "query"):
            continue
        name = str(parameter.get("name"))
        properties[name] = parameter.get("schema") or {}
        if parameter.get("required"):
            required.append(name)
    body = _resolve(operation.get("requestBody"), document)
    if isinstance(body, dict):
        schema = ((body.get("content") or {}).get("application/json") or {}).get("schema")
        if schema is not None:
            properties["body"] = schema
            if body.get("required"):
                required.append("body")
    if not properties:
        return None
    result: dict[str, Any] = {"type": "object", "properties": properties}
    if required:
        result["required"] = required
    return result


def skills_from_openapi(document: dict[str, Any], service_id: str, version: int) -> dict[str, Any]:
    """The ``ServiceSkills`` artifact for an app's OpenAPI ``document``."""
    endpoints: list[dict[str, Any]] = []
    for path, item in sorted((document.get("paths") or {}).items()):
        if not isinstance(item, dict) or path.startswith("/__flow"):
            continue
        shared = item.get("parameters") or []
        for method in HTTP_METHODS:
            operation = item.get(method)
            if not isinstance(operation, dict):
                continue
            endpoints.append(
                {
                    "method": method.upper(),
                    "path": path,
                    "summary": operation.get("summary"),
                    "description": operation.get("description"),
                    "operation_id": operation.get("operationId"),
                    "input_schema": _input_schema(operation, shared, document),
                }
            )
    title = (document.get("info") or {}).get("title")
    return {"service_id": service_id, "version": version, "name": title, "endpoints": endpoints}
