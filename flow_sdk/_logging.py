"""The ``flow_sdk`` logger: retries at INFO, each request and answer at DEBUG, credentials redacted.

Nothing is printed unless the application configures logging, or ``FLOW_LOG=info`` / ``FLOW_LOG=debug``
is set, which attaches one stderr handler to the ``flow_sdk`` logger at that level.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping

import httpx

__all__ = ["LOG_ENV_VAR", "REDACTED_HEADERS", "configure_from_env", "log_request", "log_response", "logger"]

LOG_ENV_VAR = "FLOW_LOG"
REDACTED_HEADERS = frozenset(
    {"authorization", "proxy-authorization", "cookie", "set-cookie", "x-flow-forwarded-by"}
)
logger = logging.getLogger("flow_sdk")


class _EnvHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """The stderr handler that ``FLOW_LOG`` attaches (one at most)."""


def configure_from_env(environ: Mapping[str, str] | None = None) -> None:
    """Attach a stderr handler to the ``flow_sdk`` logger when ``FLOW_LOG`` is ``debug`` or ``info``."""
    level = (os.environ if environ is None else environ).get(LOG_ENV_VAR, "").strip().upper()
    if level not in ("DEBUG", "INFO"):
        return
    if not any(isinstance(handler, _EnvHandler) for handler in logger.handlers):
        handler = _EnvHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(level)


def redacted(headers: httpx.Headers) -> dict[str, str]:
    """The headers with every credential replaced by ``<redacted>``."""
    return {
        name: "<redacted>" if name.lower() in REDACTED_HEADERS else value for name, value in headers.items()
    }


def log_request(request: httpx.Request, attempt: int) -> None:
    """Log one attempt of a request at DEBUG (method, path, query names, redacted headers)."""
    if logger.isEnabledFor(logging.DEBUG):
        query = sorted(request.url.params.keys())
        logger.debug(
            "request %s %s%s attempt=%d headers=%s",
            request.method,
            request.url.path,
            f" query={query}" if query else "",
            attempt + 1,
            redacted(request.headers),
        )


def log_response(request: httpx.Request, response: httpx.Response) -> None:
    """Log an answer at DEBUG (status and request id; no body, no headers)."""
    if logger.isEnabledFor(logging.DEBUG):
        logger.debug(
            "response %s %s -> %d (request_id=%s)",
            request.method,
            request.url.path,
            response.status_code,
            response.headers.get("x-request-id", "none"),
        )


configure_from_env()
