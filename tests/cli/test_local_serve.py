"""`flow local serve` as a user runs it: a real process, stopped with Ctrl+C in a terminal or with SIGTERM.

Every process the platform started must be gone afterwards, and the output must read as an orderly stop.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pexpect
import pytest

from flow_local.bootstrap import ensure_defaults, runtime_env
from flow_local.core import Platform
from flow_local.ports import free_port
from flow_local.settings import Settings
from flow_sdk import CLIClient, FlowConfig

pytestmark = pytest.mark.slow

FLOW = str(Path(sys.executable).parent / "flow")
START_SECONDS = 90.0
HELLO = "def main(name: str) -> dict:\n    print('hello', name)\n    return {'greeting': 'hi ' + name}\n"


def _children() -> dict[int, list[int]]:
    """Parent pid -> child pids, read from /proc."""
    tree: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        tree.setdefault(int(fields[1]), []).append(int(entry.name))
    return tree


def descendants(pid: int) -> set[int]:
    """Every live process below ``pid``."""
    tree, found, todo = _children(), set(), [pid]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def alive(pid: int) -> bool:
    """True while ``pid`` exists and is not a zombie."""
    try:
        state = (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def wait_healthy(url: str, process_alive: object) -> None:
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        assert process_alive(), "flow local serve exited during start"  # type: ignore[operator]
        try:
            if httpx.get(f"{url}/api/v1/health", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.05)
    raise AssertionError(f"no healthy answer from {url} within {START_SECONDS}s")


def client_for(data_dir: Path, url: str) -> CLIClient:
    """A CLIClient for the default workspace of the platform serving ``data_dir``."""
    settings = Settings.load(data_dir)
    platform = Platform(settings)
    try:
        env = runtime_env(platform, ensure_defaults(platform))
    finally:
        platform.close()
    config = FlowConfig(
        platform_url=url,
        access_token=env["AUTH_TOKEN"],
        org_id=env["ORG_ID"],
        workspace_id=env["WORKSPACE_ID"],
        ring_id=env["RING_ID"],
    )
    return CLIClient(config)


@pytest.fixture
def serve_args(tmp_path: Path) -> Iterator[list[str]]:
    port = free_port()
    yield ["local", "serve", "--port", str(port), "--data-dir", str(tmp_path / "data")]


def _url(args: list[str]) -> str:
    return f"http://127.0.0.1:{args[args.index('--port') + 1]}"


def _assert_all_gone(pids: set[int]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(alive(pid) for pid in pids):
        time.sleep(0.1)
    left = sorted(pid for pid in pids if alive(pid))
    assert not left, f"processes left behind: {left}"


def test_ctrl_c_in_a_terminal_stops_everything_in_order(serve_args: list[str], tmp_path: Path) -> None:
    terminal = pexpect.spawn(FLOW, serve_args, encoding="utf-8", timeout=START_SECONDS, dimensions=(40, 200))
    try:
        terminal.expect("Stop with Ctrl\\+C")
        url = _url(serve_args)
        wait_healthy(url, terminal.isalive)
        with client_for(tmp_path / "data", url) as client:
            client.code_blocks.create({"id": "hello", "name": "hello", "spec": {"source": HELLO}})
            result = client.code_blocks.run("hello", {"name": "Ada"}, result_mode="output")
        assert result == {"greeting": "hi Ada"}
        started = descendants(terminal.pid)
        assert started, "the platform started no processes"

        terminal.sendintr()
        terminal.expect(pexpect.EOF, timeout=60)
    finally:
        if terminal.isalive():
            terminal.kill(signal.SIGKILL)
    terminal.close()
    output = str(terminal.before)
    assert terminal.exitstatus == 0, output
    assert "Traceback" not in output
    assert "stopping" in output and "stopped ExecutionEngine" in output and "stopped database" in output
    assert output.index("stopped ExecutionEngine") < output.index("stopped database")
    _assert_all_gone(started)


def test_sigterm_stops_everything_and_exits_0(serve_args: list[str], tmp_path: Path) -> None:
    process = subprocess.Popen(
        [FLOW, *serve_args], stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        wait_healthy(_url(serve_args), lambda: process.poll() is None)
        started = descendants(process.pid)
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 0, output
    assert "Traceback" not in output
    assert "stopped database" in output
    _assert_all_gone(started)


def test_reset_refuses_a_running_platform_then_empties_the_data_dir(tmp_path: Path) -> None:
    from flow_local.harness import LocalPlatform

    data_dir = tmp_path / "data"
    reset = [FLOW, "local", "reset", "--data-dir", str(data_dir), "--yes"]
    with LocalPlatform(data_dir, subprocess=True):
        refused = subprocess.run(reset, capture_output=True, text=True, timeout=60)
        assert refused.returncode == 1
        assert "stop it first" in refused.stderr
        assert (data_dir / "platform.db").exists()

    done = subprocess.run(reset, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert list(data_dir.iterdir()) == []
