#!/usr/bin/env bash
# Times `lab/lab up` from three starting points and prints them with their ratios:
#   cold  nothing cached: lab images, debootstrap images and registry data removed first
#   warm  images cached, lab down (containers, network gone): rebuild nodes and seed them
#   noop  lab already up
# Usage: bench/lab_up.sh [--skip-cold]     (cold takes several minutes: two debootstraps,
#        eight image builds, the pushes and the seeding)
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
. scripts/common.sh
mkdir -p bench/results
timed() { local t0; t0=$(date +%s.%N); "$@" >>bench/results/lab_up.log 2>&1; awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a / b}'; }

scripts/setup-host.sh >/dev/null
if [ "${1:-}" != --skip-cold ]; then
  lab/lab down >/dev/null
  podman images --format '{{.Repository}}:{{.Tag}}' | grep -E '^localhost/archy-lab/' | xargs -r podman rmi -f >/dev/null 2>&1 || true
  podman rmi -f docker.io/library/debian:bookworm-slim docker.io/library/debian:bullseye-slim >/dev/null 2>&1 || true
  rm -rf "$ARCHY_CACHE/registry" "$ARCHY_CACHE/pushed"
  cold=$(timed lab/lab up)
fi
lab/lab down >/dev/null
warm=$(timed lab/lab up)
noop=$(timed lab/lab up)
if [ -n "${cold:-}" ]; then printf 'lab up  cold: %7.1f s\n' "$cold"; else echo "lab up  cold: skipped"; fi
printf 'lab up  warm: %7.1f s\n' "$warm"
printf 'lab up  noop: %7.1f s\n' "$noop"
if [ -n "${cold:-}" ]; then echo "warm/cold ratio: $(ratio "$warm" "$cold")"; fi
echo "noop/warm ratio: $(ratio "$noop" "$warm")"
