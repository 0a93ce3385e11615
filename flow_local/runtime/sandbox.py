"""Confine a process that runs user code: Linux Landlock, no new privileges, no capabilities.

A confined process may read and execute only the Python installation, the import path, the system's
shared files (``/usr``, ``/lib``, ``/etc``, a few devices) and its own ``/proc`` entry; it may write only
in its scratch directory. Everything else (the platform's data directory with the signing key and
``platform.db``, other processes' ``/proc`` entries with their command lines and environments, other
executions' scratch directories) is out of reach, and so are signals to processes outside its domain.

Landlock (Linux 5.13+) needs no privileges and applies to root as well; on a kernel without it,
:func:`confine` reports that nothing was confined and :func:`warn_unconfined` logs a loud warning once.
"""

from __future__ import annotations

import contextlib
import ctypes
import functools
import logging
import os
import platform
import signal
import stat
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path

logger = logging.getLogger("flow_local.sandbox")

_SYS_CREATE_RULESET = 444
_SYS_ADD_RULE = 445
_SYS_RESTRICT_SELF = 446
_CREATE_RULESET_VERSION = 1
_RULE_PATH_BENEATH = 1
_PR_SET_NO_NEW_PRIVS = 38
_PR_CAPBSET_DROP = 24
_PR_SET_PDEATHSIG = 1
_PR_SET_CHILD_SUBREAPER = 36
_LAST_CAP = 63

EXECUTE = 1 << 0
WRITE_FILE = 1 << 1
READ_FILE = 1 << 2
READ_DIR = 1 << 3
REMOVE_DIR = 1 << 4
REMOVE_FILE = 1 << 5
MAKE_CHAR = 1 << 6
MAKE_DIR = 1 << 7
MAKE_REG = 1 << 8
MAKE_SOCK = 1 << 9
MAKE_FIFO = 1 << 10
MAKE_BLOCK = 1 << 11
MAKE_SYM = 1 << 12
REFER = 1 << 13
TRUNCATE = 1 << 14
IOCTL_DEV = 1 << 15
SCOPE_ABSTRACT_UNIX_SOCKET = 1 << 0
SCOPE_SIGNAL = 1 << 1

READ = EXECUTE | READ_FILE | READ_DIR
WRITE = WRITE_FILE | REMOVE_DIR | REMOVE_FILE | MAKE_DIR | MAKE_REG | MAKE_SOCK | MAKE_FIFO | MAKE_SYM
SYSTEM_READ_ROOTS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc", "/opt")
BASE_ENVIRONMENT = ("PATH", "LANG", "LC_ALL", "TZ", "SSL_CERT_FILE", "SSL_CERT_DIR", "NO_PROXY", "no_proxy")
"""The only variables of the platform's environment passed on to processes running user code."""
DEVICES = ("/dev/null", "/dev/zero", "/dev/random", "/dev/urandom", "/dev/full")


class _RulesetAttr(ctypes.Structure):
    _fields_ = [
        ("handled_access_fs", ctypes.c_uint64),
        ("handled_access_net", ctypes.c_uint64),
        ("scoped", ctypes.c_uint64),
    ]


class _PathBeneathAttr(ctypes.Structure):
    _pack_ = 1
    _fields_ = [("allowed_access", ctypes.c_uint64), ("parent_fd", ctypes.c_int32)]


@functools.cache
def _libc() -> ctypes.CDLL:
    return ctypes.CDLL(None, use_errno=True)


@functools.cache
def landlock_abi() -> int:
    """The Landlock ABI version of this kernel (0 when Landlock is missing, disabled or not Linux)."""
    if sys.platform != "linux" or platform.machine() not in ("x86_64", "aarch64"):
        return 0
    version = int(_libc().syscall(_SYS_CREATE_RULESET, None, ctypes.c_size_t(0), _CREATE_RULESET_VERSION))
    return max(0, version)


def _handled_fs(abi: int) -> int:
    handled = READ | WRITE | MAKE_CHAR | MAKE_BLOCK
    if abi >= 2:
        handled |= REFER
    if abi >= 3:
        handled |= TRUNCATE
    if abi >= 5:
        handled |= IOCTL_DEV
    return handled


def read_roots() -> list[Path]:
    """Directories a confined process may read: Python, its import path, the system's shared files.

    The first import-path entry of ``python -m`` (the current directory) is left out.
    """
    roots = {Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path(sys.base_exec_prefix)}
    roots.update(Path(entry) for entry in sys.path[1:] if entry)
    roots.update(Path(root) for root in SYSTEM_READ_ROOTS)
    return sorted(root.resolve() for root in roots if root.exists())


def exposed(path: Path) -> list[Path]:
    """The readable roots that contain ``path`` (empty when a confined process cannot read it)."""
    target = path.resolve()
    return [root for root in read_roots() if target == root or root in target.parents]


def _open_rule(path: str, access: int) -> tuple[int, int] | None:
    """An ``O_PATH`` descriptor of ``path`` and the access to grant beneath it (None when it is missing)."""
    try:
        fd = os.open(path, os.O_PATH | os.O_CLOEXEC)
    except OSError:
        return None
    if not stat.S_ISDIR(os.fstat(fd).st_mode):
        access &= EXECUTE | WRITE_FILE | READ_FILE | TRUNCATE | IOCTL_DEV
    return fd, access


def _add_fd_rule(libc: ctypes.CDLL, ruleset: int, fd: int, access: int) -> None:
    attr = _PathBeneathAttr(allowed_access=access, parent_fd=fd)
    if libc.syscall(_SYS_ADD_RULE, ruleset, _RULE_PATH_BENEATH, ctypes.byref(attr), 0) != 0:
        raise OSError(ctypes.get_errno(), f"landlock_add_rule failed for descriptor {fd}")


def _add_rule(libc: ctypes.CDLL, ruleset: int, path: str, access: int) -> None:
    opened = _open_rule(path, access)
    if opened is None:
        return
    try:
        _add_fd_rule(libc, ruleset, *opened)
    finally:
        os.close(opened[0])


class OpenedRules:
    """The rules every process a warm worker forks shares, opened once: the read roots and the devices.

    Each rule is an ``O_PATH`` descriptor (it grants nothing by itself: no read, no write, no listing)
    with its access. Every forked child inherits the descriptors, adds them to its ruleset in
    :func:`confine` and must then :meth:`close` them, so that a confined process holds none.
    """

    def __init__(self, roots: Sequence[Path]) -> None:
        wanted = [(str(root), READ) for root in roots]
        wanted += [(device, READ_FILE | WRITE_FILE) for device in DEVICES]
        self.rules = [rule for path, access in wanted if (rule := _open_rule(path, access)) is not None]

    def add_to(self, libc: ctypes.CDLL, ruleset: int) -> None:
        """Add every rule to ``ruleset``."""
        for fd, access in self.rules:
            _add_fd_rule(libc, ruleset, fd, access)

    def close(self) -> None:
        """Close the descriptors (in a child once it is confined, or when confining failed)."""
        for fd, _access in self.rules:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.rules = []


_bounding_set_dropped: list[bool] = []


def drop_bounding_set() -> None:
    """Empty the capability bounding set of this process, and so of all it forks later (as root only).

    The process keeps the capabilities it has, but none can be gained again by ``execve``. A warm
    worker does it once, so that :func:`confine` in each child it forks skips those 64 calls.
    """
    if os.geteuid() != 0:
        return
    libc = _libc()
    for capability in range(_LAST_CAP + 1):
        libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)
    _bounding_set_dropped.append(True)


def _drop_capabilities(libc: ctypes.CDLL) -> None:
    """Drop every capability (bounding set, then effective/permitted/inheritable) when running as root."""
    if os.geteuid() != 0:
        return
    if not _bounding_set_dropped:
        for capability in range(_LAST_CAP + 1):
            libc.prctl(_PR_CAPBSET_DROP, capability, 0, 0, 0)
    header = (ctypes.c_uint32 * 2)(0x20080522, 0)
    data = (ctypes.c_uint32 * 6)()
    if libc.capset(ctypes.byref(header), ctypes.byref(data)) != 0:
        raise OSError(ctypes.get_errno(), "capset failed")


def confine(
    writable: Iterable[Path],
    readable: Iterable[Path] = (),
    roots: Sequence[Path] | None = None,
    opened: OpenedRules | None = None,
) -> bool:
    """Confine this process for good: read the roots of :func:`read_roots`, write only in ``writable``.

    Args:
        writable: Directories the process may read and write (its scratch directory).
        readable: Extra directories or files it may read (a hosted service's source).
        roots: :func:`read_roots` as computed before (a warm worker computes them once, not in every
            child it forks); computed now when not given.
        opened: The roots and devices opened before (:class:`OpenedRules`), used instead of ``roots``;
            the caller closes them once this returns or raises.

    Returns:
        True when Landlock confines the process; False when the kernel has no Landlock (nothing changed
        but no-new-privileges and the capabilities).

    Raises:
        OSError: Landlock is present but refused the ruleset (the caller must not run user code then).
    """
    libc = _libc()
    if libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_NO_NEW_PRIVS) failed")
    abi = landlock_abi()
    _drop_capabilities(libc)
    if abi == 0:
        return False
    handled = _handled_fs(abi)
    attr = _RulesetAttr(
        handled_access_fs=handled,
        handled_access_net=0,
        scoped=(SCOPE_ABSTRACT_UNIX_SOCKET | SCOPE_SIGNAL) if abi >= 6 else 0,
    )
    size = ctypes.sizeof(_RulesetAttr) if abi >= 6 else 16
    ruleset = int(libc.syscall(_SYS_CREATE_RULESET, ctypes.byref(attr), ctypes.c_size_t(size), 0))
    if ruleset < 0:
        raise OSError(ctypes.get_errno(), "landlock_create_ruleset failed")
    try:
        if opened is None:
            opened = OpenedRules(read_roots() if roots is None else roots)
            try:
                opened.add_to(libc, ruleset)
            finally:
                opened.close()
        else:
            opened.add_to(libc, ruleset)
        for path in readable:
            _add_rule(libc, ruleset, str(path), READ)
        _add_rule(libc, ruleset, f"/proc/{os.getpid()}", READ_FILE | READ_DIR)
        for directory in writable:
            _add_rule(libc, ruleset, str(directory), handled)
        if libc.syscall(_SYS_RESTRICT_SELF, ruleset, 0) != 0:
            raise OSError(ctypes.get_errno(), "landlock_restrict_self failed")
    finally:
        os.close(ruleset)
    return True


_warned: list[bool] = []


def warn_unconfined() -> None:
    """Log, once per process, that user code runs unconfined on this machine."""
    if _warned:
        return
    _warned.append(True)
    logger.warning(
        "Linux Landlock is not available on this kernel: code blocks, agents and hosted services run "
        "WITHOUT a filesystem sandbox and can read every file this user can (the platform's data "
        "directory included). Run the platform on Linux 5.13 or newer for isolation."
    )


def die_with_parent(signum: int = signal.SIGKILL) -> None:
    """Ask Linux to send ``signum`` (SIGKILL by default) to this process when its parent dies.

    A no-op elsewhere; safe in ``preexec_fn``.
    """
    with contextlib.suppress(OSError, AttributeError):
        _libc().prctl(_PR_SET_PDEATHSIG, signum, 0, 0, 0)


def become_subreaper() -> None:
    """Make this process the parent of its orphaned descendants, so it can find and reap them."""
    if _libc().prctl(_PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER) failed")


def preexec_confine(writable: list[Path], readable: list[Path]) -> None:
    """A ``preexec_fn`` for :class:`subprocess.Popen`: die with the parent, then confine the child."""
    die_with_parent()
    if not confine(writable, readable):
        warn_unconfined()
