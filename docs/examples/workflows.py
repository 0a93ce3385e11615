"""A workflow of two code blocks: the second step reads the first step's output."""

import asyncio

from flow_sdk import CLIClient, FlowConfig, FlowSDK

FETCH = """
def main(document_url: str) -> dict:
    return {"text": "a short report fetched from " + document_url}
"""

COUNT = """
def main(text: str) -> dict:
    return {"words": len(text.split())}
"""


def create_workflow() -> str:
    with CLIClient(FlowConfig.load()) as cli:
        fetch = cli.create_component("code_block", {"name": "fetch", "spec": {"source": FETCH}})
        count = cli.create_component("code_block", {"name": "count", "spec": {"source": COUNT}})
        spec = {
            "steps": [
                {
                    "id": "fetch",
                    "component_type": "code_block",
                    "component_id": fetch["id"],
                    "inputs": {"document_url": "$.input.document_url"},
                },
                {
                    "id": "count",
                    "component_type": "code_block",
                    "component_id": count["id"],
                    "depends_on": ["fetch"],
                    "inputs": {"text": "$.steps.fetch.output.text"},
                },
            ],
            "output": {"words": "$.steps.count.output.words"},
        }
        workflow = cli.create_component("workflow", {"name": "report", "spec": spec})
    return workflow["id"]


async def main(workflow_id: str) -> None:
    async with FlowSDK() as flow:
        result = await flow.workflows.run(
            workflow_id=workflow_id,
            input_data={"document_url": "https://example.com/report.pdf"},
        )
        print("output:", result["output"])
        for step_id, step in result["steps"].items():
            print(f"  step {step_id}: {step['status']}")


if __name__ == "__main__":
    asyncio.run(main(create_workflow()))
