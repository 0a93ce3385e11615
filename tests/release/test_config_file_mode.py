"""Saved profiles are private files on every platform, including those without ``os.fchmod``."""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from flow_sdk import FlowConfig


@pytest.fixture
def open_umask() -> Iterator[None]:
    """A umask that would leave new files world-readable unless the writer restricts them itself."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


def _save(path: Path) -> None:
    FlowConfig("http://127.0.0.1:8080", "token-1", "org-1", "ws-1", api_key="fl_key", path=path).save()


def test_a_profile_saves_and_loads_where_os_has_no_fchmod(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delattr(os, "fchmod", raising=False)
    path = tmp_path / "flow" / "config.json"
    _save(path)
    loaded = FlowConfig.load(path=path, use_env=False)
    assert (loaded.org_id, loaded.workspace_id, loaded.api_key) == ("org-1", "ws-1", "fl_key")


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permission bits")
def test_the_config_file_is_owner_only_even_with_an_open_umask(tmp_path: Path, open_umask: None) -> None:
    path = tmp_path / "flow" / "config.json"
    _save(path)
    _save(path)  # rewriting replaces the file and keeps it private
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
