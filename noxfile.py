"""Project sessions. Run them from the project venv (``bash scripts/setup.sh`` creates it).

Sessions run in the current environment (``venv_backend="none"``): the project venv already has
every pinned tool, so a session starts at once and tests the exact install that users get.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nox

nox.options.default_venv_backend = "none"
nox.options.sessions = ["lint", "typecheck", "tests"]

NODE_BIN = "node_modules/.bin"
# The interpreter nox runs under: the project venv, whether or not it is activated.
PYTHON = sys.executable


@nox.session
def codegen(session: nox.Session) -> None:
    """Regenerate the generated packages from openapi/, and the sync twin of FlowSDK from its namespaces.

    With ``-- --check`` both fail instead when stale.
    """
    session.run(PYTHON, "codegen/generate.py", *session.posargs)
    session.run(PYTHON, "codegen/sync_twin.py", *session.posargs)


@nox.session
def lint(session: nox.Session) -> None:
    """ruff on the handwritten code, the import contracts (pyproject's [tool.importlinter]), and the
    OpenAPI linter on the document."""
    session.run(PYTHON, "-m", "ruff", "check", ".")
    session.run(PYTHON, "-m", "ruff", "format", "--check", ".")
    session.run(str(Path(PYTHON).parent / "lint-imports"), "--no-cache", external=True)
    session.run(f"{NODE_BIN}/redocly", "lint", "--format=summary", "openapi/openapi.yaml", external=True)


@nox.session
def typecheck(session: nox.Session) -> None:
    """mypy, strict on flow_sdk/ and flow_local/; pyright, strict on flow_sdk/ (pyproject's [tool.pyright])."""
    session.run(PYTHON, "-m", "mypy")
    session.run(str(Path(PYTHON).parent / "pyright"), "--warnings", external=True)


@nox.session
def tests(session: nox.Session) -> None:
    """The default test suite (pass pytest arguments after ``--``)."""
    session.run(PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", *session.posargs)


CLUSTER_PROFILE_TESTS = [
    # The 100k x 384 comparison measures the in-memory matrix of the SQLite profile against numpy;
    # pgvector's exact and HNSW search over that size are measured by benchmarks/pgvector_recall.py.
    "--deselect=tests/local/test_vector.py::test_search_100k_by_384_matches_bare_numpy",
    "tests/local/test_areas.py",
    "tests/local/test_dataset_filters.py",
    "tests/local/test_token_keys.py",
    "tests/local/test_vector.py",
    "tests/local/test_vector_stores.py",
    "tests/local/test_tenancy.py",
    "tests/e2e/test_data.py",
    "tests/e2e/test_storage_vector_memory.py",
    "tests/e2e/test_storage_streams.py",
    "tests/upgrade/test_upgrade.py",
    "tests/e2e/test_pagination.py",
    "tests/e2e/test_pagination_lists.py",
    # An unsigned URL of the S3 store is refused by the store (403), not by the platform (401):
    # tests/cluster/test_object_storage.py checks the store's own presigned URLs instead.
    "--deselect=tests/e2e/test_storage_vector_memory.py::test_presigned_urls_work_without_a_token",
    # The 1 GiB round trip measures the client's memory, which does not depend on the store; the test
    # SeaweedFS has 64 MiB volumes and too few of them for it. Multipart uploads to S3 are covered by
    # tests/cluster/test_object_storage.py.
    "--deselect=tests/e2e/test_storage_streams.py::test_a_gibibyte_round_trips_with_bounded_client_memory",
]


@nox.session
def cluster(session: nox.Session) -> None:
    """The cluster profile on its real engines: PostgreSQL, SeaweedFS (S3) and a NATS cluster, on loopback.

    First ``tests/cluster`` (the engines, the PostgreSQL database, S3 object storage), then a selection of
    the default suite's area and end-to-end tests with every platform on PostgreSQL and S3, then the
    schemathesis conformance run against a platform on PostgreSQL and S3.
    """
    session.run(
        PYTHON,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/cluster",
        *session.posargs,
        env={"FLOW_CLUSTER_TESTS": "1"},
    )
    session.run(
        PYTHON,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "-p",
        "tests.cluster.profile",
        *CLUSTER_PROFILE_TESTS,
        *session.posargs,
        env={"FLOW_TEST_OBJECT_STORE": "s3"},
    )
    session.run(
        PYTHON,
        "-m",
        "flow_local.cluster",
        "--",
        PYTHON,
        "-m",
        "pytest",
        "-q",
        "-p",
        "no:cacheprovider",
        "tests/local/test_schemathesis.py",
        env={"FLOW_SCHEMATHESIS_EXAMPLES": "2"},
    )


@nox.session
def wheel(session: nox.Session) -> None:
    """Build the wheel, install it without extras in a clean venv, call a local platform with it."""
    session.run(PYTHON, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/release/test_wheel.py")


@nox.session
def docs(session: nox.Session) -> None:
    """Build the documentation site into site/, every warning an error (``-- serve`` to preview it)."""
    quiet = {"NO_MKDOCS_2_WARNING": "1"}  # the theme's banner about its successor, printed on every build
    if session.posargs[:1] == ["serve"]:
        session.run(PYTHON, "-m", "mkdocs", "serve", "--strict", *session.posargs[1:], env=quiet)
        return
    session.run(
        PYTHON, "-m", "mkdocs", "build", "--strict", "--site-dir", "site", *session.posargs, env=quiet
    )


@nox.session
def bench(session: nox.Session) -> None:
    """Benchmarks: medians and ratios against raw httpx measured in the same run."""
    session.run(PYTHON, "-m", "benchmarks", *session.posargs)


@nox.session
def demo(session: nox.Session) -> None:
    """Start a local platform and run FlowSDK against it (with nox's own interpreter, the project venv)."""
    session.run(PYTHON, "examples/demo.py", *session.posargs)
