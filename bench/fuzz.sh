#!/usr/bin/env bash
# The modules' fuzz suite (the collection's tests/unit/plugins/module_utils/test_fuzz.py) with a
# long budget and fresh random examples each run: invite codes, backend replies, relay answers,
# DNS packets, relay bodies, JWKs and URLs of any shape. Prints the cases tried and the crashes
# (an exception other than the module's own error), hangs (past the 2 s deadline) and leaks (a
# secret in an error) found, and the time per case. No lab needed.
# Usage: bench/fuzz.sh [EXAMPLES_PER_PROPERTY]   (default 20000; CI runs 1000)
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
cd "$ROOT"
. scripts/common.sh
n=${1:-20000}
stats=$(mktemp)
trap 'rm -f "$stats"' EXIT
start=$(date +%s.%N)
rc=0
( cd collections/ansible_collections/archipelago/node &&
  ARCHY_FUZZ_RANDOM=1 ARCHY_FUZZ_EXAMPLES=$n ARCHY_FUZZ_STATS=$stats PYTHONPATH=$ROOT/collections \
    "$ROOT/.venv/bin/python" -m pytest -q -p no:cacheprovider tests/unit/plugins/module_utils/test_fuzz.py ) \
  >bench/results/fuzz.log 2>&1 || rc=$?
end=$(date +%s.%N)
"$ROOT/.venv/bin/python" - "$stats" "$start" "$end" "$rc" <<'PY'
import json, sys
stats = json.load(open(sys.argv[1])) if open(sys.argv[1]).read().strip() else {}
cases = stats.get("cases", 0)
secs = float(sys.argv[3]) - float(sys.argv[2])
print("fuzz: %d cases in %.0f s (%.2f ms a case); crashes %d, hangs %d, leaks %d; pytest rc=%s"
      % (cases, secs, 1000 * secs / max(cases, 1), stats.get("crashes", 0), stats.get("hangs", 0),
         stats.get("leaks", 0), sys.argv[4]))
print("details: bench/results/fuzz.log")
PY
exit "$rc"
