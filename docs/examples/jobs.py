"""Async jobs: hand a slow request to the platform's job queue and check on it later."""

import asyncio
import uuid
from pathlib import Path

from flow_sdk import CLIClient, FlowConfig, FlowSDK

SERVICE_DIR = Path(__file__).parent / "notes_service"
FINISHED = {"completed", "failed", "cancelled"}


def deploy_service() -> str:
    service_id = f"notes-{uuid.uuid4().hex[:8]}"
    with CLIClient(FlowConfig.load()) as cli:
        cli.hosted_services.deploy(service_id, "main:app", source_dir=str(SERVICE_DIR))
    return service_id


async def main(service_id: str) -> None:
    async with FlowSDK() as flow:
        job = await flow.jobs.submit(
            endpoint_path="/reports",
            body={"text": "quarterly numbers"},
            service_id=service_id,
            lane="standard",
        )
        job_id = job["job_id"]
        print("submitted", job_id, job["status"])

        status = await flow.jobs.get_status(job_id)
        while status["status"] not in FINISHED:
            await asyncio.sleep(0.2)
            status = await flow.jobs.get_status(job_id)
        print(status["status"], status.get("result"))

        # A job that has not finished yet can be cancelled.
        second = await flow.jobs.submit("/reports", body={"text": "never mind"}, service_id=service_id)
        print("second job:", (await flow.jobs.cancel(second["job_id"]))["status"])


if __name__ == "__main__":
    asyncio.run(main(deploy_service()))
