"""The process tree of the reaper: read from the children files, the same as from every process's parent."""

from __future__ import annotations

import subprocess
import sys
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


SUBREAPER = """
import os, sys, time
from flow_local.runtime import reaper, sandbox

sandbox.become_subreaper()
assert not reaper.has_children(), "a fresh process has no child"

# A child that has exited but was not waited for still counts, and asking does not reap it.
pid = os.fork()
if pid == 0:
    os._exit(3)
while open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0] != "Z":
    time.sleep(0.01)
assert reaper.has_children()
assert os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]) == 3
assert not reaper.has_children()

# A grandchild in its own session, whose parent is gone and waited for, is found and killed.
read, write = os.pipe()
pid = os.fork()
if pid == 0:
    if os.fork() == 0:
        os.setsid()
        os.write(write, str(os.getpid()).encode())
        time.sleep(600)
        os._exit(0)
    os._exit(0)
os.close(write)
grandchild = int(os.read(read, 32))
os.waitpid(pid, 0)
assert reaper.has_children(), "the orphaned grandchild came back to the subreaper"
assert reaper.kill_own_tree() == 1
assert not os.path.exists(f"/proc/{grandchild}"), "killed and reaped"
assert not reaper.has_children() and reaper.kill_own_tree() == 0
print("ok")
"""


def test_a_subreaper_with_no_child_has_no_descendant_and_an_orphan_comes_back_to_it() -> None:
    done = subprocess.run([sys.executable, "-c", SUBREAPER], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout == "ok\n", done.stderr
