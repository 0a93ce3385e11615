"""Pid files of the platform's child processes, so a restart can reap what a crash left behind.

Every child the platform starts (nats-server, the local runner, each hosted-service version) dies with
it through the parent-death signal. Should one survive anyway (it was being started when the platform
was killed, or a child of it moved to a session of its own), its pid file in ``<data dir>/run/`` names
it with its start time: at the next start :func:`reap` kills what is still that process (a pid reused
by an unrelated process has another start time and is left alone), then removes the files.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
from pathlib import Path

logger = logging.getLogger("flow_local.runtime")

RUN_DIR = "run"


def _start_time(pid: int) -> str | None:
    """The start time of a process in clock ticks since boot (None when it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return fields[19] if len(fields) > 19 and fields[0] != "Z" else None


def record(data_dir: Path, name: str, pid: int) -> None:
    """Remember a started child process as ``name``."""
    folder = data_dir / RUN_DIR
    folder.mkdir(mode=0o700, exist_ok=True)
    started = _start_time(pid)
    if started is not None:
        (folder / f"{name}.pid").write_text(f"{pid} {started}\n")


def forget(data_dir: Path, name: str) -> None:
    """Drop the pid file of a child that was stopped."""
    (data_dir / RUN_DIR / f"{name}.pid").unlink(missing_ok=True)


def reap(data_dir: Path) -> list[int]:
    """Kill (with its process group) every recorded child of a previous run still alive; return their pids."""
    folder = data_dir / RUN_DIR
    killed: list[int] = []
    if not folder.is_dir():
        return killed
    for path in sorted(folder.glob("*.pid")):
        with contextlib.suppress(ValueError, OSError):
            pid_text, started = path.read_text().split()
            pid = int(pid_text)
            if _start_time(pid) == started:
                logger.warning("killing %s (pid %d), left running by a previous run", path.stem, pid)
                _kill_group(pid)
                killed.append(pid)
        path.unlink(missing_ok=True)
    return killed


def _kill_group(pid: int) -> None:
    """SIGKILL the process group a process leads, else the process alone."""
    try:
        if os.getpgid(pid) == pid:
            os.killpg(pid, signal.SIGKILL)
            return
    except ProcessLookupError:
        return
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
