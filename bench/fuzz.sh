#!/usr/bin/env bash
# The collection's two fuzz suites with a long budget and fresh random examples each run:
# - test_fuzz.py: invite codes, backend replies, relay answers, DNS packets, relay bodies, JWKs
#   and URLs of any shape, at the parsers and clients;
# - test_fuzz_modules.py: every module run as a task with arguments drawn from its argument_spec,
#   against a hostile backend and relay on loopback, in check mode and not.
# Prints the cases and module runs tried and the crashes (an exception other than the module's
# own error), hangs (past the deadline), leaks (a secret in the output) and check-mode writes
# found, and the time per case. No lab needed.
# Usage: bench/fuzz.sh [EXAMPLES_PER_PROPERTY [RUNS_PER_MODULE]]
#   (defaults 20000 and 1000; CI runs 1000 and 60)
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
. scripts/common.sh
n=${1:-20000}
m=${2:-1000}
stats=$(mktemp)
trap 'rm -f "$stats"' EXIT
start=$(date +%s.%N)
rc=0
( cd collections/ansible_collections/archipelago/node &&
  ARCHY_FUZZ_RANDOM=1 ARCHY_FUZZ_EXAMPLES=$n ARCHY_FUZZ_MODULE_EXAMPLES=$m ARCHY_FUZZ_STATS=$stats \
    PYTHONPATH=$ROOT/collections "$ROOT/.venv/bin/python" -m pytest -q -p no:cacheprovider \
    tests/unit/plugins/module_utils/test_fuzz.py tests/unit/plugins/module_utils/test_fuzz_modules.py ) \
  >bench/results/fuzz.log 2>&1 || rc=$?
end=$(date +%s.%N)
"$ROOT/.venv/bin/python" - "$stats" "$start" "$end" "$rc" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1])) if open(sys.argv[1]).read().strip() else {}
cases = stats.get("cases", 0)
secs = float(sys.argv[3]) - float(sys.argv[2])
runs = stats.get("module_runs", 0)
ok = sum(v for k, v in stats.items() if k.endswith(" ok"))
print("fuzz: %d cases and %d module runs (%d succeeded, %d failed cleanly) in %.0f s (%.2f ms each)"
      % (cases, runs, ok, runs - ok, secs, 1000 * secs / max(cases + runs, 1)))
print("found: crashes %d, hangs %d, leaks %d, check-mode writes %d; pytest rc=%s"
      % (stats.get("crashes", 0), stats.get("hangs", 0), stats.get("leaks", 0),
         stats.get("check_mode_writes", 0), sys.argv[4]))
print("details: bench/results/fuzz.log")
PY
exit "$rc"
