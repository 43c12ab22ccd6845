#!/usr/bin/env bash
# Rolls each broken lab release onto the stabilized lab N times (default 10) with
# playbooks/canary.yml and prints, per run, the time from the switch to the broken release on
# the canary (arch2) until it answers health again on the previous release (as the release role
# reports it), the whole playbook's time, and whether arch1's binary stayed the same. A good
# release is rolled out first, so "previous" is known.
# Usage: bench/canary.sh [N]     (needs a stabilized lab: WatchdogSec=60 from the backend role)
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
. scripts/common.sh
n=${1:-10}
out=$ROOT/bench/results/canary; mkdir -p "$out"
log=bench/results/canary.log; : >"$log"
good=1.9.1-lab
build() { .venv/bin/python lab/release/build.py "$out" "$@"; }
play() {  # artifact checksum version; this run's output in $log.run, all runs in $log
  local rc=0
  .venv/bin/ansible-playbook playbooks/canary.yml -e release_artifact="$1" -e release_checksum="$2" \
    -e release_version="$3" >"$log.run" 2>&1 || rc=$?
  cat "$log.run" >>"$log"
  return $rc
}
health_version() {
  podman exec "$1" curl -s -m 2 -X POST -H 'Content-Type: application/json' -d '{"method":"health"}' \
    http://127.0.0.1:5678/rpc/v1 | .venv/bin/python -c 'import json,sys; r=json.load(sys.stdin)["result"]; print(r["status"], r["version"])' 2>/dev/null || true
}
sum1() { podman exec archy-lab-arch1 sha256sum /usr/local/bin/archipelago | cut -d' ' -f1; }

read -r art sum < <(build "$good")
play "$art" "$sum" "$good" || die "the good release did not roll out (see $log)"
[ "$(health_version archy-lab-arch2)" = "ok $good" ] || die "arch2 is not on $good"
arch1=$(sum1)

pass=0 total=0 back="" run=""
for fault in crash hang unhealthy; do
  read -r art sum < <(build "1.9.2-$fault" --fault "$fault")
  for i in $(seq 1 "$n"); do
    total=$((total + 1))
    t0=$(date +%s.%N)
    if play "$art" "$sum" "1.9.2-$fault"; then verdict="NOT ROLLED BACK (the playbook passed)"
    else
      run=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}')
      back=$(tr -s ' \n' ' ' <"$log.run" | grep -o 'healthy again [0-9.]* s after the switch' | tail -1 | awk '{print $3}')
      now=$(health_version archy-lab-arch2)
      if [ "$now" = "ok $good" ] && [ "$(sum1)" = "$arch1" ] && awk -v t="$back" 'BEGIN{exit !(t <= 90)}'; then
        verdict="ok"; pass=$((pass + 1))
      else verdict="FAILED (arch2: $now; arch1 unchanged: $([ "$(sum1)" = "$arch1" ] && echo yes || echo no))"; fi
    fi
    printf '%-9s run %2d: canary healthy on %s again %6s s after the switch (playbook %s s); %s\n' \
      "$fault" "$i" "$good" "${back:-?}" "${run:-?}" "$verdict"
  done
done
echo "rolled back healthy within 90 s with arch1 untouched: $pass/$total (ratio $(awk -v p=$pass -v t=$total 'BEGIN{printf "%.2f", p/t}'))"
