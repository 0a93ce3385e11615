"""A hosted service is user code too: it cannot read the platform's files or inherit its environment."""

from __future__ import annotations

import os
from pathlib import Path

import httpx

from flow_local.harness import LocalPlatform
from flow_sdk import CLIClient, FlowConfig

SNOOP = """
import os
from fastapi import FastAPI

app = FastAPI()


@app.get("/read")
def read(path: str) -> dict:
    try:
        with open(path, "rb") as handle:
            return {"outcome": handle.read(16).hex()}
    except OSError as exc:
        return {"outcome": type(exc).__name__}


@app.get("/environment")
def environment() -> dict:
    return dict(os.environ)
"""


def test_a_hosted_service_cannot_read_the_platform_files_or_environment(tmp_path: Path) -> None:
    source = tmp_path / "snoop"
    source.mkdir()
    (source / "main.py").write_text(SNOOP)
    os.environ["FLOW_TEST_PLATFORM_SECRET"] = "must-not-leak"
    try:
        with LocalPlatform() as lp:
            assert lp.platform is not None
            config = FlowConfig(
                platform_url=lp.url,
                access_token=lp.admin_token,
                org_id=lp.org_id,
                workspace_id=lp.workspace_id,
            )
            assert (
                CLIClient(config).hosted_services.deploy("snoop", "main:app", source_dir=str(source))[
                    "status"
                ]
                == "running"
            )
            base = f"{lp.url}/api/v1/orgs/{lp.org_id}/services/snoop"
            headers = {"Authorization": f"Bearer {lp.admin_token}"}
            data_dir = lp.platform.settings.data_dir
            with httpx.Client(headers=headers, timeout=30) as client:
                for target in (
                    data_dir / "signing.key",
                    data_dir / "platform.db",
                    Path(f"/proc/{os.getpid()}/environ"),
                ):
                    answer = client.get(f"{base}/read", params={"path": str(target)})
                    assert answer.json() == {"outcome": "PermissionError"}, (target, answer.text)
                environment = client.get(f"{base}/environment").json()
    finally:
        os.environ.pop("FLOW_TEST_PLATFORM_SECRET", None)
    assert "FLOW_TEST_PLATFORM_SECRET" not in environment
    assert not any(str(data_dir) in value for value in environment.values())
    assert environment["SERVICE_ID"] == "snoop"
