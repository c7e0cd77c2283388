"""The flags several ``dynmem`` commands share: one spelling and one help text each.

A command module adds a shared flag by calling its ``add_*`` function here, never with its own
``add_argument`` (a test checks that no flag is spelled in two command modules). What truly
differs between commands (a default, what a file holds, what a timeout bounds) is a parameter;
the words around it are written once. Nothing here imports an engine: the parsers are built
before anything runs (verification/cli/main.py).
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Callable

from dynmem.model.vocabulary import HOST_PROFILE_WORDS, HostProfile
from dynmem.verification.errors import InputError

# Every flag spelled here; a command module spells only its own.
SHARED = ("--json", "--out", "--rlimit", "--depth", "--seed", "--vms", "--mutant", "--invariant",
          "--examples", "--ascii", "--html", "--plot", "--window", "--host-profile",
          "--workers", "--scheduler", "--pages")


def add_json(parser: argparse.ArgumentParser) -> None:
    """``--json``: exactly one JSON document on stdout (progress, if any, stays on stderr)."""
    parser.add_argument("--json", action="store_true",
                        help="print one JSON document on stdout instead of the text")


def add_pages(parser: argparse.ArgumentParser, what: str, mutant: bool = True) -> None:
    """``--pages``: the command on the page layer (specs/pages.md); ``what`` says what it
    does there; ``mutant``: ``--mutant`` then names a page bug."""
    more = "; --mutant takes a page bug (dynmem mutants lists them)" if mutant else ""
    parser.add_argument("--pages", action="store_true", help=f"{what}{more}")


def add_lifecycle(parser: argparse.ArgumentParser, note: str) -> None:
    """``--lifecycle``: the events of specs/lifecycle.md too; ``note`` says where and what
    it costs."""
    parser.add_argument("--lifecycle", action="store_true",
                        help="add the events of specs/lifecycle.md: guest restarts, channel "
                             "resets, the stuck timer, save/restore, migration and starts "
                             f"that wait for reclaim ({note})")


def add_linux(parser: argparse.ArgumentParser, note: str) -> None:
    """``--linux``: Linux guests too (specs/protocol.md §3.2, policy.md P-DEMAND); ``note``
    says where they run."""
    parser.add_argument("--linux", action="store_true",
                        help="Linux guests too: they report committed + ballooned + their "
                             "balloon floor and give only what is above that floor "
                             f"(specs/protocol.md §3.2; {note})")


def add_align(parser: argparse.ArgumentParser, note: str) -> None:
    """``--align``: guests that advertise hot-add alignments above 2 MiB (R-HOT-ADD-ALIGN);
    ``note`` says which."""
    parser.add_argument("--align", action="store_true",
                        help="guests may also advertise a hot-add alignment above 2 MiB, "
                             "which every hot-add must be a multiple of (specs/events.md "
                             f"R-HOT-ADD-ALIGN; {note})")


def add_hibernate(parser: argparse.ArgumentParser, note: str) -> None:
    """``--hibernate``: a hibernating Linux guest (specs/lifecycle.md §1); ``note`` says
    where it runs."""
    parser.add_argument("--hibernate", action="store_true",
                        help="a hibernating Linux guest too: it reports balloon without "
                             "hot-add and never answers a balloon or an unballoon, so only "
                             f"the host's watchdog ends the wait (specs/lifecycle.md §1; {note})")


def add_trace_out(parser: argparse.ArgumentParser, trace: str) -> None:
    """``--out TRACE.itf.json``: where to write ``trace`` (e.g. "the counterexample trace")."""
    parser.add_argument("--out", metavar="TRACE.itf.json",
                        help=f"write {trace} as ITF JSON (the Apalache/Quint trace format)")


def add_out_dir(parser: argparse.ArgumentParser, contents: str) -> None:
    """``--out DIR``: the folder for ``contents`` (e.g. "the report files")."""
    parser.add_argument("--out", metavar="DIR", help=f"folder for {contents}")


def add_rlimit(parser: argparse.ArgumentParser, default: int, each: str,
               number: Callable[[str], int] = int) -> None:
    """``--rlimit N``: Z3's resource budget for ``each`` solver check (a count of Z3's work
    units, so a verdict never depends on the machine's speed or load), read by ``number``."""
    parser.add_argument("--rlimit", type=number, default=default, metavar="N",
                        help=f"Z3 resource budget per {each}, in Z3's own work units "
                             f"(default {default:,}; the same verdict on any machine under "
                             f"any load); an exhausted budget is an unknown and fails")


def add_depth(parser: argparse.ArgumentParser, default: int | None, metavar: str,
              what: str) -> None:
    """``--depth N``: how many steps ``what`` spans (a count: the same run on any machine);
    ``default`` None: ``what`` says the defaults (the command picks one)."""
    parser.add_argument("--depth", type=int, default=default, metavar=metavar,
                        help=what if default is None else f"{what} (default {default})")


def add_seed(parser: argparse.ArgumentParser, unseeded: str) -> None:
    """``--seed S``: the random seed; ``unseeded`` says what runs without one."""
    parser.add_argument("--seed", type=int, default=None, metavar="S",
                        help=f"random seed, to repeat a run exactly (default: {unseeded})")


def add_vms(parser: argparse.ArgumentParser, default: int | None, shown: str,
            choices: tuple[int, ...] | None = None) -> None:
    """``--vms N``: the number of VM slots; ``shown`` is the default as the help says it."""
    parser.add_argument("--vms", type=int, default=default, metavar="N", choices=choices,
                        help=f"number of VM slots (default: {shown})")


def _default(words: str | None) -> str:
    return f"; default: {words}" if words else ""


def add_mutant(parser: argparse.ArgumentParser, does: str, default: str | None = None) -> None:
    """``--mutant NAME``: a planted bug; ``does`` says what the command does with it."""
    parser.add_argument("--mutant", metavar="NAME",
                        help=f"{does} the planted bug NAME (dynmem mutants lists them)"
                             f"{_default(default)}")


def add_invariant(parser: argparse.ArgumentParser, does: str, default: str,
                  repeatable: bool) -> None:
    """``--invariant ID``: an invariant of the registry; ``does`` says what it is for."""
    more = "; repeatable" if repeatable else ""
    parser.add_argument("--invariant", action="append" if repeatable else "store",
                        metavar="ID", help=f"{does} the invariant ID (such as INV-PHYSICAL){more}"
                                           f"{_default(default)}")


def add_examples(parser: argparse.ArgumentParser, default: int | None, shown: str,
                 note: str = "") -> None:
    """``--examples N``: how many generated examples to run (``shown``: the default's words;
    ``note``: what else the command says); checked by ``check_examples`` when it runs."""
    parser.add_argument("--examples", type=int, default=default, metavar="N",
                        help=f"generated examples to run (default: {shown})"
                             + (f"; {note}" if note else ""))


def check_examples(examples: int | None) -> None:
    """``--examples`` is at least 1 when given (else an InputError: exit 2, one line)."""
    if examples is not None and examples <= 0:
        raise InputError("command line", "--examples", examples, "must be > 0")


def add_cluster(parser: argparse.ArgumentParser, what: str) -> None:
    """``--workers N`` / ``--scheduler ADDRESS``: spread ``what`` over a Dask cluster
    (verification/cluster; the ``distributed`` extra), a local one of N worker processes or
    a running scheduler. Opened by ``cluster.open_client`` when either is given."""
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--workers", type=int, default=None, metavar="N",
                       help=f"spread {what} over a local Dask cluster of N worker processes "
                            "(pip install 'dynmem[distributed]'); the same verdicts and report "
                            "as the serial run")
    group.add_argument("--scheduler", metavar="ADDRESS",
                       help=f"spread {what} over the workers of a running Dask scheduler "
                            "(such as tcp://10.0.0.5:8786; each worker needs dynmem installed)")


def uses_cluster(args: argparse.Namespace) -> bool:
    """Whether ``--workers`` or ``--scheduler`` asks for a cluster."""
    return args.workers is not None or args.scheduler is not None


def add_host_profile(parser: argparse.ArgumentParser, what: str) -> None:
    """``--host-profile NAME``: the host's profile, which decides the protocol versions it
    accepts (specs/protocol.md §1.1); ``what`` says what runs on that host. Read by
    ``read_host_profile``."""
    words = ", ".join(HOST_PROFILE_WORDS.values())
    parser.add_argument("--host-profile", metavar="NAME",
                        help=f"run {what} on a host of profile NAME ({words}; 2008r2sp1 "
                             f"accepts protocol 0.3 only; default: qemu, every version)")


def read_host_profile(word: str | None) -> HostProfile | None:
    """The profile ``--host-profile`` names (None when not given), or an InputError."""
    if word is None:
        return None
    by_word = {w: p for p, w in HOST_PROFILE_WORDS.items()}
    if word not in by_word:
        close = difflib.get_close_matches(word, list(by_word), n=1)
        hint = f" (did you mean {close[0]!r}?)" if close else ""
        raise InputError("command line", "--host-profile", word,
                         f"unknown host profile{hint}; known: {', '.join(by_word)}")
    return by_word[word]


def add_ascii(parser: argparse.ArgumentParser) -> None:
    """``--ascii``: the text in ASCII only."""
    parser.add_argument("--ascii", action="store_true",
                        help="use ASCII only (-> and x instead of arrows and crosses)")


def add_html(parser: argparse.ArgumentParser, contents: str) -> None:
    """``--html FILE.html``: also write a self-contained page of ``contents``."""
    parser.add_argument("--html", metavar="FILE.html",
                        help=f"also write a self-contained HTML report: {contents}")


def add_plot(parser: argparse.ArgumentParser, picture: str, metavar: str) -> None:
    """``--plot FILE``: also draw ``picture`` (``metavar`` names the image formats)."""
    parser.add_argument("--plot", metavar=metavar, help=f"also draw {picture} (matplotlib)")


def add_window(parser: argparse.ArgumentParser, default: int, metavar: str, what: str,
               number: Callable[[str], int] = int) -> None:
    """``--window N``: how many steps or samples ``what`` spans (read by ``number``)."""
    parser.add_argument("--window", type=number, default=default, metavar=metavar,
                        help=f"{what} (default {default})")


def add_trace_file(parser: argparse.ArgumentParser, trace: str) -> None:
    """The positional ``TRACE.itf.json`` a command reads (``trace``: what it must hold)."""
    parser.add_argument("file", metavar="TRACE.itf.json", help=f"{trace} (ITF JSON)")
