"""Request options: a copy of the SDK with other settings, the raw HTTP answer, exactly-once submits."""

import asyncio
import uuid

from flow_sdk import CLIClient, FlowConfig, FlowSDK

SOURCE = """
def main(n: int) -> dict:
    return {"square": n * n}
"""


def create_code_block() -> str:
    with CLIClient(FlowConfig.load()) as cli:
        return cli.create_component("code_block", {"name": "square", "spec": {"source": SOURCE}})["id"]


async def main(code_block_id: str) -> None:
    async with FlowSDK() as flow:
        # A copy with a short timeout, no retries and a header on every request; `flow` is unchanged.
        quick = flow.with_options(timeout=5, max_retries=0, extra_headers={"X-Trace": "docs-example"})
        await quick.storage.upload(
            key="notes/options.txt", data=b"sent through a copy", content_type="text/plain"
        )

        # The same call through with_raw_response also returns the HTTP answer it came from.
        raw = await flow.with_raw_response.storage.download("notes/options.txt")
        print(raw.status_code, raw.headers["content-type"], raw.parsed.decode())
        print("request id:", raw.request_id)

        # Submissions with the same idempotency key run once: the second submit returns the first.
        once = flow.with_options(idempotency_key=f"square-7-{uuid.uuid4().hex[:8]}")
        first = await once.code_blocks.submit(code_block_id=code_block_id, input_parameters={"n": 7})
        again = await once.code_blocks.submit(code_block_id=code_block_id, input_parameters={"n": 7})
        print("same execution:", first["execution_id"] == again["execution_id"])
        result = await flow.code_blocks.await_result(first["execution_id"], timeout_seconds=60)
        print(result["output"])
        await quick.close()
        await once.close()


if __name__ == "__main__":
    asyncio.run(main(create_code_block()))
