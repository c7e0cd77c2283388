"""End every process an IUT session started, also those that left its process group.

Killing the IUT's process group misses a child that called ``setsid()`` (or joined another
group), and such an orphan would be adopted by init and survive the run. On Linux the
harness therefore makes itself a *child subreaper* (``prctl(PR_SET_CHILD_SUBREAPER)``):
orphans of its descendants are re-parented to it instead of init, so they stay in its own
tree. At the end of each session :func:`end_session` walks that tree through the
``/proc/PID/task/TID/children`` lists and kills, in rounds until two listings in a row find
none, every descendant that belongs to the session: the IUT's own subtree, anything in its process
group, and anything whose environment carries the session's marker (inherited by every
process the IUT starts, ``setsid()`` or not); the killed processes that the harness adopted
are reaped. Other children of the harness are left alone. Elsewhere (no ``/proc``) only the
group kill remains.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import signal
import sys
from pathlib import Path

PR_SET_CHILD_SUBREAPER = 36
MARKER = "DYNMEM_IUT_SESSION"
ROUNDS = 20  # a fork bomb can outrun one sweep; each round kills what the last one missed
PROC = Path("/proc")


def become_subreaper() -> bool:
    """Make this process adopt its descendants' orphans (Linux); False where unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        return int(libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)) == 0
    except (OSError, AttributeError):
        return False


def get_children(pid: int) -> list[int]:
    """The direct children of ``pid`` (every thread's ``children`` list); [] if gone."""
    found: list[int] = []
    try:
        tasks = list((PROC / str(pid) / "task").iterdir())
    except OSError:
        return found
    for task in tasks:
        with contextlib.suppress(OSError, ValueError):
            found += [int(word) for word in (task / "children").read_text().split()]
    return found


def get_descendants(pid: int) -> list[int]:
    """Every descendant of ``pid``, parents before children."""
    order, todo = [], get_children(pid)
    while todo:
        child = todo.pop(0)
        if child not in order:
            order.append(child)
            todo += get_children(child)
    return order


def _stat(pid: int) -> tuple[str, int, int] | None:
    """(state, parent pid, process group) of ``pid``, or None when it is gone."""
    try:
        text = (PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()  # the name may hold spaces and parentheses
    return fields[0], int(fields[1]), int(fields[2])


def _has_marker(pid: int, marker: str) -> bool:
    try:
        environ = (PROC / str(pid) / "environ").read_bytes()
    except OSError:
        return False
    return f"{MARKER}={marker}".encode() in environ.split(b"\0")


def get_members(root: int, marker: str) -> list[int]:
    """The live processes of the session started as ``root`` (see the module docstring)."""
    mine = get_descendants(os.getpid())
    subtree = {root, *get_descendants(root)}
    members = []
    for pid in mine:
        stat = _stat(pid)
        if stat is None or stat[0] == "Z":
            continue
        if pid in subtree or stat[2] == root or _has_marker(pid, marker):
            members.append(pid)
    return members


def _reap(pids: set[int]) -> None:
    """Collect the exit status of the killed processes the harness adopted (never ``root``'s:
    its ``Popen`` waits for it), so no zombie is left behind."""
    for pid in pids:
        with contextlib.suppress(ChildProcessError, OSError):
            os.waitpid(pid, 0)  # SIGKILLed: returns at once; not our child: ECHILD at once


def end_session(root: int, marker: str) -> int:
    """Kill every live process of the session; the number of processes killed."""
    if not PROC.is_dir():
        return 0
    killed: set[int] = set()
    quiet = 0
    for _ in range(ROUNDS):
        members = get_members(root, marker)
        if not members:
            # A dying process hands its children to us before it turns zombie, possibly
            # between our reading of our own children and of its: such an orphan is missing
            # from this listing. A listing that starts after it cannot miss it.
            quiet += 1
            if quiet == 2:
                break
            continue
        quiet = 0
        for pid in members:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)
                killed.add(pid)
    _reap(killed - {root})
    return len(killed)
