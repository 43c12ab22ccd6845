#!/usr/bin/env bash
# Ansible run on the node itself, on the stabilized lab (tests/pull, not in scripts/test.sh):
# pull mode (roles/pull) on arch2 (test_pull_mode.py): a signed revision converges the node, a
# second pull changes nothing, a tampered one is refused with nothing changed, the remote down keeps
# the last good revision; the first-boot unit (roles/firstboot) on arch1 (test_first_boot.py): a
# fresh install rebooted gets its swap file and its apps tier by tier, once. Prints each test's time.
#   bench/pull.sh            (after scripts/stabilize-lab.sh)
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")/.."
exec .venv/bin/pytest -p no:cacheprovider -v --durations=0 tests/pull "$@"
