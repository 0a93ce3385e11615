"""A pytest plugin that runs other test folders against the cluster profile's engines.

``pytest -p tests.cluster.profile tests/local/test_areas.py ...`` starts PostgreSQL (and, with
``FLOW_TEST_OBJECT_STORE=s3``, SeaweedFS) for the session, and gives every test module a database of
its own (and an object-store prefix of its own) through ``FLOW_DATABASE_URL`` and
``FLOW_OBJECT_STORE_URL``: the platforms the module starts, in threads or subprocesses, use them
instead of SQLite and files. The tests themselves are unchanged.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator

import pytest

from flow_local.cluster.engines import PostgresEngine, SeaweedEngine

OBJECT_STORE_SWITCH = "FLOW_TEST_OBJECT_STORE"
BUCKET = "flow-tests"
_numbers = itertools.count(1)


@pytest.fixture(scope="session")
def profile_engines(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[PostgresEngine, SeaweedEngine | None]]:
    """PostgreSQL, and SeaweedFS when object storage is switched to S3, for the whole session."""
    root = tmp_path_factory.mktemp("profile-engines")
    postgres = PostgresEngine(root / "postgres")
    seaweed = SeaweedEngine(root / "seaweed") if os.environ.get(OBJECT_STORE_SWITCH) == "s3" else None
    try:
        postgres.start()
        if seaweed is not None:
            seaweed.start()
        yield postgres, seaweed
    finally:
        if seaweed is not None:
            seaweed.close()
        postgres.close()


@pytest.fixture(scope="module", autouse=True)
def cluster_backends(
    profile_engines: tuple[PostgresEngine, SeaweedEngine | None],
) -> Iterator[None]:
    """A fresh database (and object prefix) for every platform this module starts."""
    postgres, seaweed = profile_engines
    number = next(_numbers)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("FLOW_DATABASE_URL", postgres.create_database(f"module_{number}"))
        if seaweed is not None:
            patch.setenv("FLOW_OBJECT_STORE_URL", seaweed.object_store_url(BUCKET, f"module-{number}"))
            for name, value in seaweed.credentials_env().items():
                patch.setenv(name, value)
        yield
    _check_used(postgres, f"module_{number}")


def _check_used(postgres: PostgresEngine, database: str) -> None:
    """Fail when the module's platforms did not migrate their schema into PostgreSQL (the switch did not take)."""
    import psycopg

    with psycopg.connect(postgres.url(database)) as conn:
        found = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
        applied = (
            conn.execute("SELECT count(*) FROM schema_migrations").fetchone() if found and found[0] else (0,)
        )
    assert applied is not None and applied[0] > 0, f"no platform of this module used PostgreSQL ({database})"
