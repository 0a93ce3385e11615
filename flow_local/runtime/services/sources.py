"""Where a version's source comes from: the deploy's ``files`` or ``source_dir``, copied into the data dir."""

from __future__ import annotations

import shutil
from pathlib import Path, PurePosixPath

from flow_local.errors import bad_request

MAX_SOURCE_BYTES = 20 * 1024 * 1024
_IGNORED = shutil.ignore_patterns(
    "__pycache__", "*.pyc", ".git", ".venv", "venv", "node_modules", ".pytest_cache"
)


def _safe_relative(name: str) -> PurePosixPath:
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name:
        raise bad_request(f"files: '{name}' must be a relative path without '..'", "files")
    return path


def write_files(files: dict[str, str], target: Path) -> None:
    """Write ``files`` (relative path → text) under ``target``."""
    if not files:
        raise bad_request("files must hold at least one file", "files")
    total = sum(len(text.encode()) for text in files.values())
    if total > MAX_SOURCE_BYTES:
        raise bad_request(f"files hold {total} bytes; the limit is {MAX_SOURCE_BYTES}", "files")
    for name, text in files.items():
        destination = target / _safe_relative(name)
        destination.parent.mkdir(parents=True, exist_ok=True)
        destination.write_text(text, encoding="utf-8")


def copy_source_dir(source_dir: str, target: Path) -> None:
    """Copy a directory of the platform's machine under ``target`` (caches and virtualenvs left out)."""
    source = Path(source_dir).expanduser()
    if not source.is_dir():
        raise bad_request(
            f"source_dir '{source_dir}' is not a directory on the platform's machine", "source_dir"
        )
    if target.resolve().is_relative_to(source.resolve()):
        raise bad_request(
            f"source_dir '{source_dir}' holds the platform's data directory; deploy the app's own folder",
            "source_dir",
        )
    try:
        shutil.copytree(source, target, ignore=_IGNORED, dirs_exist_ok=True)
    except (shutil.Error, OSError) as exc:
        raise bad_request(f"source_dir '{source_dir}' could not be copied: {exc}", "source_dir") from exc


def check_app_module(app: str, source: Path) -> None:
    """400 unless the module of ``module:app`` is a file or package in ``source``."""
    module = app.partition(":")[0]
    relative = Path(*module.split("."))
    if (
        not (source / relative.with_suffix(".py")).is_file()
        and not (source / relative / "__init__.py").is_file()
    ):
        raise bad_request(f"app '{app}': no module '{module}' in the deployed source", "app")


def materialize(target: Path, app: str, files: dict[str, str] | None, source_dir: str | None) -> None:
    """Put a version's source in ``target`` from exactly one of ``files`` and ``source_dir``."""
    if (files is None) == (source_dir is None):
        raise bad_request("give exactly one of files and source_dir", "files")
    target.mkdir(parents=True, exist_ok=True)
    if files is not None:
        write_files(files, target)
    else:
        copy_source_dir(str(source_dir), target)
    check_app_module(app, target)
