#!/usr/bin/env bash
# The whole test job: lint, type-check (mypy --strict, the global setting), then pytest.
# mypy reads the package through .typecheck/dynmem/* links, since the folders sit at the
# root under other names (setuptools package-dir mapping).
set -euo pipefail
cd "$(dirname "$0")/.."
# In CI only (CI=true): Debian's chromium for the HTML report's browser test (about 60 s to
# install, measured under load); elsewhere that one test skips and says why.
if [ "${CI:-}" = "true" ] && [ ! -x /usr/bin/chromium ] && command -v apt-get >/dev/null 2>&1
then
    { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q chromium; } \
        >/tmp/dynmem-ci-chromium.log 2>&1 \
        || echo "check.sh: chromium not installed (see /tmp/dynmem-ci-chromium.log)" >&2
fi
python3 -m ruff check .
(cd .typecheck && python3 -m mypy --config-file ../pyproject.toml \
    -p dynmem.model -p dynmem.reference -p dynmem.verification)
# -m "not thorough" runs every test, the slow campaigns too (a bare pytest leaves them out:
# pyproject.toml), but the thorough ones: the thorough-profile campaigns, the whole of
# `dynmem verify` and the costliest runs whose claim a cheaper CI test also shows, which
# together would take CI past its 20 minutes on 2 cores; `bash tests/check.sh --thorough`
# runs only those (README).
# -n auto: one pytest-xdist worker per core, whole files per worker (module fixtures run once).
if [ "${1:-}" = "--thorough" ]; then
    shift
    exec python3 -m pytest -m thorough -n auto "$@"
fi
python3 -m pytest -m "not thorough" -n auto --dist loadfile "$@"
