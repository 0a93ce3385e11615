"""``flow components list|get|create|delete TYPE ...``: the workspace's component catalog."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, get_args

import typer

from flow_sdk._generated.types import ComponentType
from flow_sdk.cli.context import JsonOption, make_client, parse_json_object
from flow_sdk.cli.output import echo, print_json, print_record, print_table

if TYPE_CHECKING:
    from flow_sdk.cli_namespaces import ComponentTypeNamespace

__all__ = ["register"]

COMPONENT_TYPES: tuple[str, ...] = get_args(ComponentType)

components_app = typer.Typer(
    help="Components of the workspace (code blocks, agents, workflows, ...).", no_args_is_help=True
)

TypeArgument = typer.Argument(..., help=f"Component type: {', '.join(COMPONENT_TYPES)} (- or _ both work).")


def register(app: typer.Typer) -> None:
    """Add the ``components`` group to ``app``."""
    app.add_typer(components_app, name="components")


def component_type_of(value: str) -> str:
    """Normalise ``code-block`` to ``code_block``; an unknown type is a usage error."""
    normalised = value.strip().lower().replace("-", "_")
    if normalised not in COMPONENT_TYPES:
        raise typer.BadParameter(f"unknown component type {value!r}; use one of {', '.join(COMPONENT_TYPES)}")
    return normalised


def _namespace(ctx: typer.Context, component_type: str) -> ComponentTypeNamespace:
    from flow_sdk.cli_namespaces import ComponentTypeNamespace

    return ComponentTypeNamespace(make_client(ctx), component_type_of(component_type))


@components_app.command("list")
def list_components(
    ctx: typer.Context,
    component_type: str = TypeArgument,
    limit: int = typer.Option(100, min=1, max=1000, help="At most this many."),
    offset: int = typer.Option(0, min=0, help="Skip this many."),
    as_json: bool = JsonOption,
) -> None:
    """List the components of one type."""
    items = _namespace(ctx, component_type).list(limit=limit, offset=offset)
    if as_json:
        print_json(items)
    else:
        print_table(
            items, ["id", "name", "version", "updated_at"], title=f"{component_type_of(component_type)}s"
        )


@components_app.command("get")
def get_component(
    ctx: typer.Context,
    component_type: str = TypeArgument,
    component_id: str = typer.Argument(..., help="Component id."),
    as_json: bool = JsonOption,
) -> None:
    """Show one component at its latest version."""
    item = _namespace(ctx, component_type).get(component_id)
    if as_json:
        print_json(item)
    else:
        print_record(item)


@components_app.command("create")
def create_component(
    ctx: typer.Context,
    component_type: str = TypeArgument,
    name: str = typer.Option(..., "--name", help="Display name."),
    component_id: str | None = typer.Option(None, "--id", help="Id to use (generated when absent)."),
    description: str | None = typer.Option(None, "--description", help="A sentence about it."),
    spec: str | None = typer.Option(None, "--spec", help="The spec as a JSON object."),
    spec_file: Path | None = typer.Option(None, "--spec-file", help="A file holding the spec as JSON."),
    source_file: Path | None = typer.Option(
        None,
        "--source-file",
        help="A Python file that defines main(...), stored as spec.source (code blocks).",
    ),
    as_json: bool = JsonOption,
) -> None:
    """Create a component (version 1)."""
    body_spec = parse_json_object(spec, spec_file, "--spec")
    if source_file is not None:
        try:
            body_spec["source"] = source_file.read_text(encoding="utf-8")
        except OSError as exc:
            raise typer.BadParameter(f"cannot read --source-file {source_file}: {exc.strerror}") from None
    data = {"name": name, "id": component_id, "description": description, "spec": body_spec}
    created = _namespace(ctx, component_type).create({k: v for k, v in data.items() if v is not None})
    if as_json:
        print_json(created)
    else:
        echo(
            f"Created {created['component_type']} {created['id']} '{created['name']}' (version {created['version']})"
        )


@components_app.command("delete")
def delete_component(
    ctx: typer.Context,
    component_type: str = TypeArgument,
    component_id: str = typer.Argument(..., help="Component id."),
    yes: bool = typer.Option(False, "--yes", "-y", help="Do not ask for confirmation."),
) -> None:
    """Delete a component and all its versions."""
    namespace = _namespace(ctx, component_type)
    if not yes:
        typer.confirm(f"Delete {namespace.component_type} {component_id} and all its versions?", abort=True)
    namespace.delete(component_id)
    echo(f"Deleted {namespace.component_type} {component_id}")
