"""ITF values (Apalache ADR-015) both trace mappings share: the amount level's
(``itf.py``) and the page level's (``oracle/pageitf.py``), specs/formats/itf.md.

Every integer is ``{"#bigint": "..."}``, an optional value is a Quint ``Option`` record, and
a document is written with one state per line. Reading is strict: a bare JSON number or a
malformed ``#bigint`` raises :class:`InputError` naming the file, the JSON path and the value.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

from dynmem.verification.codec import MAX_INT_DIGITS, expect_object
from dynmem.verification.errors import InputError

__all__ = [
    "NONE", "bigint", "dump_itf", "from_itf", "itf_array", "itf_error", "option", "option_from",
    "some", "to_itf",
]

_BIGINT = re.compile(r"-?[0-9]+")
NONE: dict[str, Any] = {"tag": "None", "value": {"#tup": []}}  # Quint's Option None (unit)


def bigint(value: int) -> dict[str, str]:
    return {"#bigint": str(value)}


def to_itf(value: Any) -> Any:
    """Plain JSON (as the codecs write it) with every integer as ``#bigint``."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int):
        return bigint(value)
    if isinstance(value, Mapping):
        return {k: to_itf(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [to_itf(v) for v in value]
    raise TypeError(f"cannot encode {value!r} as ITF")


def some(value: Any) -> dict[str, Any]:
    return {"tag": "Some", "value": value}


def option(value: Any) -> dict[str, Any]:
    return NONE if value is None else some(to_itf(value))


def dump_itf(data: dict[str, Any]) -> str:
    """Compact JSON with one state per line: small, and diffs show the step that changed."""
    def one(value: Any) -> str:
        return json.dumps(value, ensure_ascii=False, allow_nan=False)

    states = ",\n".join(one(s) for s in data["states"])
    return (f'{{"#meta": {one(data["#meta"])},\n"vars": {one(data["vars"])},\n'
            f'"states": [\n{states}\n]}}\n')


# --- decoding ---------------------------------------------------------------------------------


class _Short:
    """A value shown abbreviated in an error message (a whole state is too long to print)."""

    def __init__(self, value: Any) -> None:
        self.text = repr(value)  # as the codec shows values, so all messages look alike

    def __repr__(self) -> str:
        return self.text if len(self.text) <= 80 else self.text[:77] + "..."


def itf_error(source: str, path: str, value: Any, rule: str) -> InputError:
    return InputError(source, path, _Short(value), rule)


def from_itf(value: Any, source: str, path: str, floats: bool = False) -> Any:
    """ITF to plain JSON: ``#bigint`` to int; a bare JSON number is an error (ADR-015)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float):
        if floats and isinstance(value, float):
            return value
        raise itf_error(source, path, value,
                        'integers are written {"#bigint": "<digits>"} in ITF, not as JSON '
                        'numbers')
    if isinstance(value, list):
        return [from_itf(v, source, f"{path}[{i}]", floats) for i, v in enumerate(value)]
    if "#bigint" in value:
        text = value["#bigint"]
        if len(value) != 1 or not isinstance(text, str) or not _BIGINT.fullmatch(text):
            raise itf_error(source, path, value, 'must be {"#bigint": "<optional minus><digits>"}')
        if len(text.lstrip("-")) > MAX_INT_DIGITS:
            raise itf_error(source, f"{path}.#bigint", text,
                            f"an integer of {len(text.lstrip('-'))} digits; at most "
                            f"{MAX_INT_DIGITS} are read")
        return int(text)
    return {k: from_itf(v, source, f"{path}.{k}", floats) for k, v in value.items()}


def itf_array(data: Any, source: str, path: str) -> list[Any]:
    if not isinstance(data, list):
        raise itf_error(source, path, data, "must be a JSON array")
    return data


def option_from(data: Any, source: str, path: str) -> tuple[bool, Any]:
    """``(is_some, value)`` of a Quint Option ``{"tag": "Some"|"None", "value": ...}``."""
    obj = expect_object(data, source, path)
    tag = obj.get("tag")
    if tag not in ("Some", "None") or set(obj) != {"tag", "value"}:
        raise itf_error(source, path, data,
                        'must be {"tag": "Some", "value": ...} or {"tag": "None", "value": ...}')
    return tag == "Some", obj["value"]
