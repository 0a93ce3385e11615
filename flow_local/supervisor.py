"""Keep the serving platform in a session of its own, so one Ctrl+C means one orderly stop.

A terminal sends Ctrl+C to every process of its foreground group: the platform, its NATS server
and its runners all at once, which then die in no particular order. ``flow local serve`` therefore
starts the platform in a new session and stays in the terminal's group itself; on the first Ctrl+C
or SIGTERM it sends the platform one SIGTERM, which stops its parts in order. A second Ctrl+C kills
the platform's process group at once. When this process dies, the platform gets SIGKILL.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import subprocess
import sys
from collections.abc import Sequence
from types import FrameType

PR_SET_PDEATHSIG = 1
SERVING_MODULE = "flow_local.serving"
"""The module the child runs: it imports no command-line library, so it starts serving at once."""
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


def _die_with_parent() -> None:
    """In the child before exec: ask Linux to SIGKILL it when this process dies (no-op elsewhere)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)


class Supervisor:
    """Runs ``python -m flow_local.serving ARGS`` in a new session and turns stop signals into one SIGTERM.

    Attributes:
        stopping: True once a stop signal arrived.
    """

    def __init__(self, args: Sequence[str]) -> None:
        self.args = list(args)
        self.stopping = False
        self._child: subprocess.Popen[bytes] | None = None

    def run(self) -> int:
        """Start the platform, wait for it, and return the exit code this command should end with."""
        previous = {signum: signal.signal(signum, self._on_signal) for signum in STOP_SIGNALS}
        try:
            self._child = subprocess.Popen(
                [sys.executable, "-m", SERVING_MODULE, *self.args],
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
            code = self._child.wait()
        finally:
            for signum, handler in previous.items():
                signal.signal(signum, handler)
        if self.stopping and code in (0, -signal.SIGTERM, -signal.SIGKILL):
            return 0
        return code if code >= 0 else 128 - code

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        child = self._child
        if child is None or child.poll() is not None:
            return
        if not self.stopping:
            self.stopping = True
            print("\nstopping (Ctrl+C again to stop at once)", file=sys.stderr, flush=True)
            child.send_signal(signal.SIGTERM)
            return
        print("stopping at once", file=sys.stderr, flush=True)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child.pid, signal.SIGKILL)
