"""Choosing the database by URL: the SQLite default, sqlite:/// paths, and unknown schemes."""

from __future__ import annotations

from pathlib import Path

import pytest

from flow_local.backends import BackendURLError, open_database, sqlite_path
from flow_local.db import SqliteDatabase, redacted_url
from flow_local.settings import Settings


def test_no_url_is_sqlite_in_the_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("FLOW_DATABASE_URL", raising=False)
    db = open_database(Settings.load(tmp_path))
    try:
        assert isinstance(db, SqliteDatabase) and db.path == tmp_path.resolve() / "platform.db"
    finally:
        db.close()


def test_sqlite_urls_name_absolute_or_data_dir_relative_files(tmp_path: Path) -> None:
    assert sqlite_path(f"sqlite:///{tmp_path}/x.db".replace("///", "////", 1), tmp_path) == tmp_path / "x.db"
    assert sqlite_path("sqlite:///sub/x.db", tmp_path) == tmp_path / "sub" / "x.db"
    with pytest.raises(BackendURLError, match="names no file"):
        sqlite_path("sqlite:///", tmp_path)


def test_the_environment_chooses_when_no_url_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("FLOW_DATABASE_URL", "sqlite:///from-env.db")
    settings = Settings.load(tmp_path)
    db = open_database(settings)
    try:
        assert isinstance(db, SqliteDatabase) and db.path == settings.data_dir / "from-env.db"
    finally:
        db.close()


def test_an_unknown_scheme_is_refused_by_name(tmp_path: Path) -> None:
    with pytest.raises(BackendURLError, match="'mysql' is not supported"):
        open_database(Settings.load(tmp_path, database_url="mysql://db/flow"))


def test_passwords_are_redacted_from_printed_urls() -> None:
    assert redacted_url("postgresql://flow:s3cret@db:5432/flow") == "postgresql://flow:***@db:5432/flow"
    assert redacted_url("postgresql://db/flow") == "postgresql://db/flow"
