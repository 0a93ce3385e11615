"""Performance harness: FlowSDK and CLIClient against raw httpx, and the local platform's speed bars.

Run it as ``python -m benchmarks [--quick] [--json PATH]`` (``nox -s bench`` does). Every ratio is
taken against a baseline measured in the same run; see ``benchmarks/README.md``.
"""
