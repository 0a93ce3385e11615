"""Render ``flow_sdk/_generated/client``: one public, typed request builder per operation.

The document is read once into plain :class:`Operation` records (path, method, parameters, body,
result), which the jinja2 templates in ``codegen/templates/`` turn into Python:

* ``request.py``: :class:`ApiRequest`, the description a builder returns (no I/O);
* ``<tag>.py``: ``build_<operation>_request(...)`` per operation of the tag;
* ``enums.py``: the allowed values of every enum the document names, for checking input before sending.

Request bodies and results are the TypedDicts of ``flow_sdk._generated.types`` (datamodel-code-generator), so a field
or parameter renamed in the document makes the type checker fail wherever the SDK still uses the old name.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2

HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")
SLASH_EXTENSION = "x-flow-allow-slashes"
SCHEMA_PREFIX = "#/components/schemas/"
PARAMETER_PREFIX = "#/components/parameters/"
SCALAR_TYPES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}


class BuilderError(Exception):
    """The document has something the builder templates cannot express; the message says what."""


@dataclass
class Parameter:
    """One path, query or header parameter of an operation, as it appears in the builder."""

    name: str  # the name on the wire
    argument: str  # the Python argument name
    location: str  # path, query or header
    annotation: str
    required: bool
    default: str | None = None  # Python source of the document's default
    allow_slashes: bool = False


@dataclass
class Operation:
    """Everything a builder needs about one operation."""

    operation_id: str
    function: str
    method: str
    path: str
    summary: str
    tag: str
    parameters: list[Parameter] = field(default_factory=list)
    body_kind: str | None = None  # json or binary
    body_annotation: str | None = None
    body_required: bool = True
    result: str = "None"
    response: str = "empty"  # json, bytes or empty
    streams: bool = False  # the success answer may also be text/event-stream

    @property
    def path_parameters(self) -> list[Parameter]:
        return [p for p in self.parameters if p.location == "path"]

    @property
    def query_parameters(self) -> list[Parameter]:
        return [p for p in self.parameters if p.location == "query"]

    @property
    def header_parameters(self) -> list[Parameter]:
        return [p for p in self.parameters if p.location == "header"]

    @property
    def keyword_parameters(self) -> list[Parameter]:
        return [p for p in self.parameters if p.location != "path"]

    @property
    def url(self) -> str:
        """The path as an f-string body, each path parameter quoted."""

        def replace(match: re.Match[str]) -> str:
            parameter = next(p for p in self.path_parameters if p.name == match.group(1))
            safe = "/" if parameter.allow_slashes else ""
            return f"{{quote(str({parameter.argument}), safe={safe!r})}}"

        return re.sub(r"\{([^}]+)\}", replace, self.path)


@dataclass
class EnumValues:
    """The allowed values of one enum, as a constant in ``enums.py``."""

    constant: str
    values: list[str]
    source: str  # where the document declares it


def snake(name: str) -> str:
    """``createChatCompletion`` -> ``create_chat_completion``; ``Idempotency-Key`` -> ``idempotency_key``."""
    name = re.sub(r"[^0-9A-Za-z]+", "_", name)
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", name)
    name = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", name).lower().strip("_")
    return f"{name}_" if keyword.iskeyword(name) else name


def _schema_name(ref: str) -> str:
    if not ref.startswith(SCHEMA_PREFIX):
        raise BuilderError(f"unsupported schema reference {ref!r}")
    return ref[len(SCHEMA_PREFIX) :]


def _literal(values: list[Any]) -> str:
    return "Literal[" + ", ".join(_python(v) for v in values) + "]"


def _python(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return repr(value)


class Reader:
    """Reads the document into operations and enums; collects the ``flow_sdk._generated.types`` names they use."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        self.schemas: Mapping[str, Any] = spec.get("components", {}).get("schemas", {})
        self.shared_parameters: Mapping[str, Any] = spec.get("components", {}).get("parameters", {})

    def annotation(self, schema: Mapping[str, Any], imports: set[str]) -> str:
        """The Python type of a schema: a flow_sdk._generated.types name, a scalar, a Literal or a list of them."""
        if "$ref" in schema:
            name = _schema_name(schema["$ref"])
            imports.add(name)
            return name
        if "enum" in schema:
            return _literal(schema["enum"])
        kind = schema.get("type")
        if kind == "array":
            return f"list[{self.annotation(schema.get('items', {}), imports)}]"
        if kind in SCALAR_TYPES:
            return SCALAR_TYPES[kind]
        raise BuilderError(f"unsupported parameter or result schema {dict(schema)!r}")

    def parameter(self, raw: Mapping[str, Any], imports: set[str]) -> Parameter:
        if "$ref" in raw:
            ref = raw["$ref"]
            if not ref.startswith(PARAMETER_PREFIX):
                raise BuilderError(f"unsupported parameter reference {ref!r}")
            raw = self.shared_parameters[ref[len(PARAMETER_PREFIX) :]]
        schema = raw.get("schema", {})
        annotation = self.annotation(schema, imports)
        required = bool(raw.get("required")) or raw["in"] == "path"
        default = None
        if not required:
            if "default" in schema:
                default = _python(schema["default"])
            else:
                annotation, default = f"{annotation} | None", "None"
        return Parameter(
            name=raw["name"],
            argument=snake(raw["name"]),
            location=raw["in"],
            annotation=annotation,
            required=required,
            default=default,
            allow_slashes=raw.get(SLASH_EXTENSION) is True,
        )

    def operation(self, path: str, method: str, item: Mapping[str, Any]) -> tuple[Operation, set[str]]:
        raw = item[method]
        imports: set[str] = set()
        operation_id = raw["operationId"]
        operation = Operation(
            operation_id=operation_id,
            function=f"build_{snake(operation_id)}_request",
            method=method.upper(),
            path=path,
            summary=raw.get("summary", "").strip(),
            tag=raw.get("tags", ["default"])[0],
        )
        for parameter in [*item.get("parameters", []), *raw.get("parameters", [])]:
            operation.parameters.append(self.parameter(parameter, imports))
        self._body(operation, raw.get("requestBody"), imports)
        self._result(operation, raw.get("responses", {}), imports)
        return operation, imports

    def _body(self, operation: Operation, body: Mapping[str, Any] | None, imports: set[str]) -> None:
        if not body:
            return
        content = body.get("content", {})
        operation.body_required = bool(body.get("required"))
        if "application/json" in content:
            operation.body_kind = "json"
            operation.body_annotation = self.annotation(
                content["application/json"].get("schema", {}), imports
            )
        elif "application/octet-stream" in content:
            operation.body_kind = "binary"
            operation.body_annotation = "bytes"
        else:
            raise BuilderError(f"{operation.operation_id}: unsupported request body {sorted(content)}")

    def _result(self, operation: Operation, responses: Mapping[str, Any], imports: set[str]) -> None:
        success = sorted(code for code in responses if str(code).startswith("2"))
        if not success:
            raise BuilderError(f"{operation.operation_id}: no 2xx response")
        content = responses[success[0]].get("content") or {}
        operation.streams = "text/event-stream" in content
        if "application/json" in content:
            operation.response = "json"
            operation.result = self.annotation(content["application/json"].get("schema", {}), imports)
        elif "application/octet-stream" in content:
            operation.response, operation.result = "bytes", "bytes"
        elif content:
            raise BuilderError(f"{operation.operation_id}: unsupported response {sorted(content)}")

    def operations(self) -> tuple[dict[str, list[Operation]], dict[str, set[str]]]:
        """Return ``{tag: operations}`` and ``{tag: flow_sdk._generated.types names}`` in document order."""
        by_tag: dict[str, list[Operation]] = {}
        names: dict[str, set[str]] = {}
        for path, item in self.spec.get("paths", {}).items():
            for method in HTTP_METHODS:
                if method in item:
                    operation, imports = self.operation(path, method, item)
                    by_tag.setdefault(operation.tag, []).append(operation)
                    names.setdefault(operation.tag, set()).update(imports)
        return by_tag, names

    def enums(self) -> list[EnumValues]:
        """Every enum of the document: named schemas, inline enum properties and inline enum parameters."""
        found: list[EnumValues] = []
        for name, schema in self.schemas.items():
            if "enum" in schema:
                found.append(EnumValues(snake(name).upper(), schema["enum"], f"components/schemas/{name}"))
            for prop, sub in schema.get("properties", {}).items():
                if "enum" in sub:
                    constant = f"{snake(name)}_{snake(prop)}".upper()
                    found.append(EnumValues(constant, sub["enum"], f"{name}.{prop}"))
        for item in self.spec.get("paths", {}).values():
            for method in HTTP_METHODS:
                raw = item.get(method)
                for parameter in (raw or {}).get("parameters", []):
                    if "enum" in parameter.get("schema", {}):
                        constant = f"{snake(raw['operationId'])}_{snake(parameter['name'])}".upper()
                        source = f"{raw['operationId']} parameter {parameter['name']}"
                        found.append(EnumValues(constant, parameter["schema"]["enum"], source))
        return found


def _environment(templates: Path) -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(templates)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        autoescape=False,
    )
    env.filters["py"] = _python
    return env


def check_flow_types(names: set[str], flow_types_source: str) -> None:
    """Raise BuilderError if a name the builders import is not defined by the generated ``flow_sdk._generated.types``."""
    defined = set(
        re.findall(r"^(?:class\s+([A-Za-z_]\w*)|([A-Za-z_]\w*)\s*:\s*TypeAlias)", flow_types_source, re.M)
    )
    flat = {a or b for a, b in defined}
    missing = sorted(names - flat)
    if missing:
        raise BuilderError(
            f"flow_sdk._generated.types does not define {', '.join(missing)}; check the schema names"
        )


CURSOR_PARAMETER_REF = "#/components/parameters/Cursor"
NEXT_CURSOR_HEADER_REF = "#/components/headers/NextCursor"


def next_cursor_header(spec: Mapping[str, Any]) -> str:
    """The name of the answer header naming the next page, the same on every list that pages.

    A list that pages takes the shared ``Cursor`` parameter and declares the shared ``NextCursor``
    header on its 2xx answer; both or neither.

    Raises:
        BuilderError: A list has only one of the two, or the header has two names.
    """
    names: set[str] = set()
    for item in spec.get("paths", {}).values():
        for method in HTTP_METHODS:
            raw = item.get(method)
            if raw is None:
                continue
            takes_cursor = any(p.get("$ref") == CURSOR_PARAMETER_REF for p in raw.get("parameters", []))
            headers = {
                name
                for status, answer in raw.get("responses", {}).items()
                if str(status).startswith("2")
                for name, header in answer.get("headers", {}).items()
                if header.get("$ref") == NEXT_CURSOR_HEADER_REF
            }
            if takes_cursor != bool(headers):
                raise BuilderError(
                    f"{raw['operationId']}: a list that pages takes the Cursor parameter and answers the"
                    " NextCursor header; it has only one of them"
                )
            names |= headers
    if len(names) != 1:
        raise BuilderError(f"the NextCursor header must have one name on every list, found {sorted(names)}")
    return names.pop()


def check_free_form_objects(spec: Mapping[str, Any]) -> None:
    """Raise BuilderError for a named schema that is a free-form object written ``additionalProperties: true``.

    datamodel-code-generator makes such a schema an empty TypedDict, which type checkers refuse any key
    of (``row["name"]``). Written ``additionalProperties: {$ref: AnyValue}``, it is ``dict[str, Any]``.
    """
    schemas = spec.get("components", {}).get("schemas", {})
    wrong = sorted(
        name
        for name, schema in schemas.items()
        if schema.get("type") == "object"
        and not schema.get("properties")
        and schema.get("additionalProperties") is True
    )
    if wrong:
        raise BuilderError(
            f"schema {', '.join(wrong)}: write a free-form object as"
            ' `additionalProperties: {$ref: "#/components/schemas/AnyValue"}`, not `true`'
            " (with `true` its TypedDict has no keys)"
        )


def _module_imports(operations: list[Operation]) -> dict[str, Any]:
    """What a tag's module uses, so it imports nothing else: typing names, ``quote``, ``drop_none``."""
    annotations = " ".join(
        [p.annotation for op in operations for p in (*op.path_parameters, *op.keyword_parameters)]
        + [f"{op.body_annotation or ''} {op.result}" for op in operations]
    )
    return {
        "typing": [name for name in ("Any", "Literal") if re.search(rf"\b{name}\b", annotations)],
        "quote": any("quote(" in op.url for op in operations),
        "drop_none": any(
            op.query_parameters or op.header_parameters or op.body_kind == "binary" for op in operations
        ),
    }


def render(spec: Mapping[str, Any], package: Path, templates: Path) -> set[str]:
    """Write the builder package into ``package`` (``flow_sdk/_generated/client``); return the type names used."""
    check_free_form_objects(spec)
    reader = Reader(spec)
    by_tag, names = reader.operations()
    env = _environment(templates)
    package.mkdir(parents=True, exist_ok=True)
    info = spec.get("info", {})
    context = {
        "title": info.get("title", ""),
        "version": info.get("version", ""),
        "tags": sorted(by_tag),
        "next_cursor_header": next_cursor_header(spec),
        "max_page_size": spec["components"]["parameters"]["Limit"]["schema"]["maximum"],
    }
    (package / "__init__.py").write_text(env.get_template("package_init.py.jinja").render(**context))
    (package / "request.py").write_text(env.get_template("request.py.jinja").render(**context))
    (package / "enums.py").write_text(env.get_template("enums.py.jinja").render(enums=reader.enums()))
    module = env.get_template("builders.py.jinja")
    for tag, operations in by_tag.items():
        text = module.render(
            tag=tag, operations=operations, types=sorted(names[tag]), imports=_module_imports(operations)
        )
        (package / f"{snake(tag)}.py").write_text(text)
    return set().union(*names.values()) if names else set()
