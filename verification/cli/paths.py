"""Every output path of every command, checked before the command runs (specs/formats.md §5).

A run that fails only at its end because ``--html`` names a missing folder's parent that is a
file, or a device, loses its work; so :func:`check_outputs` checks each output option of the
chosen command with the one safe writer's rules (:mod:`dynmem.verification.atomic`) before
the handler starts. ``-`` (standard output) is allowed where a command writes one file.
"""

from __future__ import annotations

import argparse
from typing import Literal

from dynmem.verification.atomic import STDOUT, check_output_folder, resolve_output
from dynmem.verification.errors import InputError

Kind = Literal["file", "file-or-stdout", "folder"]

# command -> option dest -> what it names. A test checks that every output-like option of
# every command is listed here.
OUTPUTS: dict[str, dict[str, Kind]] = {
    "simulate": {"out": "file-or-stdout"},
    "bmc": {"out": "file-or-stdout"},
    "explore": {"out": "file-or-stdout", "dot": "file-or-stdout"},
    "shrink": {"out": "file-or-stdout"},
    "show": {"plot": "file", "html": "file-or-stdout"},
    "verify": {"junit": "file-or-stdout", "html": "file"},  # html: a folder beside it too
    "fuzz": {"out": "folder"},
    "oracle": {"out": "folder"},
    "vectors": {"out": "folder"},
    "audit": {"scenario": "file-or-stdout", "plot": "file", "html": "file-or-stdout"},
}


def _flag(dest: str, command: str) -> str:
    return dest if command == "vectors" and dest == "out" else f"--{dest}"


def check_outputs(args: argparse.Namespace) -> bool:
    """Check every output path of ``args``; True when one of them is ``-`` (stdout).

    Raises
    ------
    InputError
        An output path that cannot be written (see :func:`resolve_output`), ``-`` where a
        command writes a folder or a binary image, or ``-`` given twice.
    """
    command = getattr(args, "command", None) or ""
    to_stdout = []
    for dest, kind in OUTPUTS.get(command, {}).items():
        value = getattr(args, dest, None)
        if not value:
            continue
        if value == STDOUT:
            if kind != "file-or-stdout":
                raise InputError("command line", _flag(dest, command), value,
                                 f"{command} cannot write this to stdout; give a path")
            to_stdout.append(dest)
        elif kind == "folder":
            check_output_folder(value)
        else:
            resolve_output(value)
    if len(to_stdout) > 1:
        raise InputError("command line", ", ".join(f"--{d}" for d in to_stdout), STDOUT,
                         "only one output can go to stdout")
    return bool(to_stdout)
