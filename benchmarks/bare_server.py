"""A bare Starlette app answering one fixed JSON object, served by uvicorn exactly as the platform is
served (uvicorn with its default loop and HTTP implementations: uvloop and httptools when installed;
no WebSocket implementation, as ``flow local serve``). The baseline of the concurrent state-read figure.

Run it as ``python -m benchmarks.bare_server --port N``; it prints ``PORT <n>`` once it listens.
"""

from __future__ import annotations

import argparse

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

STATE_ENTRY = {
    "key": "bench-key",
    "value": {"cursor": "2025-01-15T10:30:00Z"},
    "updated_at": "2025-01-15T10:30:00Z",
}


async def state_entry(request: Request) -> JSONResponse:
    """The fixed `StateEntry`."""
    return JSONResponse(STATE_ENTRY)


def main(argv: list[str] | None = None) -> None:
    """Serve on loopback until killed."""
    parser = argparse.ArgumentParser(prog="python -m benchmarks.bare_server")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args(argv)
    app = Starlette(routes=[Route("/state", state_entry)])
    config = uvicorn.Config(
        app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False, ws="none"
    )
    server = uvicorn.Server(config)
    print(f"PORT {args.port}", flush=True)
    server.run()


if __name__ == "__main__":
    main()
