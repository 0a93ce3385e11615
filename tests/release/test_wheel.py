"""The built wheel, installed without extras in a clean virtual environment, talks to a local platform.

This is what a user of the package index gets: no source tree on ``sys.path``, no ``local`` or
``nats`` extra, only the core dependencies. The platform itself runs from the project's environment.
It is part of the default run (about ten seconds with a warm uv cache); ``nox -s wheel`` runs it alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tarfile
import tomllib
import zipfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from flow_local.harness import LocalPlatform

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]

# Runs in the clean environment: a synchronous and an asynchronous call, and what got imported.
CLIENT_SCRIPT = """
import asyncio, json, os, sys
import flow_sdk
from flow_sdk import CLIClient, FlowConfig, FlowSDK

url = os.environ["PLATFORM_API_URL"]
token = CLIClient.exchange_api_key(url, os.environ["FLOW_API_KEY"])
with CLIClient(FlowConfig(url, token, os.environ["ORG_ID"], os.environ["WORKSPACE_ID"])) as cli:
    orgs = cli.list_orgs()


async def main():
    async with FlowSDK(auth_token=token) as flow:
        await flow.storage.upload(key="wheel/check.txt", data=b"from the wheel", content_type="text/plain")
        return await flow.storage.download("wheel/check.txt")


body = asyncio.run(main())
print(json.dumps({
    "version": flow_sdk.__version__,
    "module_file": flow_sdk.__file__,
    "org_ids": [org["id"] for org in orgs],
    "downloaded": body.decode(),
    "nats_loaded": "nats" in sys.modules,
}))
"""


# Runs in a venv with the wheel's local extra: the packaged platform starts and answers the SDK.
LOCAL_SCRIPT = """
import asyncio, json
import httpx
from flow_local import LocalPlatform
from flow_sdk import FlowSDK


async def main(platform):
    async with FlowSDK(org_id=platform.org_id, workspace_id=platform.workspace_id,
                       auth_token=platform.admin_token, platform_url=platform.url) as flow:
        answer = await flow.gateway.chat_completion(
            model="offline/chat", messages=[{"role": "user", "content": "packaged"}])
        return answer["choices"][0]["message"]["content"]


with LocalPlatform(subprocess=True) as platform:
    print(json.dumps({
        "answer": asyncio.run(main(platform)),
        "spec_paths": len(httpx.get(platform.url + "/openapi.json").json()["paths"]),
        "console": httpx.get(platform.url + "/login").status_code,
    }))
"""


def _run(*command: str | Path, env: dict[str, str] | None = None, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, timeout=300, env=env, cwd=cwd
    )
    assert result.returncode == 0, f"{command} failed:\n{result.stdout}\n{result.stderr}"
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel, built from this checkout by the standard build frontend."""
    out = tmp_path_factory.mktemp("dist")
    _run(sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", out, ROOT)
    (built,) = out.glob("*.whl")
    return built


@pytest.fixture(scope="module")
def clean_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with only the wheel and its required dependencies installed."""
    venv = tmp_path_factory.mktemp("clean") / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "uv", "pip", "install", "--quiet", "--python", python, wheel)
    return python


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    """A local platform in its own process, run by the project's environment."""
    with LocalPlatform(subprocess=True) as running:
        yield running


def _clean_env(extra: dict[str, str]) -> dict[str, str]:
    """A minimal environment: no PYTHONPATH, no user config, only what the call needs."""
    return {"PATH": os.defpath, "HOME": os.environ.get("HOME", "/tmp"), **extra}


@pytest.fixture(scope="module")
def local_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A new virtual environment with the wheel and its ``local`` extra."""
    venv = tmp_path_factory.mktemp("local") / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", venv)
    python = venv / "bin" / "python"
    _run(sys.executable, "-m", "uv", "pip", "install", "--quiet", "--python", python, f"{wheel}[local]")
    return python


def test_the_wheel_is_named_and_versioned_for_the_index(wheel: Path) -> None:
    assert wheel.name == f"manifest_flow_sdk-{VERSION}-py3-none-any.whl"


def test_the_wheel_has_only_the_two_import_packages_at_its_top(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
    top = {name.split("/")[0] for name in names if "/" in name}
    assert {name for name in top if not name.endswith(".dist-info")} == {"flow_sdk", "flow_local"}
    assert {"flow_sdk/_generated/client/storage.py", "flow_local/_generated/routers/storage.py"} <= names


def test_the_sdist_holds_the_licence_and_changelog_and_no_local_caches(tmp_path: Path) -> None:
    _run(sys.executable, "-m", "build", "--sdist", "--no-isolation", "--outdir", tmp_path, ROOT)
    (sdist,) = tmp_path.glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        top = {name.split("/")[1] for name in archive.getnames() if name.count("/") >= 1}
    assert {"LICENSE", "CHANGELOG.md", "README.md", "pyproject.toml", "flow_sdk", "flow_local"} <= top
    assert not top & {".venv", ".hypothesis", ".nox", "node_modules", "site", ".mypy_cache"}


def test_no_extra_is_installed_with_the_wheel(clean_python: Path, tmp_path: Path) -> None:
    probe = (
        "import importlib.util, json\n"
        "names = ['flow_sdk', 'httpx', 'nats', 'fastapi', 'uvicorn', 'numpy']\n"
        "print(json.dumps({n: importlib.util.find_spec(n) is not None for n in names}))\n"
    )
    found = json.loads(_run(clean_python, "-c", probe, env=_clean_env({}), cwd=tmp_path))
    assert found == {
        "flow_sdk": True,
        "httpx": True,
        "nats": False,
        "fastapi": False,
        "uvicorn": False,
        "numpy": False,
    }


def test_the_installed_sdk_calls_a_local_platform(
    clean_python: Path, platform: LocalPlatform, tmp_path: Path
) -> None:
    env = _clean_env({**platform.env(), "FLOW_CONFIG_DIR": str(tmp_path / "config")})
    report = json.loads(_run(clean_python, "-c", CLIENT_SCRIPT, env=env, cwd=tmp_path))
    assert report["version"] == VERSION
    assert Path(report["module_file"]).is_relative_to(clean_python.parent.parent)
    assert report["org_ids"] == [platform.org_id]
    assert report["downloaded"] == "from the wheel"
    assert report["nats_loaded"] is False


def test_the_flow_command_of_the_wheel_lists_orgs(
    clean_python: Path, platform: LocalPlatform, tmp_path: Path
) -> None:
    env = _clean_env({**platform.env(), "FLOW_CONFIG_DIR": str(tmp_path / "config")})
    flow = clean_python.parent / "flow"
    orgs = json.loads(_run(flow, "orgs", "list", "--json", env=env, cwd=tmp_path))
    assert [org["id"] for org in orgs] == [platform.org_id]


def test_the_local_extra_of_the_wheel_runs_a_platform(local_python: Path, tmp_path: Path) -> None:
    env = _clean_env({"FLOW_LOCAL_RUNNER_WORKERS": "0"})
    report = json.loads(_run(local_python, "-c", LOCAL_SCRIPT, env=env, cwd=tmp_path))
    assert report["answer"] == "You said: packaged"
    assert report["spec_paths"] > 50, "the packaged OpenAPI document is served"
    assert report["console"] == 200
