"""``python -m flow_sdk.cli``: the ``flow`` command."""

from flow_sdk.cli.main import app

app(prog_name="flow")
