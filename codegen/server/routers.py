"""Write ``flow_local/_generated/routers`` from the OpenAPI document: per tag, a backend Protocol and the
Starlette routes that validate each request exactly as the document says and call that Protocol.

One module per tag (``storage.py``: ``StorageOperations`` and ``storage_router()``), plus:

* ``types.py``: the document's named enums and the enums of parameters, as ``Literal`` aliases
  (``ComponentType``, ``TokenScope``, ...);
* ``_support.py``: the pieces every router shares (``Access``, ``RawBody``, the JSON renderer).

``generate.py`` calls :func:`write_routers`; the output is formatted and stamped with the other
generated packages. Nothing here is imported at run time by the platform.
"""

from __future__ import annotations

import keyword
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jinja2
import pydantic

TEMPLATES = Path(__file__).resolve().parent / "templates"
HTTP_METHODS = ("get", "put", "post", "delete", "patch")
SLASH_EXTENSION = "x-flow-allow-slashes"
PRECHECK_EXTENSION = "x-flow-body-precheck"
"""An operation whose raw body the backend checks (``precheck_<operation>``) before it is parsed."""
JSON = "application/json"
# Schemas that stand for "any JSON value": a body or answer of that shape is passed through unparsed.
PASS_THROUGH_SCHEMAS = {"AnyValue"}
PRIMITIVES = {"string": "str", "integer": "int", "number": "float", "boolean": "bool"}
CONSTRAINTS = {
    "minLength": "min_length",
    "maxLength": "max_length",
    "pattern": "pattern",
    "minimum": "ge",
    "maximum": "le",
}
LOCATIONS = ("path", "query", "header")
"""Where parameters come from, in the order a request's parameters are checked (the first error is reported)."""


class RouterSpecError(Exception):
    """The document uses something the router generator does not support; the message says what."""


@dataclass
class Parameter:
    """One path, query or header parameter of an operation."""

    name: str
    python_name: str
    location: str
    annotation: str
    default: str | None
    constraints: list[str]

    @property
    def declaration(self) -> str:
        """The field of the operation's parameter model: ``name: Annotated[type, Field(...)] = default``.

        The field's alias is the parameter's name in the document, so a validation error names it.
        """
        args = list(self.constraints)
        if self.python_name != self.name:
            args.insert(0, f"alias={self.name!r}")
        annotation = f"Annotated[{self.annotation}, Field({', '.join(args)})]" if args else self.annotation
        default = f" = {self.default}" if self.default is not None else ""
        return f"{self.python_name}: {annotation}{default}"


@dataclass
class Operation:
    """What the templates need to know about one operation."""

    operation_id: str
    name: str
    method: str
    path: str
    route_path: str
    summary: str
    status: int
    policy: str
    parameters: list[Parameter]
    body: str | None  # "model", "raw" or None
    body_type: str | None
    body_required: bool
    answer: str  # "json", "json_or_response", "response" or "empty"
    answer_type: str | None
    body_precheck: bool = False

    @property
    def returns(self) -> str:
        """The Protocol method's return annotation."""
        if self.answer == "empty":
            return "None"
        if self.answer == "response":
            return "Response"
        if self.answer == "json_or_response":
            return f"{self.answer_type} | Response"
        assert self.answer_type is not None
        return self.answer_type

    @property
    def parameters_model(self) -> str:
        """The name of the pydantic model that reads and checks the operation's parameters."""
        return f"{to_pascal(self.operation_id)}Parameters"

    def names_in(self, location: str) -> list[str]:
        """The document names of the parameters read from ``location`` (path, query or header)."""
        return [p.name for p in self.parameters if p.location == location]

    @property
    def adapter(self) -> str:
        """The name of the module-level TypeAdapter that renders the JSON answer."""
        return f"_{to_snake(self.operation_id).upper()}_ANSWER"

    @property
    def catch_all(self) -> bool:
        """Whether a path parameter takes the rest of the path (such routes are matched last)."""
        return ":path}" in self.route_path


@dataclass
class Tag:
    """One tag: its module, Protocol and router function."""

    name: str
    description: str
    operations: list[Operation] = field(default_factory=list)
    models: set[str] = field(default_factory=set)
    aliases: set[str] = field(default_factory=set)

    @property
    def module(self) -> str:
        """Python module name of the tag."""
        return to_snake(self.name)

    @property
    def protocol(self) -> str:
        """Name of the backend Protocol."""
        return f"{to_pascal(self.name)}Operations"


def to_snake(name: str) -> str:
    """``uploadStorageObject`` → ``upload_storage_object``; ``Idempotency-Key`` → ``idempotency_key``."""
    text = re.sub(r"[^0-9A-Za-z]+", "_", name)
    text = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", text).lower().strip("_")
    return f"{text}_" if keyword.iskeyword(text) else text


def to_pascal(name: str) -> str:
    """``service_tokens`` → ``ServiceTokens``; ``listModels`` → ``ListModels``."""
    return "".join(part[:1].upper() + part[1:] for part in re.split(r"[^0-9A-Za-z]+", name) if part)


class _Reader:
    """Turns the document into :class:`Tag` objects."""

    def __init__(self, spec: Mapping[str, Any]) -> None:
        self.spec = spec
        components = spec.get("components", {})
        self.schemas: Mapping[str, Any] = components.get("schemas", {})
        self.shared_parameters: Mapping[str, Any] = components.get("parameters", {})
        self.aliases: dict[str, list[Any]] = {}

    def _parameter_ref(self, parameter: Mapping[str, Any]) -> Mapping[str, Any]:
        ref = parameter.get("$ref")
        if ref is None:
            return parameter
        prefix = "#/components/parameters/"
        if not ref.startswith(prefix):
            raise RouterSpecError(f"unsupported parameter reference {ref!r}")
        resolved: Mapping[str, Any] = self.shared_parameters[ref.removeprefix(prefix)]
        return resolved

    def _schema_name(self, schema: Mapping[str, Any]) -> str | None:
        ref = schema.get("$ref")
        if ref is None:
            return None
        prefix = "#/components/schemas/"
        if not ref.startswith(prefix):
            raise RouterSpecError(f"unsupported schema reference {ref!r}")
        return str(ref.removeprefix(prefix))

    def _enum_alias(self, name: str, values: list[Any]) -> str:
        known = self.aliases.setdefault(name, values)
        if known != values:
            raise RouterSpecError(f"two different enums would be named {name}")
        return name

    def _scalar(self, schema: Mapping[str, Any], alias_name: str) -> tuple[str, Mapping[str, Any]]:
        """The Python type of a parameter schema, and the schema holding its constraints."""
        ref_name = self._schema_name(schema)
        if ref_name is not None:
            return self._scalar(self.schemas[ref_name], ref_name)
        if "enum" in schema:
            return self._enum_alias(alias_name, list(schema["enum"])), schema
        kind = schema.get("type")
        if kind not in PRIMITIVES:
            raise RouterSpecError(f"parameter type {kind!r} is not supported ({alias_name})")
        return PRIMITIVES[kind], schema

    def _parameter(self, raw: Mapping[str, Any], operation_id: str) -> Parameter:
        location = raw["in"]
        if location not in LOCATIONS:
            raise RouterSpecError(f"{operation_id}: parameters in {location!r} are not supported")
        name = raw["name"]
        annotation, schema = self._scalar(raw["schema"], to_pascal(operation_id) + to_pascal(name))
        constraints = [
            f"{keyword_}={schema[key]!r}" for key, keyword_ in CONSTRAINTS.items() if key in schema
        ]
        default: str | None = None
        if "default" in schema:
            default = repr(schema["default"])
        elif not raw.get("required", False):
            annotation, default = f"{annotation} | None", "None"
        return Parameter(name, to_snake(name), location, annotation, default, constraints)

    def _may_hold_slash(self, raw: Mapping[str, Any], path: str) -> bool:
        """A last-segment string parameter with no pattern: its value may hold an escaped ``/``, which
        the server sees decoded, so the route must take the rest of the path."""
        kind, schema = self._scalar(raw["schema"], raw["name"])
        return kind == "str" and "pattern" not in schema and path.endswith(f"/{{{raw['name']}}}")

    def _route_path(self, path: str, parameters: list[Mapping[str, Any]]) -> str:
        """The Starlette path: ``{key:path}`` for parameters that may hold ``/``; ``{name:int}`` for an
        integer that shares its segment with text (``v{version}``), so other text falls through."""
        for raw in parameters:
            if raw["in"] != "path":
                continue
            name = raw["name"]
            if raw.get(SLASH_EXTENSION) is True or self._may_hold_slash(raw, path):
                path = path.replace(f"{{{name}}}", f"{{{name}:path}}")
            elif re.search(rf"[^/]\{{{name}\}}|\{{{name}\}}[^/]", path):
                kind, _ = self._scalar(raw["schema"], name)
                if kind != "int":
                    raise RouterSpecError(f"{path}: only integers may share a segment with text")
                path = path.replace(f"{{{name}}}", f"{{{name}:int}}")
        return path

    def _policy(self, operation: Mapping[str, Any], path_names: set[str]) -> str:
        """Which access rule guards the operation, from its security and its path parameters."""
        security = operation.get("security", self.spec.get("security", []))
        schemes = [tuple(requirement) for requirement in security]
        if not schemes:
            return "public"
        if () in schemes:
            if len(schemes) != 2 or ("bearerAuth",) not in schemes:
                raise RouterSpecError(f"{operation['operationId']}: unsupported security {security}")
            return "optional"
        if schemes == [("serviceToken",)]:
            return "service"
        if schemes != [("bearerAuth",)]:
            raise RouterSpecError(f"{operation['operationId']}: unsupported security {security}")
        if "workspace_id" in path_names:
            return "workspace"
        if "org_id" in path_names:
            return "org"
        return "authenticated"

    def _body(self, operation: Mapping[str, Any], tag: Tag) -> tuple[str | None, str | None, bool]:
        body = operation.get("requestBody")
        if body is None:
            return None, None, False
        content = body["content"]
        required = bool(body.get("required", False))
        if JSON in content:
            name = self._schema_name(content[JSON].get("schema", {}))
            if name is None:
                raise RouterSpecError(f"{operation['operationId']}: a JSON body must reference a schema")
            if name in PASS_THROUGH_SCHEMAS:
                return "raw", None, required
            if not required:
                raise RouterSpecError(f"{operation['operationId']}: an optional JSON body must be AnyValue")
            tag.models.add(name)
            return "model", name, required
        if set(content) == {"application/octet-stream"}:
            return "raw", None, required
        raise RouterSpecError(f"{operation['operationId']}: unsupported body types {sorted(content)}")

    def _json_type(self, schema: Mapping[str, Any], tag: Tag, operation_id: str) -> str | None:
        """The Python type of a JSON answer, or None when it is passed through."""
        name = self._schema_name(schema)
        if name in PASS_THROUGH_SCHEMAS:
            return None
        if name is not None:
            tag.models.add(name)
            return name
        if schema.get("type") == "array":
            item = self._schema_name(schema.get("items", {}))
            if item is None:
                raise RouterSpecError(f"{operation_id}: array answers must reference an item schema")
            tag.models.add(item)
            return f"list[{item}]"
        raise RouterSpecError(f"{operation_id}: JSON answers must reference a schema")

    def _answer(self, operation: Mapping[str, Any], tag: Tag) -> tuple[int, str, str | None]:
        operation_id = operation["operationId"]
        successes = sorted(code for code in operation["responses"] if str(code).startswith("2"))
        if not successes:
            raise RouterSpecError(f"{operation_id} has no 2xx answer")
        status = int(successes[0])
        content = operation["responses"][successes[0]].get("content")
        if not content:
            return status, "empty", None
        if JSON not in content:
            return status, "response", None
        answer_type = self._json_type(content[JSON].get("schema", {}), tag, operation_id)
        if answer_type is None:
            return status, "response", None
        return status, ("json" if set(content) == {JSON} else "json_or_response"), answer_type

    def operation(self, path: str, method: str, item: Mapping[str, Any], tag: Tag) -> Operation:
        """One operation, read from the document."""
        raw_operation = item[method]
        operation_id = raw_operation["operationId"]
        raw = [
            self._parameter_ref(p)
            for p in [*item.get("parameters", []), *raw_operation.get("parameters", [])]
        ]
        parameters = [self._parameter(p, operation_id) for p in raw]
        # Checked path first, then query, then header, whatever the document's order: the first error is reported.
        parameters.sort(key=lambda p: LOCATIONS.index(p.location))
        names = [p.python_name for p in parameters]
        if len(set(names)) != len(names) or {"request", "call", "body"} & set(names):
            raise RouterSpecError(f"{operation_id}: parameter names clash: {names}")
        shadowed = sorted(name for name in names if name.startswith("_") or hasattr(pydantic.BaseModel, name))
        if shadowed:
            raise RouterSpecError(f"{operation_id}: parameter names shadow pydantic.BaseModel: {shadowed}")
        body, body_type, body_required = self._body(raw_operation, tag)
        status, answer, answer_type = self._answer(raw_operation, tag)
        path_names = {p.name for p in parameters if p.location == "path"}
        return Operation(
            operation_id=operation_id,
            name=to_snake(operation_id),
            method=method,
            path=path,
            route_path=self._route_path(path, raw),
            summary=" ".join(str(raw_operation.get("summary", "")).split()),
            status=status,
            policy=self._policy(raw_operation, path_names),
            parameters=parameters,
            body=body,
            body_type=body_type,
            body_required=body_required,
            answer=answer,
            answer_type=answer_type,
            body_precheck=bool(raw_operation.get(PRECHECK_EXTENSION)) and body == "model",
        )

    def named_enums(self) -> None:
        """Register every named enum schema of the document, so backends import its values."""
        for name, schema in self.schemas.items():
            if "enum" in schema:
                self._enum_alias(name, list(schema["enum"]))

    def tags(self) -> list[Tag]:
        """Every tag of the document with its operations; catch-all routes come last in each tag."""
        tags = {
            t["name"]: Tag(t["name"], " ".join(str(t.get("description", "")).split()))
            for t in self.spec.get("tags", [])
        }
        for path, item in self.spec.get("paths", {}).items():
            for method in HTTP_METHODS:
                if method not in item:
                    continue
                names = item[method].get("tags", [])
                if len(names) != 1 or names[0] not in tags:
                    raise RouterSpecError(f"{method.upper()} {path}: needs exactly one declared tag")
                tag = tags[names[0]]
                operation = self.operation(path, method, item, tag)
                tag.operations.append(operation)
                tag.aliases.update(
                    p.annotation.removesuffix(" | None")
                    for p in operation.parameters
                    if p.annotation.removesuffix(" | None") in self.aliases
                )
        for tag in tags.values():
            # A catch-all path would swallow the paths after it; the longest literal prefix goes first.
            tag.operations.sort(key=lambda op: (op.catch_all, -len(op.route_path) if op.catch_all else 0))
        return [tag for tag in tags.values() if tag.operations]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        trim_blocks=True,
        lstrip_blocks=True,
        extensions=["jinja2.ext.do"],
    )


def _raw_body_routes(tags: list[Tag]) -> list[str]:
    """The route paths of operations with a raw body, once each, in document order."""
    paths = [op.route_path for tag in tags for op in tag.operations if op.body == "raw"]
    return list(dict.fromkeys(paths))


def write_routers(spec: Mapping[str, Any], out: Path, *, next_cursor_header: str) -> list[Path]:
    """Write the package into ``out`` (created) and return the files written.

    ``next_cursor_header`` is the answer header of the lists that page (see ``builders.next_cursor_header``).
    """
    reader = _Reader(spec)
    reader.named_enums()
    tags = reader.tags()
    env = _environment()
    out.mkdir(parents=True, exist_ok=True)
    files = {
        "__init__.py": env.get_template("__init__.py.jinja").render(
            tags=tags, raw_body_routes=_raw_body_routes(tags), api_version=str(spec["info"]["version"])
        ),
        "_support.py": env.get_template("_support.py.jinja").render(next_cursor_header=next_cursor_header),
        "types.py": env.get_template("types.py.jinja").render(aliases=sorted(reader.aliases.items())),
    }
    router = env.get_template("router.py.jinja")
    for tag in tags:
        files[f"{tag.module}.py"] = router.render(
            tag=tag, models=sorted(tag.models), aliases=sorted(tag.aliases)
        )
    written = []
    for name, text in files.items():
        target = out / name
        target.write_text(text)
        written.append(target)
    return written
