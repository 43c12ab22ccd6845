#!/usr/bin/env bash
# Idempotent set-up of the controller (this machine, Debian 12, root) for the lab and the tests.
# Changes only what is missing and prints each change:
#   - Debian packages: podman, runc, netavark, aardvark-dns, iptables, debootstrap, curl, jq, python3-venv, openssh-client,
#     and nodejs + npm when no node is on PATH (the did:dht interop peers)
#   - /etc/containers/containers.conf: runtime runc and default ulimits within root's hard limits
#   - a Python virtualenv with requirements.txt (cached per requirements hash)
# Usage: scripts/setup-host.sh      (env: ARCHY_CACHE, default /var/cache/archipelago-lab)
set -euo pipefail
ROOT=$(cd "$(dirname "$(readlink -f "$0")")/.." && pwd)
# shellcheck source=scripts/common.sh
. "$ROOT/scripts/common.sh"

[ "$(id -u)" = 0 ] || die "run as root: rootful Podman and apt need it"

changed=0
note() { echo "setup: $*"; changed=$((changed + 1)); }

# 1) Debian packages
pkgs=(podman runc netavark aardvark-dns iptables uidmap slirp4netns fuse-overlayfs debootstrap curl jq python3-venv git openssh-client)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null && command -v npm >/dev/null || missing+=(nodejs npm)
if [ ${#missing[@]} -gt 0 ]; then
  note "installing Debian packages: ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# 2) Podman engine settings. Root here may not raise its hard limits, so Podman's default
#    RLIMIT_NOFILE (1048576) must be capped; crun cannot create cgroups on a v1 hybrid host.
nofile=$(ulimit -Hn); nproc=$(ulimit -Hu)
[ "$nofile" = unlimited ] && nofile=1048576
[ "$nproc" = unlimited ] && nproc=4096
[ "$nofile" -gt 1048576 ] && nofile=1048576
[ "$nproc" -gt 4096 ] && nproc=4096
conf=/etc/containers/containers.conf
want=$(cat <<EOF
# Managed by archipelago.node scripts/setup-host.sh (lab controller settings).
# runc: crun cannot create cgroups on a cgroup v1 hybrid host.
# default_ulimits: kept within root's hard limits (nofile $nofile, nproc $nproc).
# Do not set cgroupns = "private" here: lab nodes get it per container.
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
EOF
)
if [ ! -f "$conf" ]; then
  mkdir -p /etc/containers; printf '%s\n' "$want" > "$conf"; note "wrote $conf (runc, ulimits nofile=$nofile nproc=$nproc)"
elif grep -q '^# Managed by archipelago.node' "$conf"; then
  if [ "$(cat "$conf")" != "$want" ]; then printf '%s\n' "$want" > "$conf"; note "updated $conf"; fi
elif ! { grep -qs '^ *runtime *= *"runc"' "$conf" && grep -qs '^ *default_ulimits' "$conf"; }; then
  cp -p "$conf" "$conf.archy-backup.$(date +%s)"
  printf '%s\n' "$want" > "$conf"; note "replaced $conf (old copy kept beside it as $conf.archy-backup.*)"
fi

# 3) Python virtualenv: pinned tools, cached per requirements hash so a fresh clone reuses it
venv=$(venv_path)
if [ ! -x "$venv/bin/ansible-playbook" ] || [ ! -f "$venv/.complete" ]; then
  note "creating Python virtualenv $venv"
  rm -rf "$venv"; mkdir -p "$(dirname "$venv")"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check -r "$ROOT/requirements.txt" 2>&1 | grep -v "is ignored: it is neither" || true
  "$venv/bin/python" -c 'import ansible, molecule, testinfra, jmespath, netaddr' || die "virtualenv $venv is incomplete"
  touch "$venv/.complete"
fi
ln -sfn "$venv" "$ROOT/.venv"

# 4) Collections: requirements.yml must be met by what the PyPI 'ansible' bundle ships (no Galaxy here)
# ansible-galaxy answers "Nothing to do" offline when the installed bundle meets every range.
(cd "$ROOT" && "$venv/bin/ansible-galaxy" collection install -r requirements.yml 2>&1) | grep -q "Nothing to do" \
  || die "collections in requirements.yml are not met by the installed 'ansible' bundle (see README: Collections)"

if [ "$changed" = 0 ]; then echo "setup: host already set up, nothing changed"; else echo "setup: $changed change(s) made"; fi
