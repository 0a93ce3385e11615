"""Rotating the token keys of two ``flow platform serve`` replicas sharing one PostgreSQL database.

The operator runs ``flow platform keys rotate`` with the replicas' database and key directory. Tokens
signed before keep working on both replicas, a token signed with the new key works on both at once,
and both publish both keys; once the old key's time is up, the next rotation deletes it and neither
replica publishes it any more. Each replica has its own embedded NATS server: only the database and
the key directory are shared, which is all the token keys need.
"""

from __future__ import annotations

import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import jwt
import psycopg
import pytest

from flow_local.auth import TokenSigner
from flow_local.bootstrap import DEV_KEY_FILE
from flow_local.cluster.engines import PostgresEngine
from flow_local.cluster.topology import PlatformReplica, base_environment, flow_command
from flow_local.cluster.workspace import default_workspace
from flow_local.postgres import PostgresDatabase
from flow_local.sealing import Sealer
from flow_local.settings import load_sealing_key
from flow_local.signing_keys import DatabaseKeyRing

JWKS_PATH = "/api/v1/auth/jwks"
ME_PATH = "/api/v1/auth/me"


@pytest.fixture(scope="module")
def shared(postgres: PostgresEngine, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment the replicas and the operator share: the database and the key directory."""
    root = tmp_path_factory.mktemp("key-rotation")
    return {
        **base_environment(),
        "FLOW_DATABASE_URL": postgres.create_database("key_rotation"),
        "FLOW_KEY_DIR": str(root / "keys"),
    }


@pytest.fixture(scope="module")
def replicas(
    shared: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[list[PlatformReplica]]:
    """Two replicas, started one after the other (the first creates the default org)."""
    root = tmp_path_factory.mktemp("key-rotation-replicas")
    started: list[PlatformReplica] = []
    try:
        for number in range(2):
            replica = PlatformReplica(root / f"replica-{number}", shared)
            replica.start()
            started.append(replica)
        yield started
    finally:
        for replica in started:
            replica.close()


def _rotate(shared: dict[str, str], operator_dir: Path) -> str:
    """``flow platform keys rotate`` as the operator runs it; the new key's id."""
    done = subprocess.run(
        [flow_command(), "platform", "keys", "rotate", "--data-dir", str(operator_dir)],
        capture_output=True,
        text=True,
        timeout=120,
        env=shared,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.splitlines()[0].removeprefix("new signing key ")


def _mint(shared: dict[str, str], org_id: str) -> str:
    """A user token signed with the current shared key, as a replica that has read the keys signs it."""
    sealer = Sealer(load_sealing_key(Path(shared["FLOW_KEY_DIR"])))
    database = PostgresDatabase(shared["FLOW_DATABASE_URL"])
    try:
        return TokenSigner(DatabaseKeyRing(database, sealer)).mint_user_token("operator-check", org_id)
    finally:
        database.close()


def _accepted(replica: PlatformReplica, token: str) -> bool:
    answer = httpx.get(replica.url + ME_PATH, headers={"Authorization": f"Bearer {token}"}, timeout=30)
    assert answer.status_code in (200, 401), answer.text
    return answer.status_code == 200


def _published(replica: PlatformReplica) -> set[str]:
    return {str(key["kid"]) for key in httpx.get(replica.url + JWKS_PATH, timeout=30).json()["keys"]}


def test_a_rotation_keeps_old_tokens_and_spreads_the_new_key_to_every_replica(
    replicas: list[PlatformReplica], shared: dict[str, str], tmp_path: Path
) -> None:
    api_key = (replicas[0].data_dir / DEV_KEY_FILE).read_text().strip()
    workspace = default_workspace(replicas[0].url, api_key)
    old_token = workspace.token
    old_kid = jwt.get_unverified_header(old_token)["kid"]

    new_kid = _rotate(shared, tmp_path / "operator")
    new_token = _mint(shared, workspace.org_id)
    assert jwt.get_unverified_header(new_token)["kid"] == new_kid != old_kid
    for replica in replicas:
        assert _accepted(replica, old_token)
        assert _accepted(replica, new_token)  # an unknown kid makes the replica read the keys again
        assert _published(replica) == {old_kid, new_kid}

    with psycopg.connect(shared["FLOW_DATABASE_URL"], autocommit=True) as conn:
        conn.execute("UPDATE token_keys SET verify_until = 0 WHERE kid = %s", (old_kid,))
    newest_kid = _rotate(shared, tmp_path / "operator")
    newest_token = _mint(shared, workspace.org_id)
    with psycopg.connect(shared["FLOW_DATABASE_URL"]) as conn:
        left = {row[0] for row in conn.execute("SELECT kid FROM token_keys").fetchall()}
    assert left == {new_kid, newest_kid}
    for replica in replicas:
        assert _accepted(replica, newest_token)
        assert _published(replica) == {new_kid, newest_kid}
        assert _accepted(replica, new_token)
