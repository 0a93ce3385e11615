"""The web console in a real browser (Debian's chromium driven by Playwright), against a real platform.

The flow a user follows: log in with the dev key, list executions, open a running one, watch its
events arrive live, cancel it; then the other pages. Screenshots go to ``artifacts/console/``.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
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
NAP = (
    "import time\n\ndef main(seconds: int) -> dict:\n    time.sleep(seconds)\n    return {'slept': seconds}\n"
)
NAP_SECONDS = 5


SIDE_DIR = Path(tempfile.mkdtemp(prefix="flow-console-tests-"))
"""A directory the code blocks of these tests may write (``FLOW_LOCAL_RUNNER_WRITABLE``) and read."""
PRINT_WAIT_PRINT = """
import os, time

def main(go: str, greeting: str) -> dict:
    print("first line:", greeting)
    deadline = time.monotonic() + 120
    while not os.path.exists(go) and time.monotonic() < deadline:
        time.sleep(0.05)
    print("second line")
    return {"answer": greeting.upper()}
"""


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    settings = {
        "FLOW_LOCAL_RUNNER_WORKERS": "2",  # an agent and its tool run at once
        "FLOW_LOCAL_RUNNER_WRITABLE": str(SIDE_DIR),
    }
    previous = {name: os.environ.get(name) for name in settings}
    os.environ.update(settings)
    try:
        lp = LocalPlatform().start()
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name)
            else:
                os.environ[name] = value
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
    """An agent whose tool naps: its tool_call event arrives while the page is open; a napping block is
    cancelled from its page."""
    cli.code_blocks.create({"id": "nap", "name": "nap", "spec": {"source": NAP}})
    cli.create_component(
        "agent", {"id": "napper", "name": "napper", "spec": {"model": "offline/echo", "tools": ["nap"]}}
    )
    done = cli.code_blocks.run("nap", {"seconds": 0}, result_mode="envelope")
    assert done["status"] == "completed"
    _log_in(page, platform)

    agent = cli.submit_execution(
        "agent", "napper", {"question": f"Use the tool to nap {NAP_SECONDS} seconds"}, timeout_seconds=120
    )
    agent_id = str(agent["execution_id"])
    page.goto(f"/?ws={platform.workspace_id}")  # type: ignore[attr-defined]
    _shot(page, "executions")
    page.click(f"a:text('{agent_id}')")  # type: ignore[attr-defined]
    types = page.locator("#timeline tbody td:nth-child(2)")  # type: ignore[attr-defined]
    assert "tool_call" not in types.all_inner_texts(), "the tool finished before the page opened"
    assert page.inner_text("#status") in ("pending", "running")  # type: ignore[attr-defined]
    _shot(page, "execution-running")
    page.locator("#timeline tbody td:nth-child(2):text-is('tool_call')").wait_for()  # type: ignore[attr-defined]
    page.locator("#status:text-is('completed')").wait_for()  # type: ignore[attr-defined]
    page.wait_for_selector("#output:has-text('The tool returned')")  # type: ignore[attr-defined]
    _shot(page, "execution-completed")

    napping = cli.submit_execution("code_block", "nap", {"seconds": 300}, timeout_seconds=600)
    napping_id = str(napping["execution_id"])
    page.goto(f"/?ws={platform.workspace_id}&kind=code_block")  # type: ignore[attr-defined]
    kinds = page.locator("#executions tbody tr td:nth-child(2)").all_inner_texts()  # type: ignore[attr-defined]
    assert set(kinds) == {"code_block"}
    page.click(f"a:text('{napping_id}')")  # type: ignore[attr-defined]
    page.locator("#status:text-is('running')").wait_for()  # type: ignore[attr-defined]
    page.click("#cancel-form button")  # type: ignore[attr-defined]
    page.locator("#status:text-is('cancelled')").wait_for()  # type: ignore[attr-defined]
    _shot(page, "execution-cancelled")
    assert cli.get_execution(napping_id)["status"] == "cancelled"

    page.goto(f"/?ws={platform.workspace_id}&status=completed")  # type: ignore[attr-defined]
    statuses = page.locator("#executions tbody tr td:nth-child(4)").all_inner_texts()  # type: ignore[attr-defined]
    assert statuses and set(statuses) == {"completed"}


def test_execution_page_shows_input_live_stdout_and_output(
    page: object, platform: LocalPlatform, cli: CLIClient
) -> None:
    """The block prints, then waits until the page has shown that line; then prints again and returns."""
    cli.code_blocks.create({"id": "print-wait", "name": "print-wait", "spec": {"source": PRINT_WAIT_PRINT}})
    go = SIDE_DIR / "go"
    submitted = cli.submit_execution("code_block", "print-wait", {"go": str(go), "greeting": "hello input"})
    execution_id = str(submitted["execution_id"])
    _log_in(page, platform, f"/executions/{execution_id}?ws={platform.workspace_id}")
    assert '"greeting": "hello input"' in page.inner_text("#input")  # type: ignore[attr-defined]
    page.locator("#stdout:has-text('first line: hello input')").wait_for()  # type: ignore[attr-defined]
    assert page.inner_text("#status") == "running"  # type: ignore[attr-defined]
    assert "second line" not in page.inner_text("#stdout")  # type: ignore[attr-defined]
    _shot(page, "execution-input-live-stdout")
    go.touch()
    page.locator("#status:text-is('completed')").wait_for()  # type: ignore[attr-defined]
    page.wait_for_selector("#output:has-text('HELLO INPUT')")  # type: ignore[attr-defined]
    assert page.inner_text("#stdout").strip() == "first line: hello input\nsecond line"  # type: ignore[attr-defined]
    assert '"greeting": "hello input"' in page.inner_text("#input")  # type: ignore[attr-defined]
    _shot(page, "execution-input-output")


def test_execution_input_keeps_to_its_workspace(platform: LocalPlatform, cli: CLIClient) -> None:
    source = "def main(seconds: int) -> int:\n    return seconds\n"
    cli.code_blocks.create({"id": "echo-seconds", "name": "echo-seconds", "spec": {"source": source}})
    submitted = cli.submit_execution("code_block", "echo-seconds", {"seconds": 0})
    execution_id = str(submitted["execution_id"])
    own = f"/api/v1/orgs/{platform.org_id}/workspaces/{platform.workspace_id}/executions/{execution_id}/input"
    other = platform.create_tenant("Somebody else")
    foreign = (
        f"/api/v1/orgs/{other['org_id']}/workspaces/{other['workspace_id']}/executions/{execution_id}/input"
    )
    with httpx.Client(base_url=platform.url, timeout=30) as api:
        mine = api.get(own, headers={"Authorization": f"Bearer {platform.admin_token}"})
        assert mine.status_code == 200 and mine.json() == {
            "execution_id": execution_id,
            "input": {"seconds": 0},
        }
        theirs = api.get(own, headers={"Authorization": f"Bearer {other['token']}"})
        assert theirs.status_code == 403
        elsewhere = api.get(foreign, headers={"Authorization": f"Bearer {other['token']}"})
        assert elsewhere.status_code == 404
        assert api.get(own).status_code == 401


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
    page.locator("#service-log:has-text('greeter starting')").wait_for()  # type: ignore[attr-defined]
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
