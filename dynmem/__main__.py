"""``python -m dynmem``: the ``dynmem`` command without its console script.

``dynmem`` is a namespace package (the folders model/, reference/ and verification/ are
mapped into it by pyproject's package-dir); this folder adds only this module to it.
"""

import sys

from dynmem.verification.cli.main import main

sys.exit(main())
