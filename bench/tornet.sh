#!/usr/bin/env bash
# Time to a usable private Tor network from `lab/lab up` (issue #7), N rounds (default 3): the
# network container is removed, then `lab/lab up` starts it and returns once a consensus lists
# all of its relays (and has restarted the nodes' Tor on it); then a fresh Tor client of that
# network (Debian's tor, as on the nodes) bootstraps to 100 %, and, where the lab's nodes run,
# each node's backend onion answers health through the other node's Tor. Prints the times and the
# total's ratio to one minute.
# Usage: bench/tornet.sh [N]     (needs the lab: lab/lab up)
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
. scripts/common.sh
n=${1:-3}
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b - a}'; }
client=archy-lab-tornet-bench
dirauths=${ARCHY_CACHE:-/var/cache/archipelago-lab}/tornet/dirauths
image=$(podman inspect --format '{{.ImageName}}' archy-lab-tornet 2>/dev/null) || die "no lab Tor network: run lab/lab up first"
trap 'podman rm -f -t 0 $client >/dev/null 2>&1 || true' EXIT
for i in $(seq 1 "$n"); do
  podman rm -f -t 0 archy-lab-tornet >/dev/null
  t0=$(now)
  lab/lab up >/dev/null
  up=$(since "$t0")
  t1=$(now)
  podman rm -f -t 0 $client >/dev/null 2>&1 || true
  podman run -d --name $client --network archy-lab --ip 10.203.0.239 -v "$dirauths:/dirauths:ro,Z" \
    --entrypoint bash "$image" -c \
    'printf "TestingTorNetwork 1\nDataDirectory /tmp/c\nSocksPort 127.0.0.1:9050\nLog notice stdout\n" >/tmp/torrc; cat /dirauths >>/tmp/torrc; exec tor -f /tmp/torrc' >/dev/null 2>&1
  wait_for 120 "the client to bootstrap" bash -c "podman logs $client 2>/dev/null | grep -q 'Bootstrapped 100%'" \
    || die "round $i: a client of the lab Tor network did not bootstrap within 120 s"
  boot=$(since "$t1")
  onions=n/a
  if [ -n "$(podman ps -q --filter name=archy-lab-arch1)" ] && [ -n "$(podman ps -q --filter name=archy-lab-arch2)" ]; then
    for pair in "arch1 arch2" "arch2 arch1"; do
      set -- $pair
      onion=$(podman exec "archy-lab-$2" cat /var/lib/tor/hidden_service_archipelago/hostname)
      wait_for 240 "$1 to reach $2's onion" podman exec "archy-lab-$1" \
        curl -sf -m 10 -o /dev/null --socks5-hostname 127.0.0.1:9050 "http://$onion/health" \
        || die "round $i: $1 did not reach $2's backend onion within 240 s"
    done
    onions=$(since "$t1")
  fi
  total=$(since "$t0")
  printf 'round %d: lab up -> consensus with every relay %5s s; then client bootstrapped 100%% %5s s, both nodes reach each other'"'"'s onion %5s s; total %5s s (ratio to 60 s: %s)\n' \
    "$i" "$up" "$boot" "$onions" "$total" "$(awk -v t="$total" 'BEGIN{printf "%.2f", t / 60}')"
done
