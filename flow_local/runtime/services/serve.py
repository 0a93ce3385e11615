"""The process that runs one hosted-service version: import ``module:app``, wrap it, serve it on loopback.

Started by the platform as ``python -m flow_local.runtime.services.serve --app main:app --port N
--source-dir DIR`` with the runtime variables (ORG_ID, SERVICE_ID, AUTH_TOKEN, ...) and
``FLOW_SERVICE_CONTEXT_KEY`` in its environment; its output goes to the version's log file.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from pathlib import Path
from typing import Any

import uvicorn

from flow_local.runtime.services.context import CONTEXT_KEY_ENV
from flow_local.runtime.services.wrapper import FlowRuntimeMiddleware


def load_app(target: str, source_dir: Path) -> Any:
    """Import ``module:attribute`` from ``source_dir`` and return the attribute (the ASGI app)."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise SystemExit(f"--app must look like 'module:app', got {target!r}")
    sys.path.insert(0, str(source_dir))
    module = importlib.import_module(module_name)
    try:
        return getattr(module, attribute)
    except AttributeError:
        raise SystemExit(
            f"module {module_name!r} has no attribute {attribute!r} (from --app {target!r})"
        ) from None


def main(argv: list[str] | None = None) -> None:
    """Parse arguments, import the app, serve it wrapped in the runtime middleware."""
    parser = argparse.ArgumentParser(description="Run one hosted-service version.")
    parser.add_argument("--app", required=True, help="the ASGI app, module:attribute")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--source-dir", required=True, type=Path)
    args = parser.parse_args(argv)
    key = os.environ.get(CONTEXT_KEY_ENV, "")
    if not key:
        raise SystemExit(f"{CONTEXT_KEY_ENV} is not set: hosted services are started by the platform")
    source_dir = args.source_dir.resolve()
    os.chdir(source_dir)
    app = load_app(args.app, source_dir)
    wrapped = FlowRuntimeMiddleware(app, context_key=key, source_dir=source_dir)
    uvicorn.run(wrapped, host=args.host, port=args.port, log_level="info", access_log=False, lifespan="auto")


if __name__ == "__main__":
    main()
