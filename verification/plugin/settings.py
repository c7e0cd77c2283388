"""How the plugin runs the oracle: defaults, then options, then the marker, then the call."""

from __future__ import annotations

from typing import Any, get_args

import attrs

from dynmem.verification.errors import DynmemError
from dynmem.verification.oracle.iut import Kind, Mode
from dynmem.verification.oracle.search import SHRINK_REPLAYS
from dynmem.verification.oracle.topup import TOP_UP

KINDS: tuple[str, ...] = get_args(Kind)
MODES: tuple[str, ...] = get_args(Mode)


class SettingsError(DynmemError):
    """A marker, option or call names an unknown setting or a bad value."""


def _positive(name: str) -> Any:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise SettingsError(f"dynmem setting {name}={value!r}: must be an integer >= 1")
    return check


def _one_of(name: str, choices: tuple[str, ...]) -> Any:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if value not in choices:
            raise SettingsError(f"dynmem setting {name}={value!r}: must be one of "
                                f"{', '.join(choices)}")
    return check


def _natural(name: str) -> Any:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if not isinstance(value, int) or isinstance(value, bool) or value < 0:
            raise SettingsError(f"dynmem setting {name}={value!r}: must be an integer >= 0")
    return check


def _flag(name: str) -> Any:
    def check(_instance: Any, _attribute: Any, value: Any) -> None:
        if not isinstance(value, bool):
            raise SettingsError(f"dynmem setting {name}={value!r}: must be True or False")
    return check


def _seed(_instance: Any, _attribute: Any, value: Any) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
        raise SettingsError(f"dynmem setting seed={value!r}: must be an integer or None")


@attrs.frozen
class OracleSettings:
    """How one test runs the oracle (``conformance.check_conformance``): ``vms`` is the
    largest preset of the exhaustive phase (0: none, the random phase only), ``lifecycle``
    adds specs/lifecycle.md's events, ``top_up`` bounds the examples that hit the cells the
    random phase missed; the rest as ``dynmem oracle``'s flags.

    Examples
    --------
    >>> OracleSettings().merged({"kind": "policy", "examples": 20}).kind
    'policy'
    >>> OracleSettings().merged({"examples": 0})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dynmem...SettingsError: dynmem setting examples=0: must be an integer >= 1
    """

    kind: Kind = attrs.field(default="system", validator=_one_of("kind", KINDS))
    mode: Mode = attrs.field(default="refinement", validator=_one_of("mode", MODES))
    examples: int = attrs.field(default=100, validator=_positive("examples"))
    seed: int | None = attrs.field(default=None, validator=_seed)
    max_steps: int = attrs.field(default=60, validator=_positive("max_steps"))
    vms: int = attrs.field(default=2, validator=_natural("vms"))
    lifecycle: bool = attrs.field(default=False, validator=_flag("lifecycle"))
    top_up: int = attrs.field(default=TOP_UP, validator=_natural("top_up"))
    timeout: float = 10.0
    shrink_replays: int = attrs.field(default=SHRINK_REPLAYS,
                                      validator=_natural("shrink_replays"))

    def merged(self, changes: dict[str, Any]) -> OracleSettings:
        """These settings with ``changes`` (None values ignored); unknown names raise."""
        known = {a.name for a in attrs.fields(OracleSettings)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise SettingsError(f"unknown dynmem setting {unknown[0]!r}; known: "
                                f"{', '.join(sorted(known))}")
        return attrs.evolve(self, **{k: v for k, v in changes.items() if v is not None})


def get_settings(options: dict[str, Any], marker: dict[str, Any] | None = None,
                 call: dict[str, Any] | None = None) -> OracleSettings:
    """Defaults, overridden by command-line ``options``, the test's ``marker``, the ``call``.

    Examples
    --------
    >>> s = get_settings({"seed": 7}, {"examples": 30}, {"mode": "lockstep"})
    >>> s.kind, s.mode, s.examples, s.seed
    ('system', 'lockstep', 30, 7)
    """
    settings = OracleSettings()
    for changes in (options, marker or {}, call or {}):
        settings = settings.merged(changes)
    return settings
