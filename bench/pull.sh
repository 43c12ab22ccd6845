#!/usr/bin/env bash
# Pull mode (roles/pull) on the stabilized lab's arch2, as tests/pull/test_pull_mode.py checks it:
# a signed revision converges the node, a second pull changes nothing, a tampered one is refused
# with nothing changed, the remote down keeps the last good revision. Prints each step's time.
#   bench/pull.sh            (after scripts/stabilize-lab.sh)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
exec .venv/bin/pytest -p no:cacheprovider -v --durations=0 tests/pull "$@"
