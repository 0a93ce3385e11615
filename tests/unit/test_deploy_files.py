"""deploy/: the compose file and the Kubernetes manifests against their published schemas.

The schemas come from installed packages, never from the network: the Compose Specification's JSON
schema as vendored by ``check-jsonschema``, and the Kubernetes OpenAPI-derived JSON schemas shipped by
``kubernetes-validate`` (strict: unknown fields are errors).
"""

from __future__ import annotations

import json
import shlex
from pathlib import Path
from typing import Any

import check_jsonschema
import jsonschema
import kubernetes_validate
import pytest
import typer
import yaml

from flow_local.platform_cli import platform_app

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
KUBERNETES_VERSION = "1.34.0"
COMPOSE_SCHEMA = Path(check_jsonschema.__file__).parent / "builtin_schemas" / "vendor" / "compose-spec.json"


def _compose_errors(document: dict[str, Any]) -> list[str]:
    schema = json.loads(COMPOSE_SCHEMA.read_text())
    validator = jsonschema.validators.validator_for(schema)(schema)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(document)]


def _manifests() -> list[dict[str, Any]]:
    documents = []
    for path in sorted((DEPLOY / "kubernetes").glob("*.yaml")):
        documents += [d for d in yaml.safe_load_all(path.read_text()) if d]
    return documents


def test_the_compose_file_follows_the_compose_specification() -> None:
    assert _compose_errors(yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())) == []


def test_a_broken_compose_file_is_caught() -> None:
    document = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    document["services"]["api"]["depends_on"]["postgres"]["condition"] = "when_ready"
    document["services"]["api"]["restart_policy"] = "always"
    assert len(_compose_errors(document)) >= 2


def test_every_kubernetes_manifest_follows_its_schema() -> None:
    manifests = _manifests()
    assert {m["kind"] for m in manifests} >= {"Deployment", "Service", "PersistentVolumeClaim"}
    for manifest in manifests:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_a_broken_manifest_is_caught() -> None:
    [deployment] = [m for m in _manifests() if m["kind"] == "Deployment"]
    deployment["spec"]["replicas"] = "one"
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)
    deployment["spec"]["replicas"] = 1
    deployment["spec"]["template"]["spec"]["containers"][0]["readinessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(deployment, KUBERNETES_VERSION, strict=True)


def _serve_options() -> set[str]:
    command = typer.main.get_command(platform_app)
    serve = command.commands["serve"]  # type: ignore[attr-defined]
    return {name for param in serve.params for name in param.opts}


def _entrypoint() -> list[str]:
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("ENTRYPOINT"):
            return list(json.loads(line.removeprefix("ENTRYPOINT")))
    raise AssertionError("deploy/Dockerfile has no ENTRYPOINT")


def test_the_image_runs_flow_platform_serve_with_options_it_has() -> None:
    entrypoint = _entrypoint()
    assert entrypoint[:3] == ["flow", "platform", "serve"]
    compose_args = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]["api"]["command"]
    [deployment] = [m for m in _manifests() if m["kind"] == "Deployment"]
    kubernetes_args = deployment["spec"]["template"]["spec"]["containers"][0]["args"]
    for arguments in (entrypoint[3:], compose_args, kubernetes_args):
        flags = {a.split("=", 1)[0] for a in arguments if a.startswith("--")}
        assert flags <= _serve_options(), f"unknown options in {shlex.join(arguments)}"
