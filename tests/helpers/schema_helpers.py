"""Validate a value against one of specs/formats/schemas/ (with their shared definitions)."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import jsonschema
import referencing
from oracle_helpers import ROOT

SCHEMAS = ROOT / "specs" / "formats" / "schemas"


@cache
def get_registry() -> Any:
    """Every schema by its ``$id``, so that ``$ref`` between them resolve."""
    resources = []
    for path in SCHEMAS.glob("*.json"):
        data = json.loads(path.read_text())
        resources.append((data["$id"], referencing.Resource.from_contents(data)))
    return referencing.Registry().with_resources(resources)


def validate(schema: str, value: Any) -> None:
    """Raise ``jsonschema.ValidationError`` unless ``value`` matches ``schema`` (a file name)."""
    data = json.loads((SCHEMAS / schema).read_text())
    jsonschema.Draft202012Validator(data, registry=get_registry()).validate(value)
