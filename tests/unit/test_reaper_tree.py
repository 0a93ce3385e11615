"""The process tree of the reaper: read from the children files, the same as from every process's parent."""

from __future__ import annotations

import subprocess
import time

from flow_local.runtime import reaper


def test_the_tree_from_children_files_matches_the_full_process_table() -> None:
    shell = subprocess.Popen(["sh", "-c", "sleep 30 & (sleep 30 & wait) & wait"])
    try:
        deadline = time.monotonic() + 10
        while len(reaper.descendants(shell.pid)) < 3 and time.monotonic() < deadline:
            time.sleep(0.02)
        # The two reads are not one snapshot: read again while the shell is still settling its children.
        for _attempt in range(50):
            found, own = reaper.tree(shell.pid)
            table = reaper.process_table()
            if sorted(found) == sorted(reaper.descendants(shell.pid, table)):
                break
            time.sleep(0.02)
        assert len(found) >= 3
        assert sorted(found) == sorted(reaper.descendants(shell.pid, table))
        assert own == {pid for pid in found if table[pid] == shell.pid}
        assert reaper.kill_tree(shell.pid) >= 3
        # Called from here rather than from the shell, kill_tree cannot reap: the shell does, in its own time.
        deadline = time.monotonic() + 10
        while reaper.tree(shell.pid) != ([], set()) and time.monotonic() < deadline:
            time.sleep(0.02)
        assert reaper.tree(shell.pid) == ([], set())
    finally:
        shell.kill()
        shell.wait()
