#!/usr/bin/env bash
# The README's main command: set up the controller, bring the lab up (building it when it is
# missing, in the plan's incident state on first start), then run playbooks/stabilize.yml on it
# over SSH as the deploy user with sudo, as on production nodes.
# Extra arguments go to ansible-playbook (e.g. --check --diff, --limit arch2).
# ARCHY_MITOGEN=1 runs it with Mitogen's strategy (opt-in; README, "Speed").
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/common.sh
. scripts/common.sh
lab/lab up
[ "${ARCHY_MITOGEN:-0}" = 1 ] && use_mitogen "$ROOT/.venv"
exec .venv/bin/ansible-playbook playbooks/stabilize.yml "$@"
