"""Fixtures for unit tests (helpers live in flow_unit_helpers)."""

from flow_unit_helpers import clean_env, sleeps

__all__ = ["clean_env", "sleeps"]
