# Shared shell helpers for scripts/ and lab/. Source it; it defines no side effects.
ARCHY_CACHE=${ARCHY_CACHE:-/var/cache/archipelago-lab}

die() { echo "ERROR: $*" >&2; exit 1; }

# The virtualenv lives in the cache, keyed by requirements.txt and the Python version,
# so a fresh clone (as in CI) reuses it and a change of pins builds a new one.
venv_path() {
  local root; root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  local key; key=$( { cat "$root/requirements.txt"; python3 -V; } | sha256sum | cut -c1-12)
  echo "$ARCHY_CACHE/venv-$key"
}

# Podman on this controller prints a harmless net_cls warning on every call; drop it.
quiet_podman() { grep -v -E 'net_cls|failed to connect to syslog' || true; }

# Wait until a command succeeds, polling every second, up to a timeout (seconds).
wait_for() {
  local timeout=$1 what=$2; shift 2
  local end=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    [ $SECONDS -ge $end ] && { echo "timed out after ${timeout}s waiting for $what" >&2; return 1; }
    sleep 1
  done
}

# Opt-in: Mitogen's strategy for ansible-playbook (README, "Speed"). `use_mitogen VENV` exports
# what Ansible needs to find and use it; the plain strategy stays the default.
use_mitogen() {
  local dir; dir=$("$1/bin/python" -c 'import ansible_mitogen, os; print(os.path.dirname(ansible_mitogen.__file__))') \
    || die "mitogen is not installed in $1 (requirements.txt pins it; run scripts/setup-host.sh)"
  export ANSIBLE_STRATEGY_PLUGINS="$dir/plugins/strategy" ANSIBLE_STRATEGY=mitogen_linear
}
