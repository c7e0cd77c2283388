"""Conformance vectors as tests: run one case against an IUT and describe a failure."""

from __future__ import annotations

import attrs

from dynmem.model.concrete_steps import is_allowed
from dynmem.model.vocabulary import HOST_PROFILE_WORDS, HostProfile
from dynmem.verification.oracle.check import Iut, open_driver
from dynmem.verification.oracle.iut import IutUnusable, Mode, check_hello
from dynmem.verification.oracle.judge import CaseResult, run_case
from dynmem.verification.oracle.vectors import VectorCase, needs_alignment
from dynmem.verification.plugin.settings import OracleSettings
from dynmem.verification.traces import render_text


@attrs.frozen
class VectorCheck:
    """One conformance case, run against a system IUT with the test's settings.

    In refinement mode (an IUT with its own policy) every case is judged by the model; in
    lockstep mode ``exact`` and ``reject`` cases must match the reference exactly.

    Examples
    --------
    >>> from dynmem.verification.oracle import ReferenceSystem
    >>> from dynmem.verification.oracle.vectors import collect_cases
    >>> case = collect_cases()[0]
    >>> VectorCheck(case, OracleSettings(mode="lockstep")).run(ReferenceSystem()).divergence
    """

    case: VectorCase
    settings: OracleSettings = OracleSettings()

    @property
    def mode(self) -> Mode:
        """How the case is judged (see the class)."""
        exact = self.settings.mode == "lockstep" and self.case.kind != "refinement"
        return "lockstep" if exact else "refinement"

    def run(self, iut: Iut) -> CaseResult:
        """Reset ``iut`` to the case's pre state, feed its events, judge every answer.

        Raises ``IutUnusable`` when the IUT is not a system IUT (vectors drive systems), and
        ``IutFault`` when it fails at hello.
        """
        driver = open_driver(iut, self.settings.timeout)
        try:
            hello = driver.hello("system", self.mode)
            check_hello(hello, "system")
            if hello.host_profile != HostProfile.QEMU:
                raise IutUnusable(
                    f"the IUT is a {HOST_PROFILE_WORDS[hello.host_profile]} host (its hello's "
                    f"host_profile); the conformance vectors are written for the qemu host, "
                    f"which accepts every protocol version: check it with dynmem oracle")
            if needs_alignment(self.case) and not hello.hot_add_alignment:
                raise IutUnusable(
                    "this case's guest advertises a hot-add alignment, sent only to an IUT "
                    "whose hello says hot_add_alignment (Rule P1c)")
            return run_case(driver, "system", self.mode, self.case.pre, self.case.events,
                            is_allowed)
        finally:
            driver.close()


def vector_report(check: VectorCheck, result: CaseResult) -> str:
    """The failure of ``check`` for people: case, first divergence, the readable trace."""
    d = result.divergence
    assert d is not None
    lines = [f"conformance vector {check.case.name} ({check.case.kind}, judged in {check.mode} "
             f"mode): {check.case.description}",
             f"first divergence: {d.headline()}"]
    lines += [f"IUT stderr: {line}" for line in d.stderr_tail.strip().splitlines()[-10:]]
    return "\n".join([*lines, "", render_text(result.trace).rstrip("\n")]) + "\n"
