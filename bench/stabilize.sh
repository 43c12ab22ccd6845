#!/usr/bin/env bash
# Times playbooks/stabilize.yml on the lab and a node's reboot, and prints them with ratios:
#   converge    a fresh lab in the incident state (lab reset first) -> stabilized
#   idempotent  the same playbook again on the stabilized lab (0 changed)
#   reboot      one round of bench/reboot.sh on arch1: reboot -> every app unit healthy, beside
#               the tier critical path of that boot.
# Usage: bench/stabilize.sh [--no-reset]   (--no-reset: converge from whatever state the lab is in)
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
. scripts/common.sh
mkdir -p bench/results
log=bench/results/stabilize.log
: >"$log"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b - a}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a / b}'; }

scripts/setup-host.sh >/dev/null
lab/lab up >>"$log" 2>&1
[ "${1:-}" = --no-reset ] || lab/lab reset >>"$log" 2>&1

t0=$(now); .venv/bin/ansible-playbook playbooks/stabilize.yml >>"$log" 2>&1; converge=$(since "$t0")
t0=$(now); .venv/bin/ansible-playbook playbooks/stabilize.yml >>"$log" 2>&1; idem=$(since "$t0")
changed=$(grep -E '^arch[0-9]+ +:' "$log" | tail -2 | sed -E 's/.*changed=([0-9]+).*/\1/' | awk '{s += $1} END {print s}')

printf 'stabilize converge (fresh incident lab, 2 nodes): %7.1f s\n' "$converge"
printf 'stabilize idempotent re-run (changed=%s):          %7.1f s\n' "$changed" "$idem"
echo   "idempotent/converge ratio: $(ratio "$idem" "$converge")"
bench/reboot.sh 1 arch1 --reboot-only
