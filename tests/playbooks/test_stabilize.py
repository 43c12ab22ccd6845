"""playbooks/stabilize.yml against the lab (in the incident state when this file starts):
bad input changes nothing, --check changes nothing, a run fixes container DNS and adds swap,
a second run changes nothing; and the playbooks' lint."""
import copy
import json
import re
import sys
import pathlib

import pytest
import yaml
from xml.etree import ElementTree

from labhosts import changed, controller, node_host, recap, wait_until

BIN = pathlib.Path(sys.executable).parent
ROOT = pathlib.Path(__file__).resolve().parents[2]
BOTH = ["arch1", "arch2"]


def run_playbook(*args, ok=True):
    res = controller([str(BIN / "ansible-playbook"), "playbooks/stabilize.yml", *args], check=False)
    if ok:
        assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    return res, changed(res.stdout)


def node_state(node):
    """Everything stabilize.yml may change on a node."""
    host = node_host(node)
    return {"ufw": host.check_output("ufw status verbose"), "swapfile": host.file("/swapfile").exists,
            "fstab": host.file("/etc/fstab").content_string if host.file("/etc/fstab").exists else "",
            "containers": host.check_output("podman ps -a --format '{{.ID}} {{.Names}} {{.Image}}' | sort"),
            "units": host.run("ls /etc/systemd/system /etc/systemd/system/archipelago.service.d 2>&1").stdout,
            "configs": host.run("md5sum /etc/nginx/sites-available/archipelago /etc/logrotate.d/* "
                                "/etc/archipelago/archipelago.env 2>&1").stdout,
            "rshared": host.check_output("findmnt -no PROPAGATION /"),
            "libexec": host.exists("/usr/local/libexec/archipelago/verify-unit")}


MODEL = yaml.safe_load((pathlib.Path(__file__).resolve().parents[2]
                        / "inventories/lab/group_vars/archipelago/apps.yml").read_text())["archipelago_apps"]


def model_with(change):
    apps = copy.deepcopy(MODEL)
    change({a["id"]: a for a in apps})
    return json.dumps({"archipelago_apps": apps})


def _cycle(apps):
    apps["bitcoin-knots"]["dependencies"] = [{"app_id": "mempool-electrs"}]
    apps["bitcoin-knots"]["startup_tier"] = "dependent"


def resolves(node):
    return node_host(node).run("podman exec bitcoin-knots python3 -c "
                               "\"import socket; socket.gethostbyname('archy-mempool-db')\"").rc == 0


@pytest.mark.parametrize("extra, message", ids=["non-cidr", "host-bits", "swap-too-large", "latest-image",
                                                 "unknown-dependency", "cycle", "tor-latest", "logrotate-relative",
                                                 "nginx-header-quote", "network-not-cidr"], argvalues=[
    ('{"ufw_podman_extra_subnets": ["10.89.0.300/24"]}', "not valid network CIDRs: 10.89.0.300/24"),
    ('{"ufw_podman_extra_subnets": ["10.89.0.7/24"]}', "not valid network CIDRs: 10.89.0.7/24"),
    ('{"swap_size_mb": 99999999}', "does not fit"),
    (model_with(lambda a: a["bitcoin-knots"]["container"].update(image="docker.io/archylab/bitcoin-knots:latest")),
     "image docker.io/archylab/bitcoin-knots:latest is not pinned"),
    (model_with(lambda a: a["btcpay-server"].update(dependencies=[{"app_id": "lnd"}])),
     "btcpay-server depends on unknown app lnd"),
    (model_with(_cycle), "dependency cycle: bitcoin-knots -> mempool-electrs -> bitcoin-knots"),
    ('{"tor_image": "docker.io/archylab/tor:latest"}', "must name a pinned image"),
    # The last roles of the play: validated before the first one changes anything.
    ('{"logrotate_sets": [{"name": "x", "paths": ["var/log/x.log"]}]}', "needs a name (letters, digits"),
    ('{"nginx_headers_csp": "default-src \'self\'\\"; evil"}', "header values must be one line"),
    ('{"archipelago_networks": [{"name": "archy-net", "subnet": "10.89.0.0/33"}, {"name": "immich-net"}]}',
     "needs a name and a subnet in CIDR form"),
])
def test_bad_input_fails_before_any_change(extra, message):
    before = {n: node_state(n) for n in BOTH}
    res, _ = run_playbook("-e", extra, ok=False)
    assert res.returncode != 0 and message in res.stdout, res.stdout[-3000:]
    assert {n: node_state(n) for n in BOTH} == before


def test_check_mode_changes_nothing(installed):
    """--check --diff of the collection as a user installs it (the built tarball, run from an empty
    directory with no ansible.cfg: conftest.py) reports what it would do and changes nothing."""
    run, _ = installed
    before = {n: node_state(n) for n in BOTH}
    res = run("ansible-playbook", "-i", str(ROOT / "inventories" / "lab" / "hosts.yml"),
              "archipelago.node.stabilize", "--check", "--diff", timeout=900)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    counts = recap(res.stdout)
    assert set(counts) == set(BOTH), res.stdout[-3000:]
    for host, c in counts.items():
        assert c["changed"] > 0 and (c["unreachable"], c["failed"]) == (0, 0), (host, res.stdout[-3000:])  # what it would do
    # --diff shows the files it would write
    assert "+ExecStart=/usr/bin/podman run" in res.stdout and "+WatchdogSec=60" in res.stdout
    assert "X-Frame-Options" in res.stdout
    assert {n: node_state(n) for n in BOTH} == before
    assert not resolves("arch2")


def test_stabilize_fixes_container_dns_and_adds_swap():
    run_playbook()
    for node, size in (("arch1", 8192), ("arch2", 4096)):
        host = node_host(node)
        assert resolves(node), f"container DNS still blocked on {node}"
        swap = host.file("/swapfile")
        assert swap.mode == 0o600 and swap.user == "root" and swap.size == size * 1024 * 1024
        assert host.check_output("blkid -p -o value -s TYPE /swapfile") == "swap"
        assert re.search(r"^/swapfile\s+none\s+swap\s+sw\s", host.file("/etc/fstab").content_string, re.M)
        status = host.check_output("ufw status verbose")
        assert "Default: deny (incoming)" in status and "10.89.0.0/24" in status and "22/tcp" in status


def test_dependent_services_stop_crash_looping():
    """After the UFW fix the dependents come up healthy and stay up (CRASH-05, briefly)."""
    apps = ["mempool-electrs", "mempool-api", "archy-mempool-web", "archy-nbxplorer", "btcpay-server", "immich_server"]
    for node in BOTH:
        host = node_host(node)

        def healthy():
            return all(host.run(f"podman healthcheck run {a}").rc == 0 for a in apps)
        wait_until(healthy, 180, f"every dependent service healthy on {node}")
        counts = host.check_output("podman inspect --format '{{.Name}}={{.RestartCount}}' " + " ".join(apps))
        assert healthy(), f"a dependent service on {node} became unhealthy again"
        assert host.check_output("podman inspect --format '{{.Name}}={{.RestartCount}}' " + " ".join(apps)) == counts


def test_second_run_changes_nothing():
    _, counts = run_playbook()
    assert counts == {"arch1": 0, "arch2": 0}


def test_incident_suite_fails_on_every_item(tmp_path):
    """The incident suite asserts the plan's symptoms: on the stabilized lab none is left."""
    report = tmp_path / "incident.xml"
    controller([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"--junitxml={report}",
                "tests/incident"], check=False, env_extra={"INCIDENT_LOOP_WAIT": "15"})
    cases = ElementTree.parse(report).getroot().iter("testcase")
    results = {c.get("name"): not any(ch.tag in ("failure", "error", "skipped") for ch in c) for c in cases}
    assert len(results) >= 18
    passed = [name for name, ok in results.items() if ok]
    assert passed == [], f"incident symptoms still present: {passed}"


NEW_NET = {"name": "archy-lab-new", "subnet": "10.89.7.0/24"}


def new_network_model():
    """The lab's model plus two apps on a network no node has yet: a stand-in whose health needs the
    other's name resolved by the new network's DNS, so the run passes only if UFW lets it through."""
    net = NEW_NET["name"]
    apps = copy.deepcopy(MODEL) + [
        {"id": "newnet-redis", "tier": "optional", "startup_tier": "db",
         "container": {"image": "docker.io/library/redis:7.0-bookworm", "network": net},
         "resources": {"memory_limit": "64m"}, "security": {"capabilities": [], "readonly_root": True},
         "health_check": {"type": "exec", "command": "redis-cli ping | grep -q PONG", "interval": "5s",
                          "timeout": "5s", "start_period": "5s", "retries": 3}},
        {"id": "newnet-web", "tier": "optional", "startup_tier": "app",
         "container": {"image": "docker.io/archylab/mempool-web:1.0", "network": net},
         "dependencies": [{"app_id": "newnet-redis"}], "resources": {"memory_limit": "64m"},
         "security": {"capabilities": [], "readonly_root": True, "no_new_privileges": True},
         "environment": {"STANDIN_NAME": "newnet-web", "STANDIN_PORT": "8080", "STANDIN_DEPENDS": "newnet-redis:6379"},
         "health_check": {"type": "exec", "command": "/usr/local/bin/standin --probe", "interval": "5s",
                          "timeout": "5s", "start_period": "5s", "retries": 3}}]
    networks = yaml.safe_load((pathlib.Path(__file__).resolve().parents[2]
                               / "inventories/lab/group_vars/archipelago/apps.yml").read_text())["archipelago_networks"]
    return json.dumps({"archipelago_apps": apps, "archipelago_networks": networks + [NEW_NET]})


def test_a_network_new_to_the_node_works_after_one_run():
    """ufw_podman runs before the containers role creates the network: it allows the networks the
    model declares, so the new network's DNS answers in the same run (the apps' health gate needs it)."""
    host = node_host("arch2")
    assert host.run(f"podman network exists {NEW_NET['name']}").rc != 0
    assert NEW_NET["subnet"] not in host.check_output("ufw status")
    try:
        run_playbook("-l", "arch2", "--tags", "ufw_podman,containers", "-e", new_network_model())
        assert NEW_NET["subnet"] in host.check_output("ufw status")
        assert host.run("podman exec newnet-web python3 -c \"import socket; socket.gethostbyname('newnet-redis')\"").rc == 0
    finally:
        # back to the lab's model: the two apps are orphans now and go; the network stays unused
        run_playbook("-l", "arch2", "--tags", "containers")
        host.run(f"podman network rm {NEW_NET['name']}")
        host.run(f"ufw delete allow from {NEW_NET['subnet']}")
    assert host.run("podman container exists newnet-web").rc != 0
