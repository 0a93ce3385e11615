"""Execution runtime of the local platform: NATS server, streams, runners, workers and engines."""
