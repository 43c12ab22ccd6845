"""The healthy suite, the tor role (STAB-03/04) on a stabilized node."""
import json
import pathlib
import re
import sys

from labhosts import controller, node_host, onion_fetch
from onionaddr import onion_v3


def test_tor_upgraded_with_the_same_onion_address(node):
    """STAB-03/04: Tor >= 0.4.8, SOCKS answers, the .onion hostname is the one seeded, no
    missing-protocols or HSDir errors, and the onion answers health through Tor."""
    _, host = node
    out = host.check_output("podman exec archy-tor tor --version")
    assert tuple(int(x) for x in re.search(r"(\d+)\.(\d+)\.(\d+)", out).groups()) >= (0, 4, 8), out
    assert host.run("bash -c 'exec 3<>/dev/tcp/127.0.0.1/9050'").rc == 0
    seeded = host.file("/etc/archipelago-lab/seeded-onion").content_string.strip()
    assert host.file("/var/lib/tor/hidden_service_archipelago/hostname").content_string.strip() == seeded
    log = host.check_output("podman logs archy-tor 2>&1")
    assert "missing protocols" not in log.lower() and "no more hsdir" not in log.lower()
    # STAB-04's own test, on the lab's private Tor network: the node reaches its onion through Tor
    # (this also shows Tor bootstrapped, where its log has been rotated since). Tor can refuse a
    # request at once on a loaded machine, so it is asked again for a while (onion_fetch).
    health = onion_fetch(host, seeded, "/health", 150)
    assert json.loads(health)["status"] == "ok", health
    assert host.service("archy-app-archy-tor.service").is_running


def test_each_onion_hostname_is_the_address_of_its_tor_key(node):
    """Interop with Tor: every hidden-service folder's hostname is the v3 address (tests/onionaddr)
    of the ed25519 public key Tor keeps beside it (a 32-byte tagged header, then the key)."""
    _, host = node
    folders = host.check_output("ls -d /var/lib/tor/hidden_service_*").split()
    assert len(folders) >= 2, folders
    for folder in folders:
        key = host.file(f"{folder}/hs_ed25519_public_key").content
        assert key.startswith(b"== ed25519v1-public: type0 ==") and len(key) == 64, folder
        assert host.file(f"{folder}/hostname").content_string.strip() == onion_v3(key[32:]), folder


def test_an_image_below_the_version_gate_is_refused_and_tor_keeps_running():
    """STAB-03's gate: a pinned image whose Tor is older than tor_min_version (the plan's stale
    0.4.5, from the lab registry) fails before archy-tor is touched: same container, same onion."""
    host = node_host("arch1")
    before = host.check_output("podman inspect --format '{{.Id}} {{.ImageName}}' archy-tor")
    res = controller([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "playbooks/stabilize.yml",
                      "--limit", "arch1", "--tags", "tor", "-e", "tor_image=docker.io/archylab/tor:0.4.5-bullseye"],
                     check=False)
    assert res.returncode != 0
    assert re.search(r"has Tor 0\.4\.5[.\d]*, below tor_min_version 0\.4\.8; nothing was changed", res.stdout), \
        res.stdout[-3000:]
    assert host.check_output("podman inspect --format '{{.Id}} {{.ImageName}}' archy-tor") == before
    assert host.service("archy-app-archy-tor.service").is_running
