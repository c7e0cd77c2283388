"""dynmem.verification: proofs, model checking, testing engines, traces and the CLI.

One package per concern (ARCHITECTURE.md): ``properties``, ``mutants``, ``traces``,
``scenarios``, ``symbolic``, ``explore``, ``stateful``, ``oracle``, ``suite``, ``cli``; the root
holds what all of them share: ``errors`` (the exception family), ``codec`` (JSON of values) and
``atomic`` (the one safe writer). Importing this package loads no engine.
"""

__version__ = "0.1.0"  # the one place; pyproject reads it (setuptools dynamic version)

__all__ = [
    "__version__",
]
