"""``python -m flow_local.cluster [--no-s3] -- COMMAND ...``: run a command against the cluster engines.

Starts PostgreSQL (and SeaweedFS's S3 gateway unless ``--no-s3``) on loopback in a temporary directory,
runs COMMAND with ``FLOW_DATABASE_URL``, ``FLOW_OBJECT_STORE_URL`` and the S3 credentials in its
environment, stops the engines, and exits with COMMAND's exit code. Every platform COMMAND starts
shares the one database and bucket prefix.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from flow_local.cluster.engines import PostgresEngine, SeaweedEngine

DATABASE = "flow"
BUCKET = "flow-objects"


def engine_environment(postgres: PostgresEngine, seaweed: SeaweedEngine | None) -> dict[str, str]:
    """The variables that point a platform at the engines."""
    env = {"FLOW_DATABASE_URL": postgres.create_database(DATABASE)}
    if seaweed is not None:
        env["FLOW_OBJECT_STORE_URL"] = seaweed.object_store_url(BUCKET)
        env |= seaweed.credentials_env()
    return env


def describe_use(postgres: PostgresEngine) -> str:
    """One line saying how much of the database the command used (its migrations and tables)."""
    import psycopg

    with psycopg.connect(postgres.url(DATABASE)) as conn:
        tables = conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()
        exists = conn.execute("SELECT to_regclass('schema_migrations') IS NOT NULL").fetchone()
        steps = (
            conn.execute("SELECT count(*) FROM schema_migrations").fetchone()
            if exists and exists[0]
            else (0,)
        )
    return f"PostgreSQL database {DATABASE!r}: {tables[0] if tables else 0} tables, {steps[0] if steps else 0} migration steps"


def main(argv: list[str] | None = None) -> int:
    """Run the command; return its exit code."""
    parser = argparse.ArgumentParser(prog="python -m flow_local.cluster", description=__doc__.splitlines()[0])
    parser.add_argument("--no-s3", action="store_true", help="keep objects in files: start PostgreSQL only")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args(argv)
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    with tempfile.TemporaryDirectory(prefix="flow-cluster-") as tmp:
        root = Path(tmp)
        with PostgresEngine(root / "postgres") as postgres:
            seaweed = None if args.no_s3 else SeaweedEngine(root / "seaweed")
            try:
                if seaweed is not None:
                    seaweed.start()
                env = {**os.environ, **engine_environment(postgres, seaweed)}
                code = subprocess.run(command, env=env, check=False).returncode
                print(describe_use(postgres), file=sys.stderr)
                return code
            finally:
                if seaweed is not None:
                    seaweed.close()


if __name__ == "__main__":
    sys.exit(main())
