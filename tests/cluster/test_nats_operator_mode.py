"""The platform and a remote runner on a three-node JetStream cluster in operator mode.

The same checks as the default suite's single server (:mod:`tests.cluster.operator_mode`), here with
``--nats nats://a,nats://b,nats://c``, streams of three replicas, and the execution transport of code in
an execution connecting to the cluster's URL list with its own credentials.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import nats
import pytest

from flow_local.cluster.workspace import Workspace
from flow_sdk.runtime_contract import STREAM_SUBJECTS
from tests.cluster.operator_mode import (
    OperatorModeTopology,
    check_execution_credentials_reach_only_their_execution,
    check_executions_run_through_the_runner,
    check_runner_credentials_are_refused_everything_else,
)


@pytest.fixture(scope="module")
def topology(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OperatorModeTopology]:
    """Three operator-mode JetStream nodes, one API replica, one runner."""
    with OperatorModeTopology(tmp_path_factory.mktemp("operator-cluster"), nodes=3) as started:
        yield started


@pytest.fixture(scope="module")
def workspace(topology: OperatorModeTopology) -> Workspace:
    """The default workspace."""
    return topology.workspace()


async def _stream_replicas(topology: OperatorModeTopology) -> dict[str, int]:
    client = await nats.connect(topology.nats.urls, user_credentials=str(topology.nats.platform_creds))
    try:
        js = client.jetstream()
        return {name: int((await js.stream_info(name)).config.num_replicas or 1) for name in STREAM_SUBJECTS}
    finally:
        await client.close()


def test_executions_run_through_a_runner_that_holds_only_runner_credentials(
    topology: OperatorModeTopology, workspace: Workspace
) -> None:
    check_executions_run_through_the_runner(topology, workspace)
    assert asyncio.run(_stream_replicas(topology)) == dict.fromkeys(STREAM_SUBJECTS, 3)


def test_the_runner_credentials_are_refused_everything_else(topology: OperatorModeTopology) -> None:
    check_runner_credentials_are_refused_everything_else(topology)


def test_code_in_an_execution_reaches_its_own_subjects_and_nothing_of_another(
    topology: OperatorModeTopology, workspace: Workspace
) -> None:
    check_execution_credentials_reach_only_their_execution(topology, workspace)
