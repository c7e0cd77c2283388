"""The ``dynmem`` command line: a flat registry of subcommands, one module each.

Each command module exposes ``register(subparsers)``, which adds its parser and sets
``handler`` (a function ``(args) -> int`` exit code). Exit codes: 0 all good, 1 a finding
(violation, counterexample, unknown), 2 bad input or usage, 130 interrupted (Ctrl-C), 143
terminated (SIGTERM), 141 the reader of stdout went away (``dynmem ... | head``).

Around every command: SIGTERM is turned into :class:`Terminated` (a KeyboardInterrupt), so a
terminated run cleans up and reports like an interrupted one; stdout and stderr escape
control characters (:mod:`.console`); every output path is checked before the run
(:mod:`.paths`).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import functools
import importlib
import os
import signal
import sys
from collections.abc import Callable, Iterator, Sequence
from types import FrameType, ModuleType
from typing import Any

from dynmem.verification import __version__
from dynmem.verification.atomic import claim_stdout
from dynmem.verification.cli.console import SafeText
from dynmem.verification.cli.paths import check_outputs
from dynmem.verification.cli.progress import mark_start
from dynmem.verification.engines import engine_versions, engine_warning, engines_line
from dynmem.verification.errors import (
    InputError,
    Terminated,
    clear_signals,
    get_pending_signal,
    note_signal,
)

# Every subcommand: (name, module under dynmem.verification.cli.commands, one-line help), in
# help order. The help is written here so that ``dynmem --help`` imports no command module (and
# so no engine: Z3, Hypothesis, networkx, matplotlib); a test checks it against each module's.
COMMANDS: tuple[tuple[str, str, str], ...] = (
    ("simulate", "simulate",
     "run a scenario through the reference, checking every invariant at every step"),
    ("verify", "verify",
     "run every verification check (scenarios, proofs, bmc, exploration, fuzzing)"),
    ("oracle", "oracle",
     "check an implementation under test against the model or the reference"),
    ("check-trace", "check_trace",
     "check a recorded log of a real system against the model (streaming)"),
    ("vectors", "vectors", "write conformance vectors (any language can run them)"),
    ("prove", "prove", "prove every invariant inductive with Z3 (CTIs and unknowns fail)"),
    ("bmc", "bmc",
     "bounded model checking: the shortest trace breaking an invariant, replayed"),
    ("mutants", "mutants", "list the planted bugs (mutated models) every check must catch"),
    ("show", "show",
     "show a trace (ITF JSON) readably: changes per step, events in words, blame"),
    ("shrink", "shrink",
     "shrink a violating trace (fewer steps, VMs, smaller sizes), same invariant"),
    ("explore", "explore", "explore every reachable state of a small configuration (BFS)"),
    ("fuzz", "fuzz",
     "random VM lifecycles against the reference: Hypothesis, or fast seeded random walks"),
    ("audit", "audit",
     "judge real hosts' evidence (Hyper-V snapshots, PDH counters, QEMU QMP) against the "
     "model and give right-sizing advice"),
    ("specs", "specs", "show where the installed specification and JSON Schemas are"),
)


def load_command(module: str) -> ModuleType:
    """The command module ``module``, imported now (a deliberate lazy load: start-up time)."""
    return importlib.import_module(f"dynmem.verification.cli.commands.{module}")


def chosen_command(argv: Sequence[str]) -> str | None:
    """The subcommand named in ``argv`` (its first word that is not an option), if any."""
    names = {name for name, _, _ in COMMANDS}
    for word in argv:
        if not word.startswith("-"):
            return word if word in names else None
    return None


class _VersionAction(argparse.Action):
    """``--version``: the engines' metadata is read only when asked (about 35 ms, which
    every other command would pay at start-up)."""

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace,
                 values: Any, option_string: str | None = None) -> None:
        sys.stdout.write(_version_text() + "\n")  # stdout, as argparse's own action does
        parser.exit()


def _version_text() -> str:
    """``dynmem 0.1.0 (hypothesis …, z3-solver …)``, and a warning if an engine is not pinned."""
    engines = engine_versions()
    warning = engine_warning(engines)
    text = f"dynmem {__version__} ({engines_line(engines)})"
    return text if warning is None else f"{text}\nwarning: {warning}"


def build_parser(argv: Sequence[str] | None = None) -> argparse.ArgumentParser:
    """The parser; only the command chosen in ``argv`` gets its full parser (all without argv).

    Every other command is a stub with its name and help, enough for ``dynmem --help`` and
    for argparse to tell a mistyped command from a real one.
    """
    parser = argparse.ArgumentParser(
        prog="dynmem",
        description="Formal model, reference and verification suite for Hyper-V Dynamic "
                    "Memory balancers.",
    )
    parser.add_argument("--version", action=_VersionAction, nargs=0,
                        help="show dynmem's version and its verdict engines', and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    chosen = chosen_command(argv) if argv is not None else None
    for name, module, help_text in COMMANDS:
        if argv is None or name == chosen:
            load_command(module).register(sub)
        else:
            sub.add_parser(name, help=help_text, add_help=False)
    return parser


EXIT_INTERRUPTED = 130  # 128 + SIGINT, as shells report it
EXIT_TERMINATED = 143  # 128 + SIGTERM
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE: what ``cat`` gives when its reader goes away


def _terminate(signum: int, frame: FrameType | None) -> None:
    note_signal(signum)
    raise Terminated(f"signal {signum}")


def _interrupt(signum: int, frame: FrameType | None) -> None:
    note_signal(signum)  # raised again at a checkpoint if a gc callback swallows it
    raise KeyboardInterrupt


@contextlib.contextmanager
def _signals() -> Iterator[None]:
    """SIGTERM raises :class:`Terminated`, SIGINT KeyboardInterrupt; both are noted
    (``errors.raise_pending_signal``). Outside the main thread (an embedding program) signals
    are left alone."""
    clear_signals()
    previous: dict[int, Any] = {}
    hook = sys.unraisablehook
    sys.unraisablehook = functools.partial(_unraisable_while_running, hook)
    try:
        previous[signal.SIGTERM] = signal.signal(signal.SIGTERM, _terminate)
        if signal.getsignal(signal.SIGINT) is not signal.SIG_IGN:  # nohup, `cmd &` in sh
            previous[signal.SIGINT] = signal.signal(signal.SIGINT, _interrupt)
    except ValueError:
        pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        clear_signals()
        if isinstance(sys.unraisablehook, functools.partial) \
                and sys.unraisablehook.func is _unraisable_while_running:
            sys.unraisablehook = hook


def _unraisable_while_running(hook: Callable[[Any], object], unraisable: Any) -> None:
    """A signal's exception raised where Python cannot raise it (a gc callback, a
    ``__del__``: "Exception ignored in ...") is not lost: the signal is noted and raised
    again at a checkpoint (``raise_pending_signal``), and the run ends with its one line. So
    its traceback would only read as a crash (seen in CI: SIGTERM inside Hypothesis's gc
    callback). Anything else goes to ``hook``, Python's own."""
    if isinstance(unraisable.exc_value, KeyboardInterrupt | Terminated) \
            and get_pending_signal() is not None:
        return
    hook(unraisable)


@contextlib.contextmanager
def _guarded_run() -> Iterator[None]:
    """Signals as interrupts (``_signals``); stdout and stderr escape control characters."""
    out, err = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = SafeText(out, keep_cr=False), SafeText(err)
    try:
        with _signals():
            yield
    finally:
        sys.stdout, sys.stderr = out, err


def _silence_stdout() -> None:
    """Point fd 1 at /dev/null so the interpreter's last flush cannot fail again."""
    with contextlib.suppress(OSError, ValueError):
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


def _quiet_unraisable(unraisable: object) -> None:
    """After an interruption: an object cut off half-built (a Z3 context) may fail in its
    ``__del__`` at exit; its traceback would read as a crash, and the run said what
    happened already."""


def main(argv: Sequence[str] | None = None) -> int:
    """The ``dynmem`` command (``argv`` None: this process's arguments, the console script)."""
    words = sys.argv[1:] if argv is None else list(argv)
    mark_start(whole_process=argv is None)
    with _guarded_run():
        return _main(words, whole_process=argv is None)


def _main(words: list[str], whole_process: bool) -> int:
    parser = build_parser(words)
    args = parser.parse_args(words)
    if not getattr(args, "handler", None):
        parser.print_help()
        return 2
    try:
        to_stdout = check_outputs(args)
        with claim_stdout() if to_stdout else contextlib.nullcontext():
            code = int(args.handler(args))
        sys.stdout.flush()
        return code
    except InputError as err:
        print(f"dynmem: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as stop:
        return _interrupted(isinstance(stop, Terminated), whole_process)
    except BrokenPipeError:
        # The reader went away (``dynmem ... | head``): stop quietly, as other tools do.
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as err:
        if err.errno not in (errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT):
            raise
        # stdout (or stderr) cannot be written, e.g. ``> /dev/full``: not a finding.
        _silence_stdout()
        with contextlib.suppress(OSError):
            print(f"dynmem: cannot write the output: {err.strerror}", file=sys.stderr)
        return 2
    except Exception:
        signum = get_pending_signal()
        if signum is None:
            raise
        # The interrupt reached a library that raised its own error while unwinding
        # (Hypothesis, when Ctrl-C lands before its engine has a runner: an AssertionError,
        # seen in CI): what happened is the interruption.
        return _interrupted(signum == signal.SIGTERM, whole_process)


def _interrupted(terminated: bool, whole_process: bool) -> int:
    """Say that the command was interrupted (Ctrl-C) or terminated (SIGTERM); its exit code."""
    if whole_process:  # it ends now; set before the cut-off frames are freed
        sys.unraisablehook = _quiet_unraisable
    print(f"dynmem: {'terminated (SIGTERM)' if terminated else 'interrupted (Ctrl-C)'}",
          file=sys.stderr)
    return EXIT_TERMINATED if terminated else EXIT_INTERRUPTED
