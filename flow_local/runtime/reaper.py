"""Find and kill every process descending from one, whatever session or process group it moved to.

``killpg`` misses a process that called ``setsid`` (or ``setpgid``), so the tree is read from ``/proc``
instead: a process belongs to it when its chain of parents leads to the root. The root should be a
subreaper (``PR_SET_CHILD_SUBREAPER``): then an orphan whose parent was killed is re-parented to the
root rather than to init, and the next round finds it. Rounds repeat until nothing is left, so a
process forked while a round was killing its parent is caught by the next one.
"""

from __future__ import annotations

import contextlib
import os
import signal
from pathlib import Path

KILL_ROUNDS = 50
"""Rounds of kill-and-reap before giving up on a tree that keeps forking."""


def process_table() -> dict[int, int]:
    """Every visible process id with its parent's id, from ``/proc``."""
    table: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
                table[int(entry.name)] = int(fields[1])
    return table


def children(pid: int) -> list[int] | None:
    """The children of ``pid`` from ``/proc/<pid>/task/*/children``, or None where the kernel lacks it.

    Reading one small file per thread of ``pid`` instead of every process's ``stat`` keeps the check
    after each job cheap: it usually finds nothing.
    """
    found: list[int] = []
    try:
        for task in Path(f"/proc/{pid}/task").iterdir():
            with contextlib.suppress(ProcessLookupError):
                found += [int(child) for child in (task / "children").read_text().split()]
    except FileNotFoundError:
        return None
    return found


def tree(root: int) -> tuple[list[int], set[int]]:
    """The descendants of ``root`` and which of them are its own children (read from ``/proc``)."""
    direct = children(root)
    if direct is None:  # no children files: read every process's parent
        table = process_table()
        return descendants(root, table), {pid for pid, parent in table.items() if parent == root}
    found, pending = list(direct), list(direct)
    while pending:
        below = children(pending.pop()) or []
        found += below
        pending += below
    return found, set(direct)


def descendants(root: int, table: dict[int, int] | None = None) -> list[int]:
    """The processes whose chain of parents leads to ``root`` (not ``root`` itself)."""
    children: dict[int, list[int]] = {}
    for pid, parent in (table if table is not None else process_table()).items():
        children.setdefault(parent, []).append(pid)
    found: list[int] = []
    pending = list(children.get(root, []))
    while pending:
        pid = pending.pop()
        found.append(pid)
        pending.extend(children.get(pid, []))
    return found


def has_children() -> bool:
    """Whether this process has any child, running or exited but not yet waited for (none is reaped).

    In a subreaper, no child means no descendant at all: a process that dies has its children handed
    to the nearest subreaper above it before it can itself be waited for, so every living descendant
    is a child, or below a child, still there to be found.
    """
    try:
        os.waitid(os.P_ALL, 0, os.WEXITED | os.WNOHANG | os.WNOWAIT)
    except ChildProcessError:
        return False
    return True


def kill_own_tree() -> int:
    """:func:`kill_tree` of this process (a subreaper), without reading ``/proc`` when it has no child."""
    return kill_tree(os.getpid()) if has_children() else 0


def kill_tree(root: int) -> int:
    """SIGKILL every descendant of ``root``, round after round, and reap those that are its children.

    Call it from ``root`` itself (a subreaper) so that killed processes are reaped and orphans come back
    to it. Returns how many processes were killed.
    """
    killed = 0
    for _round in range(KILL_ROUNDS):
        found, own = tree(root)
        if not found:
            break
        for pid in found:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
        killed += len(found)
        for pid in own:
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, 0)
    return killed
