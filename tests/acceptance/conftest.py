"""The cross-node acceptance suite (TEST-01..12) against an inventory: each check runs from each
node toward each other node of the group, for --iterations rounds. TAP with --tap-stream
(pytest-tap); scripts/acceptance.sh runs it."""
import itertools
import pathlib
import re

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
    group.addoption("--allow-skip", action="append", default=[], metavar="TEST-NN",
                    help="a TEST item whose checks may be skipped (repeatable); any other skip fails the run")


def load_inventory(config):
    """The group's host names and their (templated) host variables."""
    inventory = config.getoption("--inventory")
    hostvars = inventory_hosts(inventory, config.getoption("--group"))
    if not hostvars:
        raise pytest.UsageError("no hosts in group %r of %s" % (config.getoption("--group"), inventory))
    return sorted(hostvars), hostvars


# The plan's test matrix: checks per TEST item and the rounds each is run (TEST-12's full reboot
# test 3 times per node, everything else 10 times), in both directions: 890 passes in all.
PLAN_MATRIX = {"TEST-02": (6, 10), "TEST-03": (4, 10), "TEST-04": (4, 10), "TEST-05": (4, 10), "TEST-06": (3, 10),
               "TEST-07": (4, 10), "TEST-08": (5, 10), "TEST-09": (5, 10), "TEST-10": (4, 10), "TEST-11": (4, 10),
               "TEST-12": (5, 3)}
PLAN_PASSES = {}   # (item, check) -> passes
PLAN_COVERED = set()   # (item, check) some collected test makes


def pytest_configure(config):
    config.addinivalue_line("markers", "plan(item, *checks): the plan's numbered checks of TEST item this test makes")
    config.addinivalue_line("markers", "once: run in the first round only (the plan's 'once' items)")
    config.addinivalue_line("markers", "reboots: run in the first --reboots rounds only (each reboots a node)")


def test_item(item):
    """The plan's TEST-NN of a test function (test_testNN_...), or None."""
    m = re.match(r"test_test(\d\d)_", getattr(item, "originalname", item.name))
    return "TEST-%s" % m.group(1) if m else None


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A skipped check fails unless the operator named its TEST item with --allow-skip: the
    suite's exit 0 means that every check ran and passed."""
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.passed:
        for plan in item.iter_markers("plan"):
            for check in plan.args[1:]:
                PLAN_PASSES[(plan.args[0], check)] = PLAN_PASSES.get((plan.args[0], check), 0) + 1
    if not report.skipped or getattr(report, "wasxfail", None):
        return
    allowed = {a.upper() for a in item.config.getoption("--allow-skip")}
    name = test_item(item)
    if name in allowed:
        return
    reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
    report.outcome = "failed"
    report.longrepr = "%s was skipped (%s) and is not allowed to be: run it, or name it with --allow-skip %s" % (
        name or item.name, reason, name or item.name)


def pytest_report_header(config):
    allowed = config.getoption("--allow-skip")
    return "acceptance: skips allowed only for: %s" % (", ".join(allowed) if allowed else "none")


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
    if not cases:   # --reboots 0: deselected in pytest_collection_modifyitems
        cases = [(0, names[0], names[-1])]
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


def plan_summary(config):
    """Lines on the plan's matrix: per TEST item, the passes of its checks (each counted up to
    the rounds this run asked for), and the checks this suite has no test for."""
    if not PLAN_PASSES:
        return []
    names, _ = load_inventory(config)
    directions = max(1, len(names) * (len(names) - 1))
    iterations, reboots = config.getoption("--iterations"), config.getoption("--reboots")
    lines, got_all, want_all, uncovered = [], 0, 0, []
    for item, (checks, rounds) in sorted(PLAN_MATRIX.items()):
        rounds = min(rounds, reboots if item == "TEST-12" else iterations)
        want = directions * rounds
        got = sum(min(PLAN_PASSES.get((item, n), 0), want) for n in range(1, checks + 1))
        uncovered += ["%s (%d)" % (item, n) for n in range(1, checks + 1) if (item, n) not in PLAN_COVERED]
        lines.append("  %s: %d of %d" % (item, got, want * checks))
        got_all, want_all = got_all + got, want_all + want * checks
    head = "plan matrix: %d of %d check passes at these rounds (the plan's full matrix, --iterations 10 " \
           "--reboots 3: 890)" % (got_all, want_all)
    tail = ["  no check in this suite: " + ", ".join(uncovered)] if uncovered else []
    return [head] + lines + tail


def pytest_collection_modifyitems(config, items):
    """Which plan checks a collected test makes (for the summary's 'no check' list); with
    --reboots 0 the reboot tests are deselected (asked not to run, not skipped)."""
    for item in items:
        for plan in item.iter_markers("plan"):
            for check in plan.args[1:]:
                PLAN_COVERED.add((plan.args[0], check))
    if config.getoption("--reboots") < 1:
        dropped = [i for i in items if i.get_closest_marker("reboots")]
        if dropped:
            config.hook.pytest_deselected(items=dropped)
            items[:] = [i for i in items if i not in dropped]


def pytest_terminal_summary(terminalreporter, config):
    total = sum(len(terminalreporter.stats.get(k, [])) for k in ("passed", "failed", "skipped", "error"))
    if config.getoption("tap_stream", False) or not total:
        return   # pytest-tap's stream: the plan matrix goes out as TAP comments (pytest_unconfigure)
    for line in plan_summary(config):
        terminalreporter.write_line(line)
    terminalreporter.write_line("acceptance: %d checks (%d passed, %d failed, %d skipped)" % (
        total, len(terminalreporter.stats.get("passed", [])), len(terminalreporter.stats.get("failed", [])),
        len(terminalreporter.stats.get("skipped", []))))


def pytest_unconfigure(config):
    """With --tap-stream the terminal summary is not shown: the plan matrix follows the TAP
    lines as comments."""
    if config.getoption("tap_stream", False):
        for line in plan_summary(config):
            print("# " + line.strip(), flush=True)
