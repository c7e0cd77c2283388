"""``python -m dynmem.verification.cli``: the ``dynmem`` command without its console script."""

import sys

from dynmem.verification.cli.main import main

sys.exit(main())
