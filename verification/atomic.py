"""The one safe writer: every output file goes through :func:`write_atomic` (specs/formats.md §5).

A file is written to a temp file in the same directory, then ``os.replace``d over the target:
a reader (a CI artifact upload, a browser reloading a report) never sees a half-written file,
and a failed write leaves the old file in place. Before that, :func:`check_output` refuses a
path that exists and is not a regular file (``/dev/null``, ``/dev/full``, a FIFO, a folder):
replacing one would destroy it (as root, ``--out /dev/null`` breaks the machine). A symlink is
written *through*: its target, when a regular file, is replaced and the link kept; a dangling
link or one to anything else is refused. Missing parent folders are created, for every command
alike. The path ``-`` means standard output where a command allows it.
"""

from __future__ import annotations

import os
import stat
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO, TextIO

from dynmem.verification.errors import InputError

STDOUT = "-"

# Where ``-`` writes while a command's own report is moved to stderr (:func:`claim_stdout`).
_CLAIMED: list[TextIO] = []


@contextmanager
def claim_stdout() -> Iterator[None]:
    """While active, ``-`` outputs go to the real stdout and ``print`` goes to stderr, so a
    file written to ``-`` is never mixed with the command's report."""
    real = sys.stdout
    _CLAIMED.append(real)
    sys.stdout = sys.stderr
    try:
        yield
    finally:
        sys.stdout = real
        _CLAIMED.pop()


def _mode_for(target: Path) -> int:
    """The existing file's mode, or what ``open(path, "w")`` gives under the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def _kind(mode: int) -> str:
    """A file type in words, for the refusal message."""
    for test, word in ((stat.S_ISDIR, "a folder"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device"), (stat.S_ISFIFO, "a FIFO"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return word
    return "not a regular file"


def _nearest_folder(folder: Path) -> Path:
    """``folder`` or its nearest existing ancestor (where missing folders would be made)."""
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    return folder


def _check_folder_creatable(folder: Path, source: str) -> None:
    """``folder`` exists as a folder, or can be created (its nearest ancestor is writable)."""
    base = _nearest_folder(folder)
    if not base.is_dir():
        raise InputError(source, "", None, f"cannot create a folder under {str(base)!r}: "
                                           "it is not a folder")
    if base != folder and not os.access(base, os.W_OK | os.X_OK):
        raise InputError(source, "", None, f"cannot create folder {str(folder)!r}: "
                                           f"{str(base)!r} is not writable")


_SYSTEM = (Path("/dev"), Path("/proc"), Path("/sys"))


def _is_system_path(path: Path) -> bool:
    """Whether ``path`` (as given, or where it leads) is under /dev, /proc or /sys: their
    links (``/dev/stdout``, ``/proc/self/fd/1``) lead to whatever the process has open, and
    writing through one replaces, say, the file a shell redirected stdout to."""
    given = Path(os.path.abspath(path))
    real = Path(os.path.realpath(path))
    return any(p == root or root in p.parents for p in (given, real) for root in _SYSTEM)


def resolve_output(path: str | os.PathLike[str]) -> Path:
    """The regular file ``path`` writes to (a symlink's target), checked (see the module).

    Raises
    ------
    InputError
        ``path`` exists and is not a regular file, is a dangling symlink, or its folder cannot
        be created or written.

    Examples
    --------
    >>> resolve_output("/dev/null")
    Traceback (most recent call last):
    ...
    dynmem.verification.errors.InputError: /dev/null: is a system path (/dev, /proc, /sys): \
refusing to write there; give '-' for stdout
    """
    source = os.fspath(path)
    target = Path(source)
    if _is_system_path(target):
        raise InputError(source, "", None, "is a system path (/dev, /proc, /sys): refusing to "
                                           "write there; give '-' for stdout")
    if target.is_symlink():
        real = Path(os.path.realpath(target))
        if not real.exists():
            raise InputError(source, "", None, f"is a symlink to {str(real)!r}, which does not "
                                               "exist: refusing to follow it")
        target = real
    try:
        mode = target.stat().st_mode
    except FileNotFoundError:
        mode = None
    except OSError as err:
        raise InputError(source, "", None, f"cannot write: {err.strerror}") from None
    if mode is not None and not stat.S_ISREG(mode):
        raise InputError(source, "", None, f"exists and is {_kind(mode)}: refusing to replace "
                                           "it (give a regular file's path)")
    if mode is not None and not os.access(target, os.W_OK):
        raise InputError(source, "", None, "cannot write: Permission denied")
    _check_folder_creatable(target.parent, source)
    if target.parent.is_dir() and not os.access(target.parent, os.W_OK | os.X_OK):
        raise InputError(source, "", None, f"cannot write: folder {str(target.parent)!r} is "
                                           "not writable")
    return target


def check_output_folder(path: str | os.PathLike[str]) -> Path:
    """``path`` as an output folder: an existing folder, or one that can be created."""
    source = os.fspath(path)
    folder = Path(source)
    if folder.exists() and not folder.is_dir():
        mode = folder.stat().st_mode
        raise InputError(source, "", None, f"must be a folder, but is {_kind(mode)}"
                         if not stat.S_ISREG(mode) else "must be a folder, but is a file")
    _check_folder_creatable(folder, source)
    return folder


def _write_stdout(payload: bytes) -> None:
    text = _CLAIMED[-1] if _CLAIMED else sys.stdout
    stream: BinaryIO | None = getattr(text, "buffer", None)
    text.flush()
    if stream is None:  # a text-only stream (a test's capture): write it as text
        text.write(payload.decode("utf-8", errors="backslashreplace"))
        text.flush()
        return
    stream.write(payload)
    stream.flush()


def write_atomic(path: str | os.PathLike[str], data: bytes | str, *,
                 parents: bool = True) -> None:
    """Write ``data`` (text is UTF-8) to ``path`` atomically; ``-`` writes to stdout.

    ``parents`` creates missing folders (the default everywhere: one folder behaviour for
    every command). The target is checked by :func:`resolve_output` first.

    Raises
    ------
    InputError
        When the file cannot be written (e.g. it is a device), naming it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> write_atomic(out, "hello")
    >>> out.read_text()
    'hello'
    """
    payload = data.encode("utf-8", errors="backslashreplace") if isinstance(data, str) \
        else data
    if os.fspath(path) == STDOUT:
        _write_stdout(payload)
        return
    target = resolve_output(path)
    try:
        if parents:
            target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    except OSError as err:
        raise InputError(str(path), "", None, f"cannot write: {err.strerror}") from None
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.chmod(tmp, _mode_for(target))  # mkstemp makes 0600
        os.replace(tmp, target)
    except OSError as err:
        Path(tmp).unlink(missing_ok=True)
        raise InputError(str(path), "", None, f"cannot write: {err.strerror}") from None
