"""Per-call overhead of FlowSDK, SyncFlowSDK and CLIClient against raw httpx, on the fixed-response server.

openai-python's ``AsyncOpenAI`` and ``OpenAI`` make the same chat call on the same server, as peers
(reported, no bar).

Each pair is measured interleaved (SDK, baseline, baseline, SDK, ...) on one keep-alive connection
each, after a warm-up, so both see the same machine state; the ratio is SDK median / httpx median.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from typing import Any

import httpx

from benchmarks.common import (
    COMPONENT_ID,
    ORG_ID,
    SERVICE_ID,
    STATE_KEY,
    WORKSPACE_ID,
    Samples,
    Unavailable,
    bench_token,
    chat_body,
    close_quietly,
    describe,
    load,
    require_method,
    time_async_calls,
    time_sync_calls,
)
from benchmarks.report import DASH, INFO, TIMES, Row, verdict
from benchmarks.settings import Settings
from benchmarks.stats import paired_ratio, summarize
from flow_sdk._generated.client.request import MAX_PAGE_SIZE

ASYNC_RATIO_BAR = 0.75
SYNC_RATIO_BAR = 1.05
CHAT_PATH = "/api/v1/gateway/v1/chat/completions"
STATE_PATH = f"/api/v1/orgs/{ORG_ID}/workspaces/{WORKSPACE_ID}/state/{COMPONENT_ID}/keys/{STATE_KEY}"
ORGS_PATH = "/api/v1/tenants/orgs"

AsyncCall = Callable[[], Awaitable[Any]]


def per_call_rows() -> dict[str, Row]:
    """The empty rows of the per-call figures, keyed by row key."""
    rows = [
        Row(
            key="gateway_chat_completion",
            figure="per call: FlowSDK flow.gateway.chat_completion (async)",
            baseline="httpx.AsyncClient POST same body + .json()",
            unit="µs CPU/call",
            bar=f"≤ {ASYNC_RATIO_BAR:.2f}{TIMES}",
        ),
        Row(
            key="openai_async_chat",
            figure="peer: openai-python AsyncOpenAI chat.completions.create (same server)",
            baseline="httpx.AsyncClient POST same body + .json()",
            unit="µs CPU/call",
            bar="— (reported)",
        ),
        Row(
            key="state_get",
            figure="per call: FlowSDK flow.state.get (async, bound service context)",
            baseline="httpx.AsyncClient GET same path + .json()",
            unit="µs CPU/call",
            bar=f"≤ {ASYNC_RATIO_BAR:.2f}{TIMES}",
        ),
        Row(
            key="sync_state_get",
            figure="per call: SyncFlowSDK flow.state.get (sync twin, bound service context)",
            baseline="httpx.Client GET same path + .json()",
            unit="µs CPU/call",
            bar=f"≤ {SYNC_RATIO_BAR:.2f}{TIMES}",
        ),
        Row(
            key="cli_list_orgs",
            figure="per call: CLIClient.list_orgs (sync)",
            baseline="httpx.Client GET same path and page size + .json()",
            unit="µs CPU/call",
            bar=f"≤ {SYNC_RATIO_BAR:.2f}{TIMES}",
        ),
        Row(
            key="openai_sync_chat",
            figure="peer: openai-python OpenAI chat.completions.create (same server)",
            baseline="httpx.Client POST same body + .json()",
            unit="µs CPU/call",
            bar="— (reported)",
        ),
    ]
    return {row.key: row for row in rows}


BARS = {
    "gateway_chat_completion": ASYNC_RATIO_BAR,
    "state_get": ASYNC_RATIO_BAR,
    "sync_state_get": SYNC_RATIO_BAR,
    "cli_list_orgs": SYNC_RATIO_BAR,
}


def fill_ratio_row(row: Row, sdk: Samples | None, base: Samples, reason: str = "") -> Row:
    """Fill a per-call row from SDK and baseline samples (SDK samples None when unavailable).

    The bar is judged on client CPU time per call (the client's overhead, steady under load from
    other processes); wall-clock medians and their paired ratio are reported alongside.
    """
    row.baseline_value = summarize(base.cpu)
    row.extra["baseline_wall_median"] = summarize(base.wall).median
    if sdk is None:
        return row.unavailable(reason)
    row.value = summarize(sdk.cpu)
    ratios = paired_ratio(sdk.cpu, base.cpu)
    row.ratio = ratios.median
    row.extra["paired_ratio_iqr"] = f"{ratios.q1:.3f}{DASH}{ratios.q3:.3f}"
    row.extra["wall_median"] = summarize(sdk.wall).median
    row.extra["wall_ratio"] = round(paired_ratio(sdk.wall, base.wall).median, 3)
    bar = BARS.get(row.key)
    row.status = INFO if bar is None else verdict(row.ratio <= bar)
    return row


async def compare_async(pair: dict[str, AsyncCall], settings: Settings) -> dict[str, Samples]:
    """Warm up, then time each call of ``pair`` in alternating order; return samples by name."""
    for call in pair.values():
        await time_async_calls(call, settings.warmup_calls)
    samples = {name: Samples() for name in pair}
    names = list(pair)
    for repeat in range(settings.repeats):
        for name in names if repeat % 2 == 0 else reversed(names):
            await time_async_calls(pair[name], settings.calls, samples[name])
    return samples


def compare_sync(pair: dict[str, Callable[[], Any]], settings: Settings) -> dict[str, Samples]:
    """The sync twin of `compare_async`."""
    for call in pair.values():
        time_sync_calls(call, settings.warmup_calls)
    samples = {name: Samples() for name in pair}
    names = list(pair)
    for repeat in range(settings.repeats):
        for name in names if repeat % 2 == 0 else reversed(names):
            time_sync_calls(pair[name], settings.calls, samples[name])
    return samples


def make_flow(url: str, token: str) -> Any:
    """A FlowSDK pointed at ``url`` for both the platform and the gateway."""
    flow_sdk_class = load("flow_sdk:FlowSDK")
    return flow_sdk_class(
        org_id=ORG_ID, workspace_id=WORKSPACE_ID, auth_token=token, platform_url=url, gateway_url=url
    )


def bind_service_context(flow: Any, token: str) -> Any:
    """Bind a hosted-service request context with a component_id (what flow.state needs)."""
    bind = require_method(flow, "bind_request_context", "FlowSDK")
    return bind(
        auth={"subject_id": "user-bench", "scopes": ["read", "write"], "token_type": "user", "token": token},
        headers={"authorization": f"Bearer {token}"},
        service={"service_id": SERVICE_ID, "component_id": COMPONENT_ID, "version": 1},
        execution={"execution_id": "exec-bench", "request_id": "req-bench", "job_id": None},
    )


async def gateway_and_state(settings: Settings, url: str, rows: dict[str, Row]) -> None:
    """Fill the async per-call rows: chat completion and state get, each against raw httpx."""
    token = bench_token()
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers) as raw:

        async def raw_chat() -> Any:
            return (await raw.post(CHAT_PATH, json=chat_body())).json()

        async def raw_state() -> Any:
            return (await raw.get(STATE_PATH)).json()["value"]

        try:
            flow = make_flow(url, token)
        except Exception as exc:
            for key, call in (("gateway_chat_completion", raw_chat), ("state_get", raw_state)):
                base = await compare_async({"httpx": call}, settings)
                fill_ratio_row(rows[key], None, base["httpx"], describe(exc))
            return
        try:
            await measure_gateway(flow, raw_chat, settings, rows["gateway_chat_completion"])
            await measure_state(flow, token, raw_state, settings, rows["state_get"])
        finally:
            await close_quietly(flow)
        await measure_openai_async(url, token, raw_chat, settings, rows["openai_async_chat"])


def openai_kwargs(url: str, token: str) -> dict[str, Any]:
    """How openai-python's clients reach the gateway of ``url`` (no retries, as the raw baseline)."""
    return {"base_url": f"{url}/api/v1/gateway/v1", "api_key": token, "max_retries": 0}


async def measure_openai_async(
    url: str, token: str, raw_chat: AsyncCall, settings: Settings, row: Row
) -> None:
    """Time ``AsyncOpenAI().chat.completions.create`` against ``raw_chat`` (a peer row, no bar)."""
    body = chat_body()
    reason = ""
    pair: dict[str, AsyncCall] = {"httpx": raw_chat}
    client: Any = None
    try:
        client = load("openai:AsyncOpenAI")(**openai_kwargs(url, token))
        create = client.chat.completions.create

        async def openai_chat() -> Any:
            return await create(**body)

        await openai_chat()
        pair = {"sdk": openai_chat, "httpx": raw_chat}
    except Exception as exc:
        reason = describe(exc)
    try:
        samples = await compare_async(pair, settings)
    finally:
        if client is not None:
            await client.close()
    fill_ratio_row(row, samples.get("sdk"), samples["httpx"], reason)


async def measure_gateway(flow: Any, raw_chat: AsyncCall, settings: Settings, row: Row) -> None:
    """Time ``flow.gateway.chat_completion`` against ``raw_chat``."""
    sdk_chat: AsyncCall | None = None
    reason = ""
    try:
        gateway = flow.gateway
        chat = require_method(gateway, "chat_completion", "flow.gateway")
        body = chat_body()

        async def sdk_chat_call() -> Any:
            return await chat(
                model=body["model"],
                messages=body["messages"],
                temperature=body["temperature"],
                max_tokens=body["max_tokens"],
            )

        answer = await sdk_chat_call()
        if answer["choices"][0]["message"]["content"] is None:
            raise Unavailable("flow.gateway.chat_completion returned no content")
        sdk_chat = sdk_chat_call
    except Exception as exc:
        reason = describe(exc)
    pair = {"httpx": raw_chat} if sdk_chat is None else {"sdk": sdk_chat, "httpx": raw_chat}
    samples = await compare_async(pair, settings)
    fill_ratio_row(row, samples.get("sdk"), samples["httpx"], reason)


async def measure_state(flow: Any, token: str, raw_state: AsyncCall, settings: Settings, row: Row) -> None:
    """Time ``flow.state.get`` (inside a bound service context) against ``raw_state``."""
    reason = ""
    context_token: Any = None
    sdk_state: AsyncCall | None = None
    try:
        context_token = bind_service_context(flow, token)
        get = require_method(flow.state, "get", "flow.state")

        async def sdk_state_call() -> Any:
            return await get(STATE_KEY)

        await sdk_state_call()
        sdk_state = sdk_state_call
    except Exception as exc:
        reason = describe(exc)
    try:
        pair = {"httpx": raw_state} if sdk_state is None else {"sdk": sdk_state, "httpx": raw_state}
        samples = await compare_async(pair, settings)
    finally:
        if context_token is not None:
            flow.reset_request_context(context_token)
    fill_ratio_row(row, samples.get("sdk"), samples["httpx"], reason)


def make_cli_client(url: str, token: str) -> Any:
    """A CLIClient over a FlowConfig built from whichever of its fields exist."""
    config_class = load("flow_sdk:FlowConfig")
    client_class = load("flow_sdk.cli_client:CLIClient")
    values = {
        "platform_url": url,
        "access_token": token,
        "org_id": ORG_ID,
        "workspace_id": WORKSPACE_ID,
    }
    accepted = inspect.signature(config_class).parameters
    config = config_class(**{name: value for name, value in values.items() if name in accepted})
    return client_class(config)


def cli_list_orgs(settings: Settings, url: str, row: Row) -> None:
    """Fill the sync per-call row: CLIClient.list_orgs against httpx.Client."""
    token = bench_token()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as raw:

        def raw_list() -> Any:
            # The same request the SDK sends: list_orgs asks for its largest page size.
            return raw.get(ORGS_PATH, params={"limit": MAX_PAGE_SIZE}).json()

        reason = ""
        pair: dict[str, Callable[[], Any]] = {"httpx": raw_list}
        cli: Any = None
        try:
            cli = make_cli_client(url, token)
            list_orgs = require_method(cli, "list_orgs", "CLIClient")
            list_orgs()
            pair = {"sdk": list_orgs, "httpx": raw_list}
        except Exception as exc:
            reason = describe(exc)
        try:
            samples = compare_sync(pair, settings)
        finally:
            close = getattr(cli, "close", None)
            if callable(close):
                close()
    fill_ratio_row(row, samples.get("sdk"), samples["httpx"], reason)


def make_sync_flow(url: str, token: str) -> Any:
    """A SyncFlowSDK pointed at ``url``, inside a bound hosted-service request context."""
    twin_class = load("flow_sdk.sync_flow_sdk:SyncFlowSDK")
    twin = twin_class(
        org_id=ORG_ID, workspace_id=WORKSPACE_ID, auth_token=token, platform_url=url, gateway_url=url
    )
    bind_service_context(twin, token)
    return twin


def sync_twin_state(settings: Settings, url: str, row: Row) -> None:
    """Fill the sync twin's row: SyncFlowSDK flow.state.get against httpx.Client."""
    token = bench_token()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as raw:

        def raw_state() -> Any:
            return raw.get(STATE_PATH).json()["value"]

        reason = ""
        pair: dict[str, Callable[[], Any]] = {"httpx": raw_state}
        twin: Any = None
        try:
            twin = make_sync_flow(url, token)
            get = require_method(twin.state, "get", "SyncFlowSDK.state")

            def twin_state() -> Any:
                return get(STATE_KEY)

            twin_state()
            pair = {"sdk": twin_state, "httpx": raw_state}
        except Exception as exc:
            reason = describe(exc)
        try:
            samples = compare_sync(pair, settings)
        finally:
            if twin is not None:
                twin.close()
    fill_ratio_row(row, samples.get("sdk"), samples["httpx"], reason)


def openai_sync_chat(settings: Settings, url: str, row: Row) -> None:
    """Fill the sync peer row: ``OpenAI().chat.completions.create`` against httpx.Client."""
    token = bench_token()
    body = chat_body()
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {token}"}) as raw:

        def raw_chat() -> Any:
            return raw.post(CHAT_PATH, json=body).json()

        reason = ""
        pair: dict[str, Callable[[], Any]] = {"httpx": raw_chat}
        client: Any = None
        try:
            client = load("openai:OpenAI")(**openai_kwargs(url, token))
            create = client.chat.completions.create

            def openai_chat() -> Any:
                return create(**body)

            openai_chat()
            pair = {"sdk": openai_chat, "httpx": raw_chat}
        except Exception as exc:
            reason = describe(exc)
        try:
            samples = compare_sync(pair, settings)
        finally:
            if client is not None:
                client.close()
    fill_ratio_row(row, samples.get("sdk"), samples["httpx"], reason)
