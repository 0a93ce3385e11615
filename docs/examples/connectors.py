"""Connectors: change a database's schema with a preview first, write rows, read them back."""

import asyncio
import uuid

from flow_sdk import CLIClient, FlowConfig, FlowSDK


def create_connector_instance() -> str:
    """A SQLite database in the platform's data directory, as a connector instance of the workspace."""
    spec = {"connector_type": "sqlite", "config": {"database": f"crm-{uuid.uuid4().hex[:8]}.db"}}
    with CLIClient(FlowConfig.load()) as cli:
        instance = cli.connector_instances.create({"name": "crm", "spec": spec})
    return instance["id"]


async def main(instance_id: str) -> None:
    async with FlowSDK() as flow:
        ddl = "CREATE TABLE users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, active BOOLEAN)"
        preview = await flow.connectors.execute_ddl(connector_instance_id=instance_id, sql=ddl, confirm=False)
        print("preview:", preview["status"], "touches", preview.get("affected_objects"))
        await flow.connectors.execute_ddl(connector_instance_id=instance_id, sql=ddl, confirm=True)

        rows = [{"name": name, "active": True} for name in ("Ada", "Grace", "Linus")]
        await flow.connectors.execute_operation(
            connector_instance_id=instance_id,
            operation="insert_rows",
            params={"table": "users", "rows": rows},
        )
        result = await flow.connectors.execute_operation(
            connector_instance_id=instance_id,
            operation="read_query",
            params={"query": "SELECT id, name FROM users ORDER BY id LIMIT 10"},
        )
        print(result.get("columns"), result.get("rows"))

        # Writes of more than 100 rows run as a write job; the call returns when it is done.
        many = [{"name": f"user-{i}", "active": False} for i in range(150)]
        bulk = await flow.connectors.execute_operation(
            connector_instance_id=instance_id,
            operation="insert_rows",
            params={"table": "users", "rows": many},
        )
        print(bulk.get("rows_affected"), "rows written by write job", bulk.get("job_id"))


if __name__ == "__main__":
    asyncio.run(main(create_connector_instance()))
