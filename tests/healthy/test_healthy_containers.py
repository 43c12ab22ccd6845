"""The healthy suite, the containers role (CRASH-04, CONT-01..06, SEC-04, ISO-03) on a stabilized node."""
import re

import pytest

from healthy_nodes import APPS, NODE_IP, PINNED, inspect
from labhosts import node_host


def test_every_app_runs_healthy_under_its_systemd_unit(node):
    """CONT-02/03, US-15: one unit per app owns its container; all active and healthy."""
    _, host = node
    for app_id in APPS:
        unit = f"archy-app-{app_id}.service"
        assert host.service(unit).is_running and host.service(unit).is_enabled, unit
        data = inspect(host, app_id)
        assert data["State"]["Health"]["Status"] == "healthy", app_id
        assert data["Config"]["Labels"].get("PODMAN_SYSTEMD_UNIT") == unit, app_id
        assert data["HostConfig"]["RestartPolicy"]["Name"] in ("", "no"), "systemd restarts, not Podman"


def test_only_model_containers_remain(node):
    """CRASH-04: the orphan is gone; every container is in the model or is archy-tor."""
    _, host = node
    names = set(host.check_output("podman ps -a --format '{{.Names}}'").split())
    assert names == set(APPS) | {"archy-tor"}
    assert host.check_output("podman ps -a --filter status=exited --filter status=created -q") == ""


@pytest.mark.parametrize("client, server, port", [
    ("mempool-api", "archy-mempool-db", 3306), ("archy-nbxplorer", "archy-btcpay-db", 5432),
    ("btcpay-server", "archy-nbxplorer", 32838), ("immich_server", "immich_redis", 6379),
    ("archy-mempool-web", "mempool-api", 8999),
])
def test_dependent_services_reach_each_other_by_name(node, client, server, port):
    """CRASH-01..03, CONT-01: names resolve on the apps' network and the service answers."""
    _, host = node
    host.check_output(f"podman exec {client} python3 -c \"import socket; "
                      f"socket.create_connection(('{server}', {port}), 5).close()\"")


def test_containers_are_hardened_and_limited(node):
    """SEC-04, CONT-05: no capabilities beyond the model's, no-new-privileges, read-only root,
    a memory limit, a pinned image."""
    _, host = node
    for app_id, app in APPS.items():
        data = inspect(host, app_id)
        pid = data["State"]["Pid"]
        status = host.file(f"/proc/{pid}/status").content_string
        assert re.search(r"^CapEff:\s+0+$", status, re.M), f"{app_id} has effective capabilities"
        assert re.search(r"^NoNewPrivs:\s+1$", status, re.M), app_id
        assert data["HostConfig"]["ReadonlyRootfs"] is True, app_id
        assert data["HostConfig"]["Memory"] > 0, app_id
        assert PINNED.search(data["ImageName"]) and not data["ImageName"].endswith(":latest"), app_id
        assert host.file(f"/etc/archipelago/apps/{app_id}.env").mode == 0o600 if app.get("environment") else True


def test_units_are_ordered_by_tier(node):
    """CONT-02/ISO-03: each unit starts after its dependencies and the previous tier."""
    _, host = node
    after = host.check_output("systemctl show -p After --value archy-app-archy-mempool-web.service").split()
    assert "archy-app-mempool-api.service" in after and "archy-app-btcpay-server.service" in after
    after = host.check_output("systemctl show -p After --value archy-app-archy-nbxplorer.service").split()
    assert {"archy-app-bitcoin-knots.service", "archy-app-archy-btcpay-db.service"} <= set(after)
    assert host.service("archipelago-apps.target").is_enabled


def test_root_is_a_shared_mount_and_podman_is_quiet(node):
    """CONT-06: / is rshared and podman prints no warning."""
    _, host = node
    assert host.check_output("findmnt -no PROPAGATION /") == "shared"
    assert host.run("podman ps -q").stderr.strip() == ""


def test_published_port_is_loopback_only(node):
    """UFW does not see published ports: the model binds them to loopback, so the other node
    cannot reach mempool-web's 4080 while nginx serves it under /app/."""
    name, host = node
    other = node_host("arch2" if name == "arch1" else "arch1")
    probe = other.run(f"curl -s -m 3 -o /dev/null -w '%{{http_code}}' http://{NODE_IP[name]}:4080/")
    assert probe.stdout in ("000", ""), probe.stdout
    assert other.check_output(f"curl -s -m 3 -o /dev/null -w '%{{http_code}}' http://{NODE_IP[name]}/app/archy-mempool-web/") == "200"
