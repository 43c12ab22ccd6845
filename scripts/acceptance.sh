#!/usr/bin/env bash
# The cross-node acceptance suite (TEST-01..12) with TAP on stdout: every check from each node
# toward each other node, --iterations rounds (default 10). Exit 0 only if every check passed
# in every round. Defaults to the lab inventory.
# Usage: scripts/acceptance.sh [--iterations N] [--inventory PATH] [--group NAME] [pytest args]
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
scripts/setup-host.sh >&2
exec .venv/bin/pytest -p no:cacheprovider -q --tap-stream tests/acceptance "$@"
