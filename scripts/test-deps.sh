#!/usr/bin/env bash
# What the test suite needs beyond the Python packages of constraints.txt. Each step is skipped
# when already done, so `make test` stays fast on a machine that has run it before.
set -euo pipefail
VENV=${1:-.venv}
# --- OpenFisca-France oracle ---
# Its own virtual environment: openfisca-core 44 pins numpy and other versions that conflict with
# the project's. tests/oracle/test_openfisca_employer.py drives it through a JSON subprocess.
ORACLE_VENV=.venv-oracle
OPENFISCA_PINS="openfisca-france==176.1.8 openfisca-core==44.7.1"
if ! "$ORACLE_VENV/bin/python" -c 'import importlib.metadata as m, sys; sys.exit(m.version("openfisca-france") != "176.1.8")' 2>/dev/null; then
  python3 -m venv "$ORACLE_VENV"
  "$ORACLE_VENV/bin/pip" install --quiet --upgrade pip
  # shellcheck disable=SC2086
  "$ORACLE_VENV/bin/pip" install --quiet $OPENFISCA_PINS
fi
# --- end OpenFisca-France oracle ---
# --- publicodes oracle ---
# URSSAF's publicodes rules (modele-social, publicodes) for tests/oracle/test_publicodes_self_employed.py,
# pinned by tests/oracle/publicodes/package-lock.json.
if command -v npm >/dev/null && [ ! -d tests/oracle/publicodes/node_modules/modele-social ]; then
  (cd tests/oracle/publicodes && npm ci --no-audit --no-fund --loglevel=error)
fi
# --- end publicodes oracle ---
exit 0
