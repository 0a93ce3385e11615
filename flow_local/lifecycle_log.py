"""What ``flow local serve`` prints while it starts and stops: one plain line per part, on stderr.

The platform reports its lifecycle on the ``flow_local`` logger at INFO ("stopped ExecutionEngine");
everything else below WARNING stays quiet.
"""

from __future__ import annotations

import logging
import sys

LIFECYCLE_LOGGER = "flow_local"


class _LifecycleOnly(logging.Filter):
    """Let through the ``flow_local`` logger's own INFO lines, and warnings from anywhere."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= logging.WARNING or record.name == LIFECYCLE_LOGGER


def configure_lifecycle_log(quiet: bool) -> None:
    """Print lifecycle lines (unless ``quiet``) and warnings of the platform's loggers on stderr."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    handler.addFilter(_LifecycleOnly())
    logger = logging.getLogger(LIFECYCLE_LOGGER)
    logger.addHandler(handler)
    logger.setLevel(logging.WARNING if quiet else logging.INFO)
    logger.propagate = False
