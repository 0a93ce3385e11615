"""deploy/: the compose file and the Kubernetes manifests against their published schemas.

The schemas come from installed packages, never from the network: the Compose Specification's JSON
schema as vendored by ``check-jsonschema``, and the Kubernetes OpenAPI-derived JSON schemas shipped by
``kubernetes-validate`` (strict: unknown fields are errors).
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
from pathlib import Path
from typing import Any

import check_jsonschema
import jsonschema
import kubernetes_validate
import pytest
import typer
import yaml

from flow_local.cluster.nats_config import render
from flow_local.cluster.runner_cli import runner_app
from flow_local.platform_cli import platform_app
from flow_local.runtime.nats_server import find_nats_server

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


def _deployment(name: str) -> dict[str, Any]:
    [deployment] = [m for m in _manifests() if m["kind"] == "Deployment" and m["metadata"]["name"] == name]
    return deployment


def test_every_kubernetes_manifest_follows_its_schema() -> None:
    manifests = _manifests()
    assert {m["kind"] for m in manifests} >= {"Deployment", "Service"}
    assert {m["metadata"]["name"] for m in manifests if m["kind"] == "Deployment"} == {
        "flow-api",
        "flow-runner",
    }
    for manifest in manifests:
        kubernetes_validate.validate(manifest, KUBERNETES_VERSION, strict=True)


def test_a_broken_manifest_is_caught() -> None:
    deployment = _deployment("flow-api")
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


def _runner_options() -> set[str]:
    return {name for param in typer.main.get_command(runner_app).params for name in param.opts}


def _entrypoint() -> list[str]:
    for line in (DEPLOY / "Dockerfile").read_text().splitlines():
        if line.startswith("ENTRYPOINT"):
            return list(json.loads(line.removeprefix("ENTRYPOINT")))
    raise AssertionError("deploy/Dockerfile has no ENTRYPOINT")


def test_the_image_runs_flow_platform_serve_with_options_it_has() -> None:
    entrypoint = _entrypoint()
    assert entrypoint[:3] == ["flow", "platform", "serve"]
    compose_args = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]["api"]["command"]
    kubernetes_args = _deployment("flow-api")["spec"]["template"]["spec"]["containers"][0]["args"]
    for arguments in (entrypoint[3:], compose_args, kubernetes_args):
        flags = {a.split("=", 1)[0] for a in arguments if a.startswith("--")}
        assert flags <= _serve_options(), f"unknown options in {shlex.join(arguments)}"


def test_runners_run_flow_runner_with_options_it_has() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())["services"]["runner"]
    container = _deployment("flow-runner")["spec"]["template"]["spec"]["containers"][0]
    assert compose["entrypoint"] == container["command"] == ["flow", "runner"]
    for arguments in (compose["command"], container["args"]):
        flags = {a.split("=", 1)[0] for a in arguments if a.startswith("--")}
        assert "--nats" in flags and flags <= _runner_options(), f"unknown options in {shlex.join(arguments)}"


def test_the_nats_node_configuration_is_generated_and_accepted_by_nats_server() -> None:
    path = DEPLOY / "nats" / "nats.conf"
    assert path.read_text() == render(), (
        "run: python -m flow_local.cluster.nats_config > deploy/nats/nats.conf"
    )
    passwords = {f"NATS_{user}_PASSWORD": "x" for user in ("PLATFORM", "RUNNER", "SYSTEM")}
    checked = subprocess.run(
        [find_nats_server(), "-c", str(path), "-t"],
        capture_output=True,
        text=True,
        env={**os.environ, **passwords},
        timeout=60,
    )
    assert checked.returncode == 0, checked.stderr
    del passwords["NATS_RUNNER_PASSWORD"]
    missing = subprocess.run(
        [find_nats_server(), "-c", str(path), "-t"],
        capture_output=True,
        text=True,
        env={**{k: v for k, v in os.environ.items() if not k.startswith("NATS_")}, **passwords},
        timeout=60,
    )
    assert missing.returncode != 0 and "NATS_RUNNER_PASSWORD" in missing.stderr
