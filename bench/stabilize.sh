#!/usr/bin/env bash
# Times playbooks/stabilize.yml on the lab and a node's reboot, and prints them with ratios:
#   converge    a fresh lab in the incident state (lab reset first) -> stabilized
#   idempotent  the same playbook again on the stabilized lab (0 changed)
#   reboot      `systemctl reboot` of arch1 -> every app unit active (active means healthy),
#               beside the tier critical path: the sum over the startup tiers of each tier's own
#               start-to-healthy time (first unit leaving inactive -> last unit healthy), read
#               from systemd's timestamps of that boot.
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
node=archy-lab-arch1
nx() { podman exec "$node" "$@"; }

scripts/setup-host.sh >/dev/null
lab/lab up >>"$log" 2>&1
[ "${1:-}" = --no-reset ] || lab/lab reset >>"$log" 2>&1

t0=$(now); .venv/bin/ansible-playbook playbooks/stabilize.yml >>"$log" 2>&1; converge=$(since "$t0")
t0=$(now); .venv/bin/ansible-playbook playbooks/stabilize.yml >>"$log" 2>&1; idem=$(since "$t0")
changed=$(grep -E '^arch[0-9]+ +:' "$log" | tail -2 | sed -E 's/.*changed=([0-9]+).*/\1/' | awk '{s += $1} END {print s}')

# Reboot: PID 1's start time tells the boots apart (the boot_id is the host's).
units=$(nx bash -c "systemctl list-unit-files 'archy-app-*' --no-legend | awk '{print \$1}'")
n_units=$(echo "$units" | wc -l)
pid1=$(nx cut -d' ' -f22 /proc/1/stat)
t0=$(now)
nx systemctl reboot >/dev/null 2>&1 || true
wait_for 180 "arch1 to boot again" bash -c "[ \"\$(podman exec $node cut -d' ' -f22 /proc/1/stat 2>/dev/null)\" != $pid1 ]"
all_active() {
  local active
  active=$(podman exec "$node" bash -c "systemctl list-units 'archy-app-*' --all --plain --no-legend --state=active | wc -l" 2>/dev/null) || return 1
  [ "$active" -eq "$n_units" ]
}
wait_for 600 "every app unit on arch1 active after the reboot" all_active
reboot=$(since "$t0")

# Critical path from this boot's unit timestamps (microseconds, CLOCK_MONOTONIC).
crit=$(for u in $units; do
  tier=$(nx systemctl show -p Description --value "$u" | sed -E 's/.*\((.*) tier\)$/\1/')
  echo "$tier $(nx systemctl show -p InactiveExitTimestampMonotonic --value "$u") $(nx systemctl show -p ActiveEnterTimestampMonotonic --value "$u")"
done | awk '{ if (!($1 in s) || $2 < s[$1]) s[$1] = $2; if ($3 > e[$1]) e[$1] = $3 }
            END { for (t in s) { d = (e[t] - s[t]) / 1e6; sum += d; printf "  tier %-9s %6.1f s\n", t, d > "/dev/stderr" }
                  printf "%.1f", sum }')

printf 'stabilize converge (fresh incident lab, 2 nodes): %7.1f s\n' "$converge"
printf 'stabilize idempotent re-run (changed=%s):          %7.1f s\n' "$changed" "$idem"
echo   "idempotent/converge ratio: $(ratio "$idem" "$converge")"
printf 'reboot -> all %d app units healthy (arch1):        %7.1f s\n' "$n_units" "$reboot"
printf 'tier critical path (sum of tiers start->healthy):  %7.1f s\n' "$crit"
echo   "critical-path/reboot ratio: $(ratio "$crit" "$reboot")"
