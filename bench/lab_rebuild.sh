#!/usr/bin/env bash
# The lab's slow lifecycle checks (tests/lab_rebuild, about 4 minutes; not in scripts/test.sh):
# `lab/lab down` removes only the lab and restores the host, then `lab/lab up` replaces a stale
# network and rebuilds the nodes from cached images, seeded. Leaves the lab up in the incident
# state. Prints each test's time.
#   bench/lab_rebuild.sh        (after lab/lab up; bench/lab_up.sh times up itself)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
exec .venv/bin/pytest -p no:cacheprovider -v --durations=0 tests/lab_rebuild "$@"
