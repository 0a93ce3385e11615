"""codegen/generate.py: pinned tool versions, --check, idempotent rewrites and the lock between runs.

Every run that writes works on a copy of the generated trees in a temporary root (``--root``), so the
real ones are only ever read.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

from .conftest import ROOT

GENERATE = ROOT / "codegen" / "generate.py"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(GENERATE), *args],
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
        cwd=ROOT,
    )


TREES = ("flow_sdk/_generated", "flow_local/_generated")


@pytest.fixture
def copy_of_root(tmp_path: Path) -> Path:
    """A root holding a copy of both generated trees (without caches) that a test may change."""
    root = tmp_path / "root"
    for tree in TREES:
        shutil.copytree(ROOT / tree, root / tree, ignore=shutil.ignore_patterns("__pycache__"))
    return root


def _mtimes(tree: Path) -> dict[Path, int]:
    return {path: path.stat().st_mtime_ns for path in tree.rglob("*") if path.is_file()}


def test_pins_are_read_from_pyproject_and_installed(generate: ModuleType) -> None:
    pins = generate.pinned_versions()
    assert pins == {"datamodel-code-generator": "0.89.0", "ruff": "0.17.6"}
    generate.check_tool_versions(pins, generate.installed_versions())


def test_other_tool_versions_are_refused_with_a_clear_message(generate: ModuleType) -> None:
    pins = {"datamodel-code-generator": "0.89.0", "ruff": "0.17.6"}
    installed = {"datamodel-code-generator": "0.90.0", "ruff": None}
    with pytest.raises(generate.CodegenError) as caught:
        generate.check_tool_versions(pins, installed)
    message = str(caught.value)
    assert "datamodel-code-generator==0.89.0 is pinned but 0.90.0 is installed" in message
    assert "ruff==0.17.6 is pinned but nothing is installed" in message


def test_main_refuses_to_run_with_a_wrong_version(
    generate: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(generate, "installed_versions", lambda: {"datamodel-code-generator": "0.88.0"})
    root = tmp_path / "root"
    assert generate.main(["--root", str(root)]) == 2
    assert "refusing to generate" in capsys.readouterr().err
    assert not root.exists()


@pytest.mark.slow
def test_real_generated_tree_is_up_to_date() -> None:
    result = _run("--check")
    assert result.returncode == 0, result.stderr + "\nrun: .venv/bin/python codegen/generate.py"


@pytest.mark.slow
def test_check_names_stale_files_and_a_rewrite_restores_them(copy_of_root: Path) -> None:
    changed = copy_of_root / "flow_sdk/_generated/types/__init__.py"
    changed.write_text(changed.read_text() + "\nEXTRA = 1\n")
    (copy_of_root / "flow_sdk/_generated/client/auth.py").unlink()
    (copy_of_root / "flow_local/_generated/models/stray.py").write_text("")

    check = _run("--check", "--root", str(copy_of_root))
    assert check.returncode == 1
    for name in (
        "flow_sdk/_generated/types/__init__.py",
        "flow_sdk/_generated/client/auth.py",
        "flow_local/_generated/models/stray.py",
    ):
        assert name in check.stderr
    assert "EXTRA = 1" in changed.read_text(), "--check must not write"

    rewrite = _run("--root", str(copy_of_root))
    assert rewrite.returncode == 0, rewrite.stderr
    assert "3 files changed" in rewrite.stdout
    for tree in TREES:
        stale = subprocess.run(
            ["diff", "-r", "-x", "__pycache__", str(ROOT / tree), str(copy_of_root / tree)],
            capture_output=True,
            text=True,
        )
        assert stale.returncode == 0, stale.stdout
        siblings = [p.name for p in (copy_of_root / tree).parent.iterdir()]
        assert siblings == ["_generated"], "staging directories left behind"


@pytest.mark.slow
def test_second_run_changes_nothing_and_waits_for_the_lock(generate: ModuleType, copy_of_root: Path) -> None:
    before = _mtimes(copy_of_root)
    with generate.codegen_lock(copy_of_root):
        process = subprocess.Popen(
            [sys.executable, str(GENERATE), "--root", str(copy_of_root)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        # The lock is held until the run says it waits (however long its start takes on a loaded
        # machine); a run that did not wait would finish first, and its stderr would end empty.
        assert process.stderr is not None
        first_line = process.stderr.readline()
        assert "waiting for another codegen run" in first_line
        assert process.poll() is None, "the run must wait while another holds the lock"
    stdout, stderr = process.communicate(timeout=120)
    assert process.returncode == 0, stderr
    assert "are up to date" in stdout
    assert _mtimes(copy_of_root) == before


@pytest.mark.parametrize("atomic", [True, False], ids=["rename-exchange", "two-renames"])
def test_install_replaces_the_tree_and_leaves_no_staging_behind(
    generate: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, atomic: bool
) -> None:
    if not atomic:
        monkeypatch.setattr(generate, "_exchange", lambda first, second: False)
    fresh, target = tmp_path / "fresh", tmp_path / "out" / "generated"
    (fresh / "pkg").mkdir(parents=True)
    (fresh / "pkg" / "new.py").write_text("NEW = 1\n")
    (target / "pkg").mkdir(parents=True)
    (target / "pkg" / "old.py").write_text("OLD = 1\n")
    generate.install(fresh, target)
    assert generate.differences(fresh, target) == []
    assert [p.name for p in target.parent.iterdir()] == ["generated"]
    if atomic:
        assert generate._exchange(target, fresh), "renameat2(RENAME_EXCHANGE) should exist on this Linux"
