"""Lists in sync code: SyncFlowSDK's iterators, and CLIClient's for tenancy and version history."""

import uuid

from flow_sdk import CLIClient, FlowConfig
from flow_sdk.sync_flow_sdk import SyncFlowSDK


def with_the_sync_twin() -> None:
    with SyncFlowSDK() as flow:
        for n in range(3):
            flow.storage.upload(key=f"lists-example/{n}.txt", data=b"page me")
        # The same iterators as FlowSDK, without async: a page is fetched when the loop reaches it.
        keys = [item["key"] for item in flow.storage.iter("lists-example/", page_size=2)]
        print("listed", len(keys), "objects two at a time")
        for execution in flow.code_blocks.iter_executions(status="failed", page_size=50):
            print("failed:", execution["execution_id"])


def with_the_cli_client() -> None:
    with CLIClient(FlowConfig.load()) as cli:
        org_id = cli.list_orgs()[0]["id"]
        for workspace in cli.iter_workspaces(org_id):
            print("workspace", workspace["name"])

        prompt = cli.prompts.create({"name": f"greeting-{uuid.uuid4().hex[:8]}", "spec": {"text": "Hi"}})
        cli.prompts.update(prompt["id"], {"spec": {"text": "Hello"}})
        versions = [version["version"] for version in cli.prompts.iter_versions(prompt["id"])]
        print("prompt versions:", versions)


if __name__ == "__main__":
    with_the_sync_twin()
    with_the_cli_client()
