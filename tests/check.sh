#!/usr/bin/env bash
# The whole test job: lint, type-check (strict for model/ and reference/), then pytest.
# mypy reads the package through .typecheck/dynmem/* links, since the folders sit at the
# root under other names (setuptools package-dir mapping).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m ruff check .
(cd .typecheck && python3 -m mypy --config-file ../pyproject.toml \
    -p dynmem.model -p dynmem.reference -p dynmem.verification)
python3 -m pytest "$@"
