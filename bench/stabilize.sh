#!/usr/bin/env bash
# Times playbooks/stabilize.yml on the lab (both nodes, reached over SSH as the deploy user with
# sudo, as production) and prints the figures with their ratios, all from one run:
#   converge     a fresh lab in the incident state (lab reset first) -> stabilized
#   no-op        the same playbook again on the stabilized lab (0 changed), plain strategy, and
#                once more with Mitogen's strategy (opt-in, README); each also without the
#                CRASH-05 stability window (node_report_window_sec), which is reported apart
#   tasks/host   task results per host of the no-op run (ok + skipped)
#   per task     the marginal cost of one task (`command: true`, 31 vs 1 tasks) on each path:
#                podman exec into the node (the lab's old back door), SSH + pipelining, SSH + Mitogen
#   reboot       one round of bench/reboot.sh on arch1 (unless --no-reboot)
# Targets (issue 14): no-op without the window under 20 s, and at most 0.1 of a converge.
# Usage: bench/stabilize.sh [--no-reset] [--no-reboot]
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
. scripts/common.sh
reset=1; reboot=1
for a in "$@"; do
  case "$a" in --no-reset) reset=0 ;; --no-reboot) reboot=0 ;; *) die "usage: bench/stabilize.sh [--no-reset] [--no-reboot]" ;; esac
done
mkdir -p bench/results
log=bench/results/stabilize.log
: >"$log"
now() { date +%s.%N; }
since() { awk -v a="$1" -v b="$(now)" 'BEGIN{printf "%.1f", b - a}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.3f", a / b}'; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN{printf "%.1f", a - b}'; }

scripts/setup-host.sh >/dev/null
lab/lab up >>"$log" 2>&1
[ "$reset" = 0 ] || lab/lab reset >>"$log" 2>&1

# One playbook run: its wall time, the stability window task's time, the changed count, the tasks
# per host. Prints "seconds window changed tasks".
run() {
  local out; out=$(mktemp)
  local t0; t0=$(now)
  "$@" >"$out" 2>&1 || { cat "$out" >>"$log"; tail -30 "$out"; die "playbook failed: $*"; }
  local wall; wall=$(since "$t0")
  cat "$out" >>"$log"
  local window changed tasks
  window=$(grep -E 'Watch for restarts during the stability window' "$out" | tail -1 | grep -oE '[0-9]+\.[0-9]+s$' | tr -d s)
  changed=$(grep -E '^arch[0-9]+ +:' "$out" | sed -E 's/.*changed=([0-9]+).*/\1/' | awk '{s += $1} END {print s + 0}')
  tasks=$(grep -E '^arch1 +:' "$out" | sed -E 's/.*ok=([0-9]+).*skipped=([0-9]+).*/\1 \2/' | awk '{print $1 + $2}')
  rm -f "$out"
  echo "$wall ${window:-0} $changed $tasks"
}


mitogen() { ( use_mitogen "$ROOT/.venv"; "$@" ); }

read -r converge c_window c_changed _ <<<"$(run .venv/bin/ansible-playbook playbooks/stabilize.yml)"
read -r noop n_window n_changed tasks <<<"$(run .venv/bin/ansible-playbook playbooks/stabilize.yml)"
read -r mnoop m_window m_changed _ <<<"$(run mitogen .venv/bin/ansible-playbook playbooks/stabilize.yml)"

# Marginal cost of one task on each connection path (31 tasks minus 1 task, over 30).
bench_dir=$(mktemp -d); trap 'rm -rf "$bench_dir"' EXIT
tasks_book() {  # N tasks of `command: true` on arch1
  { echo "- {hosts: arch1, gather_facts: false, tasks: ["
    for _ in $(seq "$1"); do echo "  {ansible.builtin.command: 'true', changed_when: false},"; done
    echo "]}"; } >"$bench_dir/t$1.yml"
}
tasks_book 1; tasks_book 31
per_task() {  # per_task CMD...: seconds per task
  local t0 one many
  t0=$(now); "$@" "$bench_dir/t1.yml" >/dev/null 2>&1 || die "1-task run failed: $*"; one=$(since "$t0")
  t0=$(now); "$@" "$bench_dir/t31.yml" >/dev/null 2>&1 || die "31-task run failed: $*"; many=$(since "$t0")
  awk -v a="$one" -v b="$many" 'BEGIN{printf "%.3f", (b - a) / 30}'
}
podman_vars='{"ansible_connection": "containers.podman.podman", "ansible_host": "archy-lab-arch1", "ansible_become": false, "ansible_podman_extra_args": "--log-level=error"}'
t_podman=$(per_task .venv/bin/ansible-playbook -e "$podman_vars")
t_ssh=$(per_task .venv/bin/ansible-playbook)
t_mitogen=$(per_task mitogen .venv/bin/ansible-playbook)

echo "bench/stabilize.sh on $(date -u +%F), $(nproc) cores, 2 lab nodes over SSH (deploy user + sudo)"
printf 'converge from the incident state (changed=%s):        %7.1f s  (stability window %s s)\n' "$c_changed" "$converge" "$c_window"
printf 'no-op re-run, plain strategy (changed=%s):             %7.1f s  (stability window %s s)\n' "$n_changed" "$noop" "$n_window"
printf 'no-op re-run, Mitogen strategy (changed=%s):           %7.1f s  (stability window %s s)\n' "$m_changed" "$mnoop" "$m_window"
p_ex=$(minus "$noop" "$n_window"); m_ex=$(minus "$mnoop" "$m_window"); c_ex=$(minus "$converge" "$c_window")
echo "no-op without the window: plain $p_ex s, Mitogen $m_ex s (target < 20 s)"
echo "no-op/converge ratio (both without the window): plain $(ratio "$p_ex" "$c_ex"), Mitogen $(ratio "$m_ex" "$c_ex") (target <= 0.1)"
echo "tasks per host in the no-op run (ok + skipped): $tasks"
echo "per task (marginal, command: true): podman exec $t_podman s, SSH $t_ssh s, SSH + Mitogen $t_mitogen s"
echo "per-task ratios to podman exec: SSH $(ratio "$t_ssh" "$t_podman"), SSH + Mitogen $(ratio "$t_mitogen" "$t_podman")"
[ "$n_changed" = 0 ] && [ "$m_changed" = 0 ] || die "a no-op re-run changed something (see $log)"
[ "$reboot" = 0 ] || bench/reboot.sh 1 arch1 --reboot-only
