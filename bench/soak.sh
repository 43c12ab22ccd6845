#!/usr/bin/env bash
# A longer soak of the stabilized lab through its monitoring (MEM-05, SOAK-01..04): converge
# playbooks/monitoring.yml, let the nodes run for M minutes with one reboot of arch2 halfway
# (lab plumbing: systemctl reboot inside the node), then the soak report of the window. Prints
# per node the uptime, reboot recovery, the largest container memory ratio (last/first) and
# growth per hour, the alerts that fired, and the report's own cost (seconds per 1000 samples).
# Usage: bench/soak.sh [minutes=30] [--no-reboot]
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
. scripts/common.sh
minutes=${1:-30}; reboot=yes; [ "${2:-}" = --no-reboot ] && reboot=no
out=${SOAK_DIR:-$ARCHY_CACHE/bench-soak}
rm -rf "$out"; mkdir -p "$out"
now() { date +%s; }
healthy() {
  podman exec archy-lab-arch2 curl -s -m 2 -X POST -H 'Content-Type: application/json' -d '{"method":"health"}' \
    http://127.0.0.1:5678/rpc/v1 2>/dev/null | grep -q '"status": *"ok"'
}

.venv/bin/ansible-playbook playbooks/monitoring.yml >"$out/converge.log" 2>&1 || { tail -30 "$out/converge.log"; die "monitoring.yml failed"; }
t0=$(now); half=$((t0 + minutes * 30)); end=$((t0 + minutes * 60))
echo "soak: $minutes min from $(date -u -d "@$t0" +%FT%TZ), reboot of arch2 halfway: $reboot"
if [ "$reboot" = yes ]; then
  sleep $((half - $(now)))
  rb=$(now); podman exec archy-lab-arch2 systemctl reboot || true
  wait_for 300 "arch2's backend after its reboot" healthy || die "arch2 did not come back within 300 s"
  echo "soak: arch2 rebooted at +$((rb - t0)) s, backend healthy $(( $(now) - rb )) s later (seen from outside)"
fi
left=$((end - $(now))); [ "$left" -gt 0 ] && sleep "$left"
r0=$(date +%s.%N)
.venv/bin/ansible-playbook playbooks/soak_report.yml -e "soak_window=${minutes}m" -e "soak_dir=$out" >"$out/report.log" 2>&1 \
  || { tail -30 "$out/report.log"; die "soak_report.yml failed"; }
secs=$(awk -v a="$r0" -v b="$(date +%s.%N)" 'BEGIN{printf "%.1f", b - a}')
cat "$out/report.txt"
python3 - "$out/report.json" "$secs" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); secs = float(sys.argv[2])
w = r["window"]; samples = 0
for node, n in sorted(r["nodes"].items()):
    mem = [(t["ratio"] or 0, name, t["per_hour"]) for name, t in n["memory"].items() if t]
    samples += sum(t["samples"] for t in n["memory"].values() if t)
    top = max(mem) if mem else (0, "-", 0)
    print("soak: %s up %.2f %%, reboots %s, recovery %s s, largest memory ratio %.3f (%s, %+.1f MiB/h)"
          % (node, n["uptime_percent"], len(n["reboot_recovery_seconds"]), n["reboot_recovery_seconds"],
             top[0], top[1], top[2] / 1048576))
print("soak: report of %d s at %d s steps, %d memory samples in %.1f s: %.3f s per 1000 samples"
      % (w["end"] - w["start"], w["step"], samples, secs, 1000 * secs / max(samples, 1)))
PY
lab/lab ssh archmon curl -s http://127.0.0.1:9099/ >"$out/received.jsonl" || true
python3 - "$out/received.jsonl" "$t0" <<'PY'
import collections, datetime, json, sys
t0, seen = float(sys.argv[2]), collections.Counter()
for line in open(sys.argv[1]):
    for a in json.loads(line)["body"].get("alerts", []):
        start = datetime.datetime.fromisoformat(a["startsAt"][:19] + "+00:00").timestamp()
        if a["status"] == "firing" and start >= t0:
            seen[(a["labels"]["alertname"], a["labels"].get("instance", ""))] = 1
print("soak: alerts that started during the soak: %s" % (", ".join("%s@%s" % k for k in sorted(seen)) or "none"))
PY
echo "soak: files in $out"
