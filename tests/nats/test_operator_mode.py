"""The platform and a remote runner on one nats-server in operator mode, each holding a credentials file.

The server trusts a freshly made operator; the platform holds a user with every right in the ``FLOW``
account and that account's signing key, the runner a user allowed only the runner subjects (``flow runner
--nats URL --creds runner.creds``). The checks are in :mod:`tests.cluster.operator_mode`; the cluster
session runs them again on three nodes.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from flow_local.cluster.workspace import Workspace
from tests.cluster.operator_mode import (
    OperatorModeTopology,
    check_a_foreign_signing_key_stops_the_replica,
    check_execution_credentials_reach_only_their_execution,
    check_executions_run_through_the_runner,
    check_flow_runner_refuses_missing_credentials,
    check_runner_credentials_are_refused_everything_else,
)


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorModeTopology]:
    """One operator-mode nats-server, one API replica, one runner."""
    with OperatorModeTopology(tmp_path_factory.mktemp("operator"), nodes=1) as started:
        yield started


@pytest.fixture(scope="module")
def workspace(topology: OperatorModeTopology) -> Workspace:
    """The default workspace."""
    return topology.workspace()


def test_executions_run_through_a_runner_that_holds_only_runner_credentials(
    topology: OperatorModeTopology, workspace: Workspace
) -> None:
    check_executions_run_through_the_runner(topology, workspace)


def test_the_runner_credentials_are_refused_everything_else(topology: OperatorModeTopology) -> None:
    check_runner_credentials_are_refused_everything_else(topology)


def test_code_in_an_execution_reaches_its_own_subjects_and_nothing_of_another(
    topology: OperatorModeTopology, workspace: Workspace
) -> None:
    check_execution_credentials_reach_only_their_execution(topology, workspace)


def test_flow_runner_refuses_credentials_that_do_not_exist(
    topology: OperatorModeTopology, tmp_path: Path
) -> None:
    check_flow_runner_refuses_missing_credentials(topology, tmp_path / "missing.creds")


def test_a_replica_with_a_foreign_signing_key_does_not_start(
    topology: OperatorModeTopology, tmp_path: Path
) -> None:
    check_a_foreign_signing_key_stops_the_replica(topology, tmp_path)
