#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine (root): sets up the controller, brings
# the lab up in the incident state, then runs every test in one pytest session:
#   tests/unit       pure logic and project rules (no lab)
#   tests/api        the lab node API over HTTP on loopback (no lab)
#   tests/modules    the collection's modules via ansible-playbook against lab API instances, and
#                    did_dht against npm pkarr + bittorrent-dht on loopback
#   tests/incident   the plan's incident symptoms on the freshly seeded lab (testinfra)
#   tests/playbooks  playbooks against the lab (federate.yml, stabilize.yml: bad input, --check,
#                    a run, idempotence, the incident suite failing afterwards), ansible-lint
#   tests/healthy    the stabilized lab as an operator checks it (testinfra)
#   tests/monitoring playbooks/monitoring.yml: node exporters on the stabilized nodes, Prometheus and
#                    Alertmanager on archmon; promtool rule tests; each alert fired by a real fault
#                    on a node and resolved, as the lab receiver got them
#   tests/fleet      fleet operations on the stabilized lab: canary.yml with a good release and
#                    each broken one (lab/release/build.py), reboot and SIGKILL drills
#   tests/acceptance the cross-node acceptance suite (TEST-02..12) on the stabilized, federated
#                    lab, here 2 rounds with 1 reboot per node (scripts/acceptance.sh runs it
#                    alone, 10 rounds and 3 reboots by default, with TAP)
#   tests/molecule   every Molecule scenario under molecule/ (its own lab node)
#   tests/lab        the lab's own lifecycle (up no-op, node restart, recovery of a killed node)
# Not here (long runs, in bench/): tests/pull (pull mode on arch2 and the first-boot unit on arch1,
# about 12 min; bench/pull.sh on the stabilized lab), tests/lab_rebuild (lab down, then a rebuild on a stale network, about 4 min;
# bench/lab_rebuild.sh).
# Extra arguments go to pytest (e.g. -k incident, --tap-stream).
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
# shellcheck source=scripts/common.sh
. scripts/common.sh

t_start=$SECONDS
scripts/setup-host.sh
uplog=$(mktemp); trap 'rm -f "$uplog"' EXIT
lab/lab up >"$uplog"; cat "$uplog"; up=$(cat "$uplog")
# The incident suite needs the state a fresh seed leaves: reset unless up just seeded both nodes.
case "$up" in
  *"seeded: arch1 arch2"*) ;;
  *) lab/lab reset ;;
esac
t_lab=$((SECONDS - t_start))

# The Molecule scenarios run on their own lab node, beside the suites below (they take a while);
# tests/molecule waits for their results.
ARCHY_MOLECULE_RESULTS=$(mktemp -d)
export ARCHY_MOLECULE_RESULTS
(
  for f in molecule/*/molecule.yml; do
    s=$(basename "$(dirname "$f")")
    rc=0; t0=$SECONDS
    PATH="$ROOT/.venv/bin:$PATH" timeout 3000 .venv/bin/molecule test -s "$s" \
      >"$ARCHY_MOLECULE_RESULTS/$s.log" 2>&1 </dev/null || rc=$?
    echo "$((SECONDS - t0))" >"$ARCHY_MOLECULE_RESULTS/$s.seconds"
    echo "$rc" >"$ARCHY_MOLECULE_RESULTS/$s.rc"
  done
) &
molecule_pid=$!

rc=0
.venv/bin/pytest -p no:cacheprovider -o console_output_style=classic -v --durations=25 \
  tests/unit tests/api tests/modules tests/incident tests/playbooks tests/healthy tests/monitoring tests/fleet tests/acceptance --iterations 2 --reboots 1 tests/molecule tests/lab "$@" || rc=$?
# Leave no Molecule node behind (pytest -k may have skipped the test that waits for them).
wait "$molecule_pid" || true
echo "durations: set-up and lab ${t_lab} s; Molecule scenarios (beside the suites):" \
  "$(for f in "$ARCHY_MOLECULE_RESULTS"/*.seconds; do [ -f "$f" ] && printf '%s %s s; ' "$(basename "$f" .seconds)" "$(cat "$f")"; done)" \
  "whole run $((SECONDS - t_start)) s"
exit $rc
