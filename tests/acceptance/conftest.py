"""The cross-node acceptance suite (TEST-01..12) against an inventory: each check runs from each
node toward each other node of the group, for --iterations rounds. TAP with --tap-stream
(pytest-tap); scripts/acceptance.sh runs it."""
import itertools
import json
import pathlib
import subprocess
import sys

import pytest
import testinfra

from labhosts import node_rpc

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent


def pytest_addoption(parser):
    group = parser.getgroup("acceptance")
    group.addoption("--iterations", type=int, default=10, help="rounds of every check (default 10)")
    group.addoption("--reboots", type=int, default=3,
                    help="rounds (of the first ones) that also reboot each node, TEST-12 (default 3)")
    group.addoption("--inventory", default=str(ROOT / "inventories" / "lab"), help="Ansible inventory")
    group.addoption("--group", default="archipelago", help="the inventory group of nodes")


def load_inventory(config):
    out = subprocess.run([str(BIN / "ansible-inventory"), "-i", config.getoption("--inventory"), "--list"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    inv = json.loads(out.stdout)

    def hosts(group, seen=()):
        entry = inv.get(group, {})
        found = set(entry.get("hosts", []))
        for child in entry.get("children", []):
            if child not in seen:
                found |= hosts(child, seen + (group,))
        return found
    names = sorted(hosts(config.getoption("--group")))
    if not names:
        raise pytest.UsageError("no hosts in group %r of %s" % (config.getoption("--group"),
                                                               config.getoption("--inventory")))
    return names, inv.get("_meta", {}).get("hostvars", {})


def pytest_configure(config):
    config.addinivalue_line("markers", "once: run in the first round only (the plan's 'once' items)")
    config.addinivalue_line("markers", "reboots: run in the first --reboots rounds only (each reboots a node)")


def pytest_generate_tests(metafunc):
    if "pair" not in metafunc.fixturenames:
        return
    names, _ = load_inventory(metafunc.config)
    pairs = list(itertools.permutations(names, 2)) or [(n, n) for n in names]
    last = metafunc.config.getoption("--iterations")
    if metafunc.definition.get_closest_marker("once"):
        last = min(last, 1)
    elif metafunc.definition.get_closest_marker("reboots"):
        last = min(last, metafunc.config.getoption("--reboots"))
    rounds = range(1, last + 1)
    cases = [(i, a, b) for i in rounds for a, b in pairs]
    metafunc.parametrize("pair", cases, ids=["iter%d-%s->%s" % c for c in cases])


class Node:
    """A node of the inventory: its testinfra host, its address on the nodes' network, its vars.
    rpc() calls its backend from inside the node, logging in with the password file the inventory
    names (archipelago_rpc_password_file)."""

    def __init__(self, name, hostvars, inventory):
        self.name, self.vars = name, hostvars
        if hostvars.get("ansible_connection") in ("containers.podman.podman", "podman"):
            self.host = testinfra.get_host("podman://" + hostvars.get("ansible_host", name))
        else:
            self.host = testinfra.get_host("ansible://%s?ansible_inventory=%s" % (name, inventory))
        self.address = hostvars.get("lab_node_address") or hostvars.get("ansible_host", name)
        self.password_file = hostvars.get("archipelago_rpc_password_file", "/etc/archipelago/admin-password")

    def rpc(self, method, params=None):
        """The whole JSON-RPC answer ({"result": ...} or {"error": ...})."""
        return node_rpc(self.host, method, params, password_file=self.password_file)


@pytest.fixture(scope="session")
def nodes(request):
    names, hostvars = load_inventory(request.config)
    inventory = request.config.getoption("--inventory")
    return {n: Node(n, hostvars.get(n, {}), inventory) for n in names}


def pytest_terminal_summary(terminalreporter, config):
    total = sum(len(terminalreporter.stats.get(k, [])) for k in ("passed", "failed", "skipped", "error"))
    if total:
        terminalreporter.write_line("acceptance: %d checks (%d passed, %d failed, %d skipped)" % (
            total, len(terminalreporter.stats.get("passed", [])), len(terminalreporter.stats.get("failed", [])),
            len(terminalreporter.stats.get("skipped", []))))
