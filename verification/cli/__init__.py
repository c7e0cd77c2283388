"""The ``dynmem`` command line: ``main`` and one module per command in ``commands/``.

A command module is imported only when that command runs, so ``dynmem --help`` loads no
engine; flags every command shares are defined once in ``options.py``.
"""

from dynmem.verification.cli.main import main

__all__ = [
    "main",
]
