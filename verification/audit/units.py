"""Exact unit conversion and locale-independent number parsing for host evidence.

Every model-facing amount is an integer MiB. A byte count converts only when it is a whole
MiB (Hyper-V's documented unit is the MB, ``AllocationUnits = "byte * 2^20"``); anything else
is bad input, named with its file, field and value. The one exception is a guest-reported page
count (QEMU's ``committed``/``available``/``actual``), which :func:`compute_mib_rounded` rounds
in a documented direction while the exact byte count stays in the record.
Decimal strings (PDH counter values, pressure percentages) parse to ``int`` or
``fractions.Fraction``: never ``float``.
"""

from __future__ import annotations

from fractions import Fraction
from typing import NoReturn

from dynmem.verification.errors import InputError

MIB_BYTES = 1024 * 1024
VALUE_CUT_CHARS = 80


class _Cut(str):
    """A value's ``repr`` already cut: shown as is (no second pair of quotes)."""

    def __repr__(self) -> str:
        return str(self)


def compute_cut(value: object) -> object:
    """``value`` itself, or its ``repr`` cut to 80 characters with ``…`` when longer.

    Examples
    --------
    >>> compute_cut("x" * 100)
    'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx…
    >>> compute_cut(12)
    12
    """
    text = repr(value)
    if len(text) <= VALUE_CUT_CHARS:
        return value
    return _Cut(text[: VALUE_CUT_CHARS - 1] + "…")


def raise_bad(source: str, where: str, value: object, rule: str) -> NoReturn:
    """Raise the one-line :class:`InputError` (``file: where = value: rule``), value cut."""
    raise InputError(source, where, compute_cut(value), rule)


def compute_mib_exact(nbytes: int, source: str, where: str) -> int:
    """``nbytes`` as whole MiB, or bad input when it is negative or not a whole MiB.

    Examples
    --------
    >>> compute_mib_exact(2147483648, "vm.json", "[0].MemoryStartup")
    2048
    >>> compute_mib_exact(1000, "vm.json", "[0].MemoryStartup")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    dynmem.verification.errors.InputError: vm.json: [0].MemoryStartup = 1000: is not a whole...
    """
    if nbytes < 0:
        raise_bad(source, where, nbytes, "must be >= 0 (bytes)")
    mib, rest = divmod(nbytes, MIB_BYTES)
    if rest:
        raise_bad(source, where, nbytes,
                  f"is not a whole MiB ({mib} MiB + {rest} bytes); byte amounts must be "
                  f"multiples of {MIB_BYTES}")
    return mib


def compute_mib_rounded(nbytes: int, *, up: bool) -> int:
    """``nbytes`` in MiB rounded up (``up``) or down: for guest page counts only.

    Examples
    --------
    >>> compute_mib_rounded(816640000, up=True), compute_mib_rounded(816640000, up=False)
    (779, 778)
    """
    return -(-nbytes // MIB_BYTES) if up else nbytes // MIB_BYTES


def parse_decimal(text: str) -> Fraction | None:
    """A decimal number written with ``.`` or ``,`` as the only separator, exactly.

    PDH writes numbers without thousands grouping; a comma is taken as a decimal comma (some
    locales write one). Returns ``None`` when ``text`` is not such a number. No float is
    ever made, so ``0.1`` is exactly one tenth.

    Examples
    --------
    >>> parse_decimal("2048.000000"), parse_decimal("52,5"), parse_decimal("1e3")
    (Fraction(2048, 1), Fraction(105, 2), None)
    """
    body = text.strip()
    sign = 1
    if body[:1] in "+-" and body:
        sign = -1 if body[0] == "-" else 1
        body = body[1:]
    whole, sep, frac = body.replace(",", ".", 1).partition(".")
    if not whole.isdigit() and not (sep and whole == "" and frac.isdigit()):
        return None
    if sep and not frac.isdigit():
        return None
    if not (whole.isascii() and frac.isascii()):
        return None
    value = Fraction(int(whole or "0"))
    if frac:
        value += Fraction(int(frac), 10 ** len(frac))
    return sign * value


def parse_whole(text: str) -> int | None:
    """``text`` as an integer when it is a whole number (``"2048"``, ``"2048.000000"``).

    The fast path of the counter reader: no ``Fraction`` is made for the common case.
    Returns ``None`` for anything else (a fraction, a non-number).

    Examples
    --------
    >>> parse_whole("2048.000000"), parse_whole("2048"), parse_whole("2048.5")
    (2048, 2048, None)
    """
    if text.isdigit() and text.isascii():
        return int(text)
    whole, sep, frac = text.replace(",", ".", 1).partition(".")
    if sep and whole.isdigit() and whole.isascii() and frac.strip("0") == "" and frac:
        return int(whole)
    return None
