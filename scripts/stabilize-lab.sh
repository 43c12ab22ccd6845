#!/usr/bin/env bash
# The README's main command: set up the controller, bring the lab up (building it when it is
# missing, in the plan's incident state on first start), then run playbooks/stabilize.yml on it.
# Extra arguments go to ansible-playbook (e.g. --check --diff, --limit arch2).
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
lab/lab up
exec .venv/bin/ansible-playbook playbooks/stabilize.yml "$@"
