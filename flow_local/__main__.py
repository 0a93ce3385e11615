"""``python -m flow_local``: the local platform's command line."""

from flow_local.cli import local_app

local_app(prog_name="flow_local")
