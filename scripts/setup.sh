#!/usr/bin/env bash
# Create .venv with everything the project needs (Python 3.11+), and the Node tools when npm exists.
# Safe to run again: it only installs what is missing or changed.
set -euo pipefail
cd "$(dirname "$0")/.."

python=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$python" -m venv .venv
fi
if [ ! -x .venv/bin/uv ]; then
  .venv/bin/python -m pip install --quiet --disable-pip-version-check uv
fi
# The distribution was called flow-sdk before it took a name of its own on the package index.
.venv/bin/uv pip uninstall --quiet --python .venv/bin/python flow-sdk 2>/dev/null || true
.venv/bin/uv pip install --quiet --python .venv/bin/python -e ".[dev]"

# Debian's chromium, for the web console's browser tests (Playwright drives it; no browser download).
if [ ! -x /usr/bin/chromium ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
      || echo "chromium could not be installed: the console's browser tests will be skipped" >&2
  else
    echo "chromium not found (apt-get install chromium): the console's browser tests will be skipped" >&2
  fi
fi

if command -v npm >/dev/null 2>&1; then
  if [ ! -x node_modules/.bin/redocly ] || [ ! -x node_modules/.bin/prism ]; then
    npm ci --no-audit --no-fund --loglevel=error
  fi
else
  echo "npm not found: the OpenAPI lint and the Prism conformance tests will be skipped" >&2
fi
