"""Start the fixed-response server in a subprocess on loopback, and stop it."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent


@contextmanager
def fixed_server(chunks: int) -> Iterator[str]:
    """Run ``benchmarks.fixed_server`` in a subprocess; yields its base URL.

    Args:
        chunks: Chat chunks in its streamed answer.

    Raises:
        RuntimeError: When the server does not report its port.
    """
    command = [sys.executable, "-m", "benchmarks.fixed_server", "--port", "0", "--chunks", str(chunks)]
    process = subprocess.Popen(command, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("PORT "):
            raise RuntimeError(f"the fixed server did not start (said {line!r}, exit {process.poll()})")
        yield f"http://127.0.0.1:{int(line.split()[1])}"
    finally:
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
