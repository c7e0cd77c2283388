"""Write an output file atomically: a temp file in the same directory, then ``os.replace``.

A reader (a CI artifact upload, a browser reloading a report) never sees a half-written
file, and a failed write leaves the old file in place.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from dynmem.verification.errors import InputError


def _mode_for(target: Path) -> int:
    """The existing file's mode, or what ``open(path, "w")`` gives under the umask."""
    try:
        return target.stat().st_mode & 0o777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_atomic(path: str | os.PathLike[str], data: bytes | str, *,
                 parents: bool = False) -> None:
    """Write ``data`` (text is UTF-8) to ``path`` atomically; ``parents`` creates its folder.

    Raises
    ------
    InputError
        When the file cannot be written (e.g. its directory does not exist), naming it.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "a.txt"
    >>> write_atomic(out, "hello")
    >>> out.read_text()
    'hello'
    """
    target = Path(path)
    payload = data.encode("utf-8") if isinstance(data, str) else data
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
