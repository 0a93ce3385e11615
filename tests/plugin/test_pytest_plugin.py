"""The pytest plugin as a user meets it: a project of their own, outside this repository, run by pytest."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "testing"
PYTEST_INI = "[pytest]\nasyncio_default_fixture_loop_scope = function\n"

pytestmark = pytest.mark.slow


def _user_project(tmp_path: Path, ini: str = PYTEST_INI) -> Path:
    """Copy the example test project into a temporary directory with its own pytest.ini."""
    project = tmp_path / "project"
    shutil.copytree(EXAMPLE, project)
    (project / "pytest.ini").write_text(ini)
    return project


def _pytest(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", *args],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )


def test_a_user_project_tests_its_code_block_and_service(tmp_path: Path) -> None:
    project = _user_project(tmp_path)
    data_dir = tmp_path / "platform-data"

    result = _pytest(project, "--flow-workers", "1", "--flow-data-dir", str(data_dir))

    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
    assert (data_dir / "platform.db").exists()


def test_ini_settings_are_read_and_checked(tmp_path: Path) -> None:
    project = _user_project(tmp_path, PYTEST_INI + "flow_workers = many\n")

    result = _pytest(project)

    assert result.returncode == 4, result.stdout + result.stderr
    assert "flow workers must be a whole number, got 'many'" in result.stderr


def test_a_negative_worker_count_is_a_usage_error(tmp_path: Path) -> None:
    result = _pytest(_user_project(tmp_path), "--flow-workers", "-1")

    assert result.returncode == 4
    assert "flow workers must be 0 or more, got -1" in result.stderr
