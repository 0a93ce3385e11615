"""What the SDK knows about its own installed distribution: its name and version.

The import name is ``flow_sdk``; the distribution on the package index is ``manifest-flow-sdk``
(``flow-sdk`` there belongs to an unrelated project). Error messages that tell a user to install an
extra use :func:`install_hint`, so the name is written in one place in the code.
"""

from __future__ import annotations

from functools import cache

__all__ = ["DISTRIBUTION", "install_hint", "version"]

DISTRIBUTION = "manifest-flow-sdk"
UNKNOWN_VERSION = "0+unknown"


@cache
def version() -> str:
    """The installed version of the distribution (``0+unknown`` when it is not installed).

    ``importlib.metadata`` is imported here, on first use: it costs more than the rest of the import.
    """
    from importlib import metadata

    try:
        return metadata.version(DISTRIBUTION)
    except metadata.PackageNotFoundError:
        return UNKNOWN_VERSION


def install_hint(extra: str) -> str:
    """The pip command that installs one extra of the distribution, quoted for a shell."""
    return f"pip install '{DISTRIBUTION}[{extra}]'"
