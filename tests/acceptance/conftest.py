"""The cross-node acceptance suite (TEST-01..12) against an inventory: each check runs from each
node toward each other node of the group, for --iterations rounds. TAP with --tap-stream
(pytest-tap); scripts/acceptance.sh runs it."""
import itertools
import pathlib

import pytest
import testinfra

from labhosts import inventory_hosts, node_rpc, ssh_host

ROOT = pathlib.Path(__file__).resolve().parents[2]


def pytest_addoption(parser):
    group = parser.getgroup("acceptance")
    group.addoption("--iterations", type=int, default=10, help="rounds of every check (default 10)")
    group.addoption("--reboots", type=int, default=3,
                    help="rounds (of the first ones) that also reboot each node, TEST-12 (default 3)")
    group.addoption("--inventory", default=str(ROOT / "inventories" / "lab"), help="Ansible inventory")
    group.addoption("--group", default="archipelago", help="the inventory group of nodes")


def load_inventory(config):
    """The group's host names and their (templated) host variables."""
    inventory = config.getoption("--inventory")
    hostvars = inventory_hosts(inventory, config.getoption("--group"))
    if not hostvars:
        raise pytest.UsageError("no hosts in group %r of %s" % (config.getoption("--group"), inventory))
    return sorted(hostvars), hostvars


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

    def __init__(self, name, hostvars):
        self.name, self.vars = name, hostvars
        connection = hostvars.get("ansible_connection", "ssh")
        if connection in ("ssh", "smart"):
            self.host = ssh_host(dict(hostvars, ansible_host=hostvars.get("ansible_host", name)))
        elif connection == "local":
            self.host = testinfra.get_host("local://", sudo=bool(hostvars.get("ansible_become")))
        else:
            raise pytest.UsageError(f"{name}: ansible_connection {connection!r}: the suite reaches nodes over SSH")
        self.address = hostvars.get("ansible_host", name)
        self.password_file = hostvars.get("archipelago_rpc_password_file", "/etc/archipelago/admin-password")

    def rpc(self, method, params=None):
        """The whole JSON-RPC answer ({"result": ...} or {"error": ...})."""
        return node_rpc(self.host, method, params, password_file=self.password_file)


@pytest.fixture(scope="session")
def nodes(request):
    names, hostvars = load_inventory(request.config)
    return {n: Node(n, hostvars[n]) for n in names}


def pytest_terminal_summary(terminalreporter, config):
    total = sum(len(terminalreporter.stats.get(k, [])) for k in ("passed", "failed", "skipped", "error"))
    if total:
        terminalreporter.write_line("acceptance: %d checks (%d passed, %d failed, %d skipped)" % (
            total, len(terminalreporter.stats.get("passed", [])), len(terminalreporter.stats.get("failed", [])),
            len(terminalreporter.stats.get("skipped", []))))
