"""The whole run of ``dynmem oracle`` as one function, for the command and for Python callers.

Three phases, the first failure ending the run (specs/formats/oracle.md §1.1): the
bounded-exhaustive phase over the presets of 1..``vms`` VMs (and 2vm-reclaim after 2vm), the
random phase, and the top-up of the reachable cells the random phase missed. The command
(``cli.commands.oracle``) and :func:`check_conformance` (the pytest plugin's fixture, user
scripts) both run :func:`run_phases`, so a fixture and a command line with the same settings
reach the same verdict. It lives here, not in ``oracle``, because the exhaustive phase and
the cells are this package's and ``oracle`` may not import it.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager

import attrs

from dynmem.model.concrete_steps import is_allowed as model_is_allowed
from dynmem.model.vocabulary import HostProfile
from dynmem.verification.conformance.cells import get_reachable
from dynmem.verification.conformance.policy import check_policy
from dynmem.verification.conformance.presets import get_preset, get_presets
from dynmem.verification.conformance.result import ConformanceResult
from dynmem.verification.conformance.store import get_cache_dir
from dynmem.verification.conformance.system import check_system
from dynmem.verification.explore import with_alignments
from dynmem.verification.explore.config import ExploreConfig
from dynmem.verification.oracle.check import (
    MODEL,
    Iut,
    OracleRun,
    describe_iut,
    hello_failure,
    open_driver,
)
from dynmem.verification.oracle.generate import ORACLE_ALIGNMENTS, get_default_source
from dynmem.verification.oracle.iut import Driver, IutFault, IutUnusable, Kind, Mode, check_hello
from dynmem.verification.oracle.judge import IsAllowed
from dynmem.verification.oracle.pagewire import WIRE_PAGES
from dynmem.verification.oracle.search import SHRINK_REPLAYS, Progress, SearchResult, search
from dynmem.verification.oracle.topup import TOP_UP, Witness, top_up
from dynmem.verification.properties.cells import Cell

StatesProgress = Callable[[int, int], None]  # (states explored, requests asked)
PresetWatch = Callable[[ExploreConfig], AbstractContextManager[StatesProgress]]


@contextlib.contextmanager
def _unwatched(_config: ExploreConfig) -> Iterator[StatesProgress]:
    yield lambda _states, _asked: None


@attrs.frozen
class Phases:
    """What one oracle run does: ``dynmem oracle``'s flags as values.

    ``exhaustive`` False skips the exhaustive phase (``--no-exhaustive``), ``random`` False
    stops after it (``--exhaustive``); ``vms`` is its largest preset and the top-up's (at
    most 2). The top-up runs after a passing random phase, ``top_up`` examples at most."""

    kind: Kind = "system"
    mode: Mode = "refinement"
    vms: int = 2
    exhaustive: bool = True
    random: bool = True
    examples: int = 100
    seed: int | None = None
    max_steps: int = 60
    lifecycle: bool = False
    linux: bool = False
    top_up: int = TOP_UP
    shrink_replays: int = SHRINK_REPLAYS
    alignments: tuple[int, ...] = ()  # what guests advertise besides 2 MiB (Rule P1c)
    hibernate: bool = False  # guest profiles drawn, a hibernating guest among them


@attrs.frozen
class Watch:
    """How a run reports progress: a line per phase, a row per preset, the random phase."""

    say: Callable[[str], None] = lambda _line: None
    preset: PresetWatch = _unwatched
    random: Progress | None = None


def describe_phase(found: ConformanceResult) -> dict[str, object]:
    """The report's record of one exhaustive preset (report.json ``phases``)."""
    return {"phase": "exhaustive", "preset": found.preset, "states": found.states,
            "transitions": found.transitions, "requests": found.requests,
            "probes": found.probes, "follow_ups": found.follow_ups,
            "plans_judged": found.views,
            "progress_checked": found.progress_checked, "complete": found.complete,
            "verdict": found.verdict(),
            "requests_per_second": round(found.requests_per_second)}


def exhaustive_phase(driver: Driver, phases: Phases, is_allowed: IsAllowed | None,
                     profile: HostProfile = HostProfile.QEMU, watch: Watch = Watch()
                     ) -> SearchResult:
    """Every preset of 1..``phases.vms`` VMs on hosts of ``profile``, stopping at the first
    failure; ``phases`` of the result says what each preset covered."""
    covered: list[dict[str, object]] = []
    presets = get_presets(phases.kind, phases.vms, phases.lifecycle, phases.linux, profile,
                          phases.hibernate)
    if phases.alignments:  # presets NAME+align: guests of larger hot-add blocks too
        presets = [with_alignments(config, phases.alignments) for config in presets]
    for config in presets:
        watch.say(f"dynmem oracle: exhaustive phase, preset {config.name} ...")
        with watch.preset(config) as progress:
            if phases.kind == "policy":  # plans are fetched in one batch: no counts to show
                found = check_policy(driver, config, phases.mode, is_allowed)
            else:
                found = check_system(driver, config, phases.mode, is_allowed,
                                     progress=progress)
        covered.append(describe_phase(found))
        if found.failure is not None:
            return SearchResult(0, found.failure, 0, phases=tuple(covered), notes=(
                "exhaustive phase: the trace is a shortest one (breadth-first), not shrunk",),
                random_phase=False)
    return SearchResult(0, None, 0, phases=tuple(covered), random_phase=False)


def top_up_phase(driver: Driver, phases: Phases, found: SearchResult,
                 is_allowed: IsAllowed | None, profile: HostProfile = HostProfile.QEMU,
                 watch: Watch = Watch()) -> SearchResult:
    """``found`` (a random phase) topped up with a witness of every reachable cell it missed:
    the cells of presets 1vm, 2vm and 2vm-reclaim (its waiting starts) and, with the
    lifecycle, of 1vm+lifecycle (3vm's and 2vm+lifecycle's take a minute to list), on hosts
    of ``profile`` with the run's guests."""
    presets = get_presets("system", min(phases.vms, 2), False, phases.linux, profile)
    if phases.lifecycle:
        presets.append(get_preset("system", 1, True, phases.linux, profile))
    folder = get_cache_dir()
    watch.say(f"dynmem oracle: top-up from the reachable cells of "
              f"{', '.join(c.name for c in presets)} (listed once per version of dynmem"
              f"{f', kept in {folder}' if folder else ''}) ...")
    reachable = [get_reachable(config) for config in presets]
    witnesses: dict[Cell, Witness] = {}
    for found_in in reachable:  # the smallest preset's witness first
        witnesses = {**found_in.witnesses, **witnesses}
    found = top_up(driver, phases.kind, phases.mode, found, witnesses, phases.top_up,
                   is_allowed, phases.shrink_replays)
    return attrs.evolve(
        found,
        reachable_cells=frozenset().union(*(r.cells for r in reachable)),
        reachable_situations=frozenset().union(*(r.situations for r in reachable)))


def run_phases(driver: Driver, phases: Phases, is_allowed: IsAllowed | None,
               profile: HostProfile = HostProfile.QEMU, watch: Watch = Watch(),
               random_phase: Callable[[], SearchResult] | None = None) -> SearchResult:
    """The exhaustive phase, the random phase and the top-up, on an IUT that said hello;
    ``random_phase`` replaces the single-seed random phase (``--seeds`` runs one per seed)."""
    first = SearchResult(0, None, 0)
    if phases.exhaustive:
        first = exhaustive_phase(driver, phases, is_allowed, profile, watch)
        if first.failure is not None or not phases.random:
            return first
    if random_phase is not None:
        found = random_phase()
    else:
        watch.say(f"dynmem oracle: random phase, {phases.examples} examples ...")
        source = get_default_source(phases.kind, phases.max_steps, phases.lifecycle,
                                    phases.linux, profile, phases.alignments,
                                    phases.hibernate)
        found = search(driver, phases.kind, phases.mode, source, phases.examples, phases.seed,
                       is_allowed, phases.shrink_replays, watch.random)
    return attrs.evolve(top_up_phase(driver, phases, found, is_allowed, profile, watch),
                        phases=first.phases)


def check_conformance(iut: Iut, phases: Phases = Phases(), *, timeout: float = 10.0,
                      watch: Watch = Watch()) -> OracleRun:
    """Run everything ``dynmem oracle`` runs on ``iut`` and return its report.

    ``iut`` is a Python object implementing ``SystemIut`` or ``PolicyIut`` or a shell
    command speaking specs/formats/oracle.md; ``phases`` says which phases and how large
    (the defaults are the command's: presets of 1 and 2 VMs and 2vm-reclaim, 100 random
    examples, the top-up). :func:`~dynmem.verification.oracle.check.check_iut` runs the
    random phase alone.

    Raises
    ------
    IutUnusable
        The IUT does not start, speaks another protocol version, lacks ``phases.kind`` or
        speaks the page-level wire (``check_page_iut``).

    Examples
    --------
    >>> from dynmem.verification.oracle import ReferenceSystem
    >>> run = check_conformance(ReferenceSystem(), Phases(vms=1, examples=5, seed=1, top_up=0))
    >>> run.ok, run.result.phases[0]["verdict"].split(" (")[0]
    (True, 'conforms on every reachable state of preset 1vm')
    """
    driver = open_driver(iut, timeout)
    try:
        try:
            hello = driver.hello(phases.kind, phases.mode)
            check_hello(hello, phases.kind)
        except IutFault as fault:
            result = hello_failure(fault)
        else:
            if hello.wire == WIRE_PAGES:
                raise IutUnusable("the IUT speaks the page-level wire (hello \"wire\": 2): "
                                  "use check_page_iut")
            if hello.hot_add_alignment:  # Rule P1c: the IUT follows its guests' alignment
                phases = attrs.evolve(phases, alignments=ORACLE_ALIGNMENTS)
            result = run_phases(driver, phases, model_is_allowed, hello.host_profile, watch)
    finally:
        driver.close()
    return OracleRun(result, phases.kind, phases.mode, describe_iut(iut), MODEL)
