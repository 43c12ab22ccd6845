#!/usr/bin/env bash
# Reboot and SIGKILL drills on a stabilized lab node (REBOOT-01..03, 05), N rounds each:
#   reboot   `systemctl reboot` of the node -> every app unit active (active means healthy),
#            printed beside the tier critical path of that boot: the sum over the startup tiers of
#            each tier's own start-to-healthy time (first unit leaving inactive -> last unit
#            healthy), from systemd's timestamps
#   sigkill  SIGKILL of archipelago.service -> the backend's health answers ok again
# A round passes when it recovers within 90 s (reboot: 180 s for the apps).
# Usage: bench/reboot.sh [N=10] [node=arch1] [--reboot-only|--sigkill-only]
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
. scripts/common.sh
n=${1:-10}; name=${2:-arch1}; only=${3:-}
node=archy-lab-$name
nx() { podman exec "$node" "$@"; }
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b - a}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a / b}'; }
within() { awk -v t="$1" -v m="$2" 'BEGIN{exit !(t <= m)}'; }

units=$(nx bash -c "systemctl list-unit-files 'archy-app-*' --no-legend | awk '{print \$1}'")
n_units=$(echo "$units" | wc -l)
[ "$n_units" -gt 0 ] || die "$name has no app units: stabilize the lab first"
all_active() {
  local active
  active=$(podman exec "$node" bash -c "systemctl list-units 'archy-app-*' --all --plain --no-legend --state=active | wc -l" 2>/dev/null) || return 1
  [ "$active" -eq "$n_units" ]
}
healthy() {
  podman exec "$node" curl -s -m 2 -X POST -H 'Content-Type: application/json' -d '{"method":"health"}' \
    http://127.0.0.1:5678/rpc/v1 2>/dev/null | grep -q '"status": *"ok"'
}
critical_path() {  # this boot's unit timestamps (microseconds, CLOCK_MONOTONIC)
  for u in $units; do
    tier=$(nx systemctl show -p Description --value "$u" | sed -E 's/.*\((.*) tier\)$/\1/')
    echo "$tier $(nx systemctl show -p InactiveExitTimestampMonotonic --value "$u") $(nx systemctl show -p ActiveEnterTimestampMonotonic --value "$u")"
  done | awk '{ if (!($1 in s) || $2 < s[$1]) s[$1] = $2; if ($3 > e[$1]) e[$1] = $3 }
              END { for (t in s) sum += (e[t] - s[t]) / 1e6; printf "%.1f", sum }'
}

pass=0 total=0
if [ "$only" != --sigkill-only ]; then
  for i in $(seq 1 "$n"); do
    total=$((total + 1))
    pid1=$(nx cut -d' ' -f22 /proc/1/stat)   # PID 1's start time tells the boots apart (boot_id is the host's)
    t0=$(now)
    nx systemctl reboot >/dev/null 2>&1 || true
    wait_for 180 "$name to boot again" bash -c "[ \"\$(podman exec $node cut -d' ' -f22 /proc/1/stat 2>/dev/null)\" != $pid1 ]"
    wait_for 600 "every app unit on $name active after the reboot" all_active
    took=$(since "$t0")
    crit=$(critical_path)
    restarts=$(nx bash -c "systemctl show -p NRestarts --value 'archy-app-*' | awk '\$1 > 0' | wc -l")
    verdict=FAILED; within "$took" 180 && [ "$restarts" = 0 ] && healthy && { verdict=ok; pass=$((pass + 1)); }
    printf 'reboot  round %2d: %2d apps healthy after %6.1f s; tier critical path %6.1f s (ratio %s); units restarted: %s; %s\n' \
      "$i" "$n_units" "$took" "$crit" "$(ratio "$crit" "$took")" "$restarts" "$verdict"
  done
fi
if [ "$only" != --reboot-only ]; then
  for i in $(seq 1 "$n"); do
    total=$((total + 1))
    pid=$(nx systemctl show -p MainPID --value archipelago.service)
    t0=$(now)
    nx systemctl kill --signal=SIGKILL archipelago.service
    newpid() { local p; p=$(podman exec "$node" systemctl show -p MainPID --value archipelago.service); [ "$p" != 0 ] && [ "$p" != "$pid" ]; }
    wait_for 120 "a new backend process on $name" newpid
    wait_for 120 "the backend's health on $name" healthy
    took=$(since "$t0")
    verdict=FAILED; within "$took" 90 && { verdict=ok; pass=$((pass + 1)); }
    printf 'sigkill round %2d: backend healthy again after %6.1f s; %s\n' "$i" "$took" "$verdict"
  done
fi
echo "recovered within the limit: $pass/$total (ratio $(awk -v p=$pass -v t=$total 'BEGIN{printf "%.2f", p/t}'))"
[ "$pass" = "$total" ]
