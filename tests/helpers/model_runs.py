"""Seeded random reference runs for the model tests (the generator lives in the package)."""

from __future__ import annotations

from dynmem.verification.symbolic.refinement import random_settings, random_steps

__all__ = ["random_settings", "random_steps"]
