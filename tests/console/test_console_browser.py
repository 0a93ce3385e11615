"""The web console in a real browser (Debian's chromium driven by Playwright), against a real platform.

The flow a user follows: log in with the dev key, list executions, open a running one, watch its
events arrive live, cancel it; then the other pages. Screenshots go to ``artifacts/console/``.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from flow_local.harness import LocalPlatform
from flow_sdk import CLIClient, FlowConfig, FlowSDK

pytestmark = pytest.mark.slow

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "console"
TICKER = """
import asyncio
import os

from flow_sdk import PlatformClient


async def main(steps: int) -> dict:
    async with PlatformClient() as client:
        for step in range(steps):
            await client.push_execution_event(None, os.environ["EXECUTION_ID"], "message", {"text": f"step {step}"})
            await asyncio.sleep(0.4)
    return {"steps": steps}
"""


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    previous = os.environ.get("FLOW_LOCAL_RUNNER_WORKERS")
    os.environ["FLOW_LOCAL_RUNNER_WORKERS"] = "1"
    try:
        lp = LocalPlatform().start()
    finally:
        if previous is None:
            os.environ.pop("FLOW_LOCAL_RUNNER_WORKERS")
        else:
            os.environ["FLOW_LOCAL_RUNNER_WORKERS"] = previous
    try:
        yield lp
    finally:
        lp.stop()


@pytest.fixture(scope="module")
def cli(platform: LocalPlatform) -> Iterator[CLIClient]:
    config = FlowConfig(
        platform_url=platform.url,
        access_token=platform.admin_token,
        org_id=platform.org_id,
        workspace_id=platform.workspace_id,
        ring_id=platform.ring_id,
    )
    with CLIClient(config) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium); scripts/setup.sh adds it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: object, platform: LocalPlatform) -> Iterator[object]:
    context = browser.new_context(base_url=platform.url, viewport={"width": 1280, "height": 800})  # type: ignore[attr-defined]
    opened = context.new_page()
    opened.set_default_timeout(30_000)
    try:
        yield opened
    finally:
        context.close()


def _shot(page: object, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)  # type: ignore[attr-defined]


def _log_in(page: object, platform: LocalPlatform, path: str = "/") -> None:
    page.goto(path)  # type: ignore[attr-defined]
    assert "/login" in page.url  # type: ignore[attr-defined]
    page.fill("input[name=api_key]", platform.api_key)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r"^(?!.*login).*$"))  # type: ignore[attr-defined]


def test_list_detail_live_events_and_cancel(page: object, platform: LocalPlatform, cli: CLIClient) -> None:
    cli.code_blocks.create({"id": "ticker", "name": "ticker", "spec": {"source": TICKER}})
    done = cli.code_blocks.run("ticker", {"steps": 1}, result_mode="envelope")
    assert done["status"] == "completed"
    running = cli.submit_execution("code_block", "ticker", {"steps": 200}, timeout_seconds=300)
    execution_id = str(running["execution_id"])

    _log_in(page, platform)
    page.wait_for_selector(f"a:text('{execution_id}')")  # type: ignore[attr-defined]
    _shot(page, "executions")

    page.select_option("select[name=status]", "completed")  # type: ignore[attr-defined]
    page.click("form.filters button")  # type: ignore[attr-defined]
    rows = page.locator("#executions tbody tr")  # type: ignore[attr-defined]
    assert rows.count() == 1 and "completed" in rows.first.inner_text()
    page.goto(f"/?ws={platform.workspace_id}")  # type: ignore[attr-defined]

    page.click(f"a:text('{execution_id}')")  # type: ignore[attr-defined]
    page.wait_for_selector("#timeline tbody tr")  # type: ignore[attr-defined]
    seen = page.locator("#timeline tbody tr").count()  # type: ignore[attr-defined]
    page.wait_for_function(  # type: ignore[attr-defined]
        "n => document.querySelectorAll('#timeline tbody tr').length >= n + 3", arg=seen
    )
    assert page.inner_text("#status") == "running"  # type: ignore[attr-defined]
    _shot(page, "execution-live")

    page.click("#cancel-form button")  # type: ignore[attr-defined]
    page.wait_for_function("document.getElementById('status').textContent === 'cancelled'")  # type: ignore[attr-defined]
    _shot(page, "execution-cancelled")
    assert cli.get_execution(execution_id)["status"] == "cancelled"


def test_other_pages_show_what_the_platform_holds(
    page: object, platform: LocalPlatform, cli: CLIClient
) -> None:
    headers = {"Authorization": f"Bearer {platform.admin_token}"}
    with httpx.Client(base_url=platform.url, headers=headers, timeout=30) as api:
        chat = api.post(
            "/api/v1/gateway/v1/chat/completions",
            json={"model": "offline/echo", "messages": [{"role": "user", "content": "hello console"}]},
        )
        assert chat.status_code == 200, chat.text
    _log_in(page, platform, "/gateway")
    row = page.locator("#calls tbody tr").first  # type: ignore[attr-defined]
    assert "offline/echo" in row.inner_text() and "200" in row.inner_text()
    _shot(page, "gateway")
    with ThreadPoolExecutor(1) as thread:  # Playwright's sync API already runs a loop in this thread
        thread.submit(asyncio.run, _store_things(platform)).result()
    for name, expected in (
        ("storage", "reports/q4.txt"),
        ("vector", "notes"),
        ("audit", "document.reviewed"),
    ):
        page.goto(f"/{name}")  # type: ignore[attr-defined]
        assert expected in page.inner_text("main table")  # type: ignore[attr-defined]
        _shot(page, name)


async def _store_things(platform: LocalPlatform) -> None:
    """An object, a vector collection and an audit event for the pages to show."""
    env = platform.env()
    async with FlowSDK(
        org_id=env["ORG_ID"],
        workspace_id=env["WORKSPACE_ID"],
        auth_token=env["AUTH_TOKEN"],
        platform_url=env["PLATFORM_API_URL"],
    ) as flow:
        await flow.storage.upload(key="reports/q4.txt", data=b"q4", content_type="text/plain")
        await flow.vector.create_index("notes", dimensions=3)
        await flow.audit.log(action="document.reviewed", resource_type="document", resource_id="doc-1")


def test_services_show_versions_health_and_the_log(
    page: object, platform: LocalPlatform, cli: CLIClient
) -> None:
    app = "from fastapi import FastAPI\n\napp = FastAPI()\nprint('greeter starting', flush=True)\n"
    cli.hosted_services.deploy("greeter", "main:app", files={"main.py": app})

    _log_in(page, platform, "/services")
    page.click("a:text('greeter')")  # type: ignore[attr-defined]
    version = page.locator("#versions tbody tr").first  # type: ignore[attr-defined]
    assert "v1" in version.inner_text() and "running" in version.inner_text()
    assert "yes" in version.inner_text()
    page.wait_for_function("document.getElementById('service-log').textContent.includes('greeter starting')")  # type: ignore[attr-defined]
    _shot(page, "service")


def test_cli_login_approval_page(page: object, platform: LocalPlatform) -> None:
    request = CLIClient.create_cli_login_request(platform.url)
    approval_url = str(request["verification_url"])
    assert approval_url.startswith(platform.url)

    page.goto(approval_url.removeprefix(platform.url))  # type: ignore[attr-defined]
    _log_in_from_redirect(page, platform)
    assert page.input_value("input[name=code]") == request["user_code"]  # type: ignore[attr-defined]
    _shot(page, "approve")
    page.click("form button[type=submit] >> text=Approve")  # type: ignore[attr-defined]
    assert "Approved" in page.inner_text("#approve-message")  # type: ignore[attr-defined]
    _shot(page, "approved")
    assert CLIClient.poll_cli_login_request(platform.url, request["request_id"])["status"] == "approved"


def _log_in_from_redirect(page: object, platform: LocalPlatform) -> None:
    assert "/login" in page.url  # type: ignore[attr-defined]
    page.fill("input[name=api_key]", platform.api_key)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_url(re.compile(r".*/approve\?code=.*"))  # type: ignore[attr-defined]


def test_pages_need_a_login_and_forms_need_the_csrf_token(platform: LocalPlatform) -> None:
    with httpx.Client(base_url=platform.url, follow_redirects=False, timeout=30) as browserless:
        assert browserless.get("/services").headers["location"] == "/login?next=%2Fservices"
        assert browserless.post("/login", data={"api_key": "fl_nope"}).status_code == 401
        logged = browserless.post(
            "/login", data={"api_key": platform.api_key, "next": "https://evil.example/"}
        )
        assert logged.headers["location"] == "/"
        cookie = logged.headers["set-cookie"].lower()
        assert "httponly" in cookie and "samesite=strict" in cookie
        refused = browserless.post("/approve", data={"code": "ABCD-EFGH", "csrf": "forged"})
        assert refused.status_code == 403
