"""Errors: every failure is a FlowSDKError subclass that says what went wrong and where."""

import asyncio

from flow_sdk import FlowSDK, FlowSDKError
from flow_sdk.gateway_client import GatewayModelNotFoundError
from flow_sdk.platform_client import PlatformAuthenticationError, PlatformNotFoundError


async def main() -> None:
    async with FlowSDK() as flow:
        try:
            await flow.code_blocks.run(code_block_id="no-such-block", input_parameters={})
        except PlatformNotFoundError as exc:
            print("not found:", exc.status_code, exc.detail)
            print("  request", exc.request_id, "was", exc.method, exc.path)

        try:
            await flow.gateway.chat_completion(
                model="nowhere/no-model", messages=[{"role": "user", "content": "hi"}]
            )
        except GatewayModelNotFoundError as exc:
            print("no such model:", exc.status_code)
        # A missing setting is reported before anything is sent, naming what to set.
        try:
            await flow.services.get("/health")  # no service_id=, and no SERVICE_ID outside a service
        except FlowSDKError as exc:
            print("configuration:", exc)

    async with FlowSDK(auth_token="not-a-valid-token") as stranger:
        try:
            await stranger.storage.download("reports/q4-summary.txt")
        except PlatformAuthenticationError as exc:
            print("rejected:", exc.status_code)


if __name__ == "__main__":
    asyncio.run(main())
