"""Waiting for any of several executions to end: an end stored before the waiter first runs is not missed."""

from __future__ import annotations

import asyncio
from pathlib import Path

from flow_local.db import SqliteDatabase
from flow_local.runtime.store import ExecutionStore
from flow_local.runtime.waiters import Waiters


def waiters(tmp_path: Path) -> Waiters:
    return Waiters(ExecutionStore(SqliteDatabase(tmp_path / "platform.db")))


async def test_an_end_stored_before_the_wait_first_runs_answers_at_once(tmp_path: Path) -> None:
    board = waiters(tmp_path)
    # The request handler reads the statuses, then asks to wait; a task that runs before the wait's first
    # step (the engine storing an output) stores the end in between.
    wait = asyncio.ensure_future(board.wait_any_terminal(["a", "b"], timeout=30))
    board.ended("b")
    assert await asyncio.wait_for(wait, 2) == ["b"]


async def test_ends_within_the_linger_come_together_and_nothing_is_left_listening(tmp_path: Path) -> None:
    board = waiters(tmp_path)
    wait = asyncio.ensure_future(board.wait_any_terminal(["a", "b", "c"], timeout=30, linger=0.2))
    await asyncio.sleep(0)
    board.ended("a")
    await asyncio.sleep(0.01)
    board.ended("c")
    assert await asyncio.wait_for(wait, 2) == ["a", "c"]
    assert not board._any, "the listener is gone from every id"


async def test_a_wait_with_no_time_answers_empty_and_registers_nothing(tmp_path: Path) -> None:
    board = waiters(tmp_path)
    assert await board.wait_any_terminal(["a"], timeout=0) == []
    assert not board._any
