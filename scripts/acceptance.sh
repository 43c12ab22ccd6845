#!/usr/bin/env bash
# The cross-node acceptance suite (TEST-01..12) with TAP on stdout: every check from each node
# toward each other node, --iterations rounds (default 10); the first --reboots rounds (default 3)
# also reboot each node (TEST-12). Exit 0 only if every check passed in every round: a skipped
# check fails the run, with its reason, unless its TEST item is named with --allow-skip (it is
# then listed as a skip in the TAP output). Defaults to the lab inventory.
# Usage: scripts/acceptance.sh [--iterations N] [--reboots N] [--allow-skip TEST-NN]... [--inventory PATH]
#                              [--group NAME] [pytest args]
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
scripts/setup-host.sh >&2
exec .venv/bin/pytest -p no:cacheprovider -q --tap-stream tests/acceptance "$@"
