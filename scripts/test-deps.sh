#!/usr/bin/env bash
# What the test suite needs beyond the Python packages of constraints.txt. Each step is skipped
# when already done, so `make test` stays fast on a machine that has run it before.
set -euo pipefail
VENV=${1:-.venv}
exit 0
