"""``flow local services deploy`` and ``logs`` against the running platform's data dir."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from flow_local.cli import local_app

from .conftest import EXAMPLES, Deployment


def test_deploy_and_logs_commands(deployment: Deployment) -> None:
    data_dir = deployment.lp.data_dir
    (data_dir / "server.json").write_text(json.dumps({"url": deployment.lp.url}))
    runner = CliRunner()
    args = ["services", "deploy", "cli-demo", str(EXAMPLES / "profile_service"), "--app", "main:app"]
    result = runner.invoke(local_app, [*args, "--env", "GREETING=hi", "--data-dir", str(data_dir)])
    assert result.exit_code == 0, result.output
    assert "deployed cli-demo v1 (running)" in result.output
    assert deployment.cli.invoke_service("cli-demo", "GET", "/whoami")["service_id"] == "cli-demo"
    logs = runner.invoke(local_app, ["services", "logs", "cli-demo", "--data-dir", str(data_dir)])
    assert logs.exit_code == 0 and "Application startup complete" in logs.output
    no_app = runner.invoke(local_app, ["services", "deploy", "x", str(EXAMPLES), "--data-dir", str(data_dir)])
    assert no_app.exit_code == 1 and "no module 'main'" in no_app.output
    itself = runner.invoke(local_app, ["services", "deploy", "x", str(data_dir), "--data-dir", str(data_dir)])
    assert itself.exit_code == 1 and "data directory" in itself.output
