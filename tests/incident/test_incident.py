"""The plan's "Critical Findings", as symptoms on the lab nodes.

Each test asserts that a symptom IS present: on a fresh `lab/lab up|reset` they all pass, and
on a stabilized node each of them fails. Run with the lab up.
"""
import json
import os
import re

import pytest

from labhosts import node_host, node_rpc, wait_until

BOTH = ["arch1", "arch2"]
DNS_DEPENDENT = ["mempool-api", "archy-nbxplorer", "immich_server"]
# Seconds to wait for a symptom that takes time to show (a crash loop, the stale Tor's warning); a
# stabilized node never shows one, so the check that this suite fails there (tests/playbooks)
# shortens it.
LOOP_WAIT = int(os.environ.get("INCIDENT_LOOP_WAIT", "120"))


def inspect(host, name, fmt):
    return host.check_output(f"podman inspect --format '{fmt}' {name}")


def restart_counts(host):
    return {s: int(inspect(host, s, "{{.RestartCount}}")) for s in DNS_DEPENDENT}


@pytest.fixture(scope="module", params=BOTH)
def node(request):
    host = node_host(request.param)
    # restart counts when the node's tests begin: a crash loop shows as any later increase
    host.first_restarts = restart_counts(host)
    return request.param, host


def test_ufw_default_deny_without_podman_subnets(node):
    """CRASH-01: UFW on, default deny incoming, and nothing lets the Podman subnets in."""
    _, host = node
    status = host.check_output("ufw status verbose")
    assert "Status: active" in status
    assert re.search(r"Default: deny \(incoming\)", status)
    assert not re.search(r"10\.8[89]\.\d+\.\d+/\d+", status), status


def test_ufw_blocks_podman_dns(node):
    """CRASH-01..03: a container cannot resolve another one by name on archy-net."""
    _, host = node
    # bitcoin-knots needs nothing, so it keeps running while the others loop
    assert inspect(host, "bitcoin-knots", "{{.State.Status}}") == "running"
    probe = host.run("podman exec bitcoin-knots python3 -c "
                     "\"import socket; print(socket.gethostbyname('archy-mempool-db'))\"")
    assert probe.rc != 0, f"archy-mempool-db resolved: {probe.stdout}"
    assert "Name or service not known" in probe.stderr or "Temporary failure" in probe.stderr, probe.stderr


@pytest.mark.parametrize("service", DNS_DEPENDENT)
def test_dependent_service_crash_loops(node, service):
    """CRASH-01..03: the services that need another one by name keep restarting."""
    _, host = node
    first = host.first_restarts[service]
    wait_until(lambda: int(inspect(host, service, "{{.RestartCount}}")) > first, LOOP_WAIT,
               f"{service} to restart again (restart count {first})")
    logs = host.check_output(f"podman logs --tail 50 {service} 2>&1")
    assert "cannot resolve" in logs


def test_no_swap(node):
    """STAB-01/02: no swap file, no swap entry in fstab."""
    _, host = node
    assert not host.file("/swapfile").exists
    fstab = host.file("/etc/fstab").content_string if host.file("/etc/fstab").exists else ""
    assert not [line for line in fstab.splitlines() if not line.startswith("#") and " swap " in line]


def test_orphan_ollama_created_on_arch1():
    """CRASH-04: the unused ollama container sits in Created state on arch1."""
    host = node_host("arch1")
    assert inspect(host, "ollama", "{{.State.Status}}") in ("created", "configured")


def test_stale_tor_on_arch2():
    """STAB-03: archy-tor on arch2 runs a Tor older than 0.4.8."""
    host = node_host("arch2")
    out = host.check_output("podman exec archy-tor tor --version")
    version = tuple(int(x) for x in re.search(r"Tor version (\d+)\.(\d+)\.(\d+)", out).groups())
    assert version < (0, 4, 8), out


def test_stale_tor_shows_the_old_version_symptoms_on_the_lab_tor_network():
    """STAB-03: on the lab's private Tor network (current authorities), the stale Tor is told it
    lacks protocols the consensus recommends and "will eventually stop working" (the plan's words)."""
    host = node_host("arch2")
    log = wait_until(lambda: (lambda text: text if "missing protocols" in text.lower() else None)(
        host.check_output("podman logs archy-tor 2>&1")), LOOP_WAIT, "the stale Tor's missing-protocols warning")
    assert "You should upgrade" in log and "will eventually stop working" in log


def test_no_federation_on_arch2():
    """STAB-06: arch2 never joined: no peers file."""
    host = node_host("arch2")
    assert host.file("/var/lib/archipelago/federation").is_directory
    assert not host.file("/var/lib/archipelago/federation/nodes.json").exists


def test_empty_nostr_revoked_marker_on_arch2():
    """STAB-05: the nostr_revoked marker exists and is empty."""
    host = node_host("arch2")
    marker = host.file("/var/lib/archipelago/identity/nostr_revoked")
    assert marker.is_file and marker.size == 0


def test_backend_says_rootless_but_containers_are_rootful_on_arch2():
    """STAB-07: the backend is set to rootless Podman; root's Podman holds the containers."""
    host = node_host("arch2")
    env = host.file("/etc/archipelago/archipelago.env").content_string
    assert re.search(r"^ARCHIPELAGO_PODMAN_MODE=rootless$", env, re.M), env
    containers = json.loads(host.check_output("podman ps -a --format json"))
    assert len(containers) >= 10


def test_backend_lists_no_containers_on_arch2():
    """STAB-07 as the backend sees it: container.list answers with nothing on arch2."""
    host = node_host("arch2")
    assert node_rpc(host, "container.list")["result"] == []
