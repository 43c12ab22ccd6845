"""A stabilized lab node, as an operator checks it: the `healthy` suite.

Run after playbooks/stabilize.yml (tests/playbooks/test_stabilize.py runs it first in the
README's test command). Each test is the plan's acceptance for one item; on the incident state
they fail.
"""
import json
import re
import time

import pytest
import yaml

from labhosts import ROOT, controller, node_address, node_host, node_rpc, onion_fetch, wait_until
from onionaddr import onion_v3

BOTH = ["arch1", "arch2"]
MODEL = yaml.safe_load((ROOT / "inventories/lab/group_vars/archipelago/apps.yml").read_text())
APPS = {a["id"]: a for a in MODEL["archipelago_apps"]}
NODE_IP = {n: node_address(n) for n in BOTH}
PINNED = re.compile(r"(:[^:/]+|@sha256:[0-9a-f]{64})$")


def inspect(host, name):
    return json.loads(host.check_output(f"podman inspect {name}"))[0]


def snapshot(host):
    """What changes when anything restarts: container ids and the app units' restart counts."""
    ids = host.check_output("podman ps -aq | xargs -r podman inspect --format "
                            "'{{.Name}} {{.Id}} {{.State.Status}} {{.State.StartedAt}} {{.RestartCount}}' | sort")
    units = host.check_output("systemctl show -p Id -p NRestarts 'archy-app-*' | paste -sd' '")
    return ids, units


@pytest.fixture(scope="module", params=BOTH)
def node(request):
    host = node_host(request.param)
    first = snapshot(host)
    yield request.param, host
    # CRASH-05: nothing restarted or was replaced while this node's tests ran.
    assert snapshot(host) == first, f"something restarted on {request.param} during the healthy suite"


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


def test_swap_file(node):
    """STAB-01/02: the swap file, 0600, a swap signature, in fstab."""
    name, host = node
    size = {"arch1": 8192, "arch2": 4096}[name]
    swap = host.file("/swapfile")
    assert swap.mode == 0o600 and swap.size == size * 1024 * 1024
    assert host.check_output("blkid -p -o value -s TYPE /swapfile") == "swap"
    assert re.search(r"^/swapfile\s+none\s+swap\s", host.file("/etc/fstab").content_string, re.M)


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


def test_backend_lists_every_container(node):
    """STAB-07: the backend talks to the Podman that holds the containers."""
    _, host = node
    listed = node_rpc(host, "container.list")["result"]
    names = set(host.check_output("podman ps -a --format '{{.Names}}'").split())
    assert {c["name"] for c in listed} == names


def test_security_headers_everywhere_and_the_app_iframe_exception(node):
    """SEC-06: the headers on a page, on an nginx error page, and relaxed under /app/<id>/."""
    _, host = node
    for cmd in ("curl -sI http://127.0.0.1/", "curl -s -o /dev/null -D - -X POST http://127.0.0.1/index.html"):
        head = host.check_output(cmd)
        assert re.search(r"^X-Frame-Options: DENY", head, re.M | re.I), head
        for h in ("X-Content-Type-Options: nosniff", "Content-Security-Policy: ", "Referrer-Policy: ",
                  "Permissions-Policy: "):
            assert h.lower() in head.lower(), (cmd, h)
    assert host.check_output("curl -s -o /dev/null -w '%{http_code}' -X POST http://127.0.0.1/index.html") == "405"
    head = host.check_output("curl -s -o /dev/null -D - http://127.0.0.1/app/archy-mempool-web/")
    assert re.search(r"^X-Frame-Options: SAMEORIGIN", head, re.M | re.I)
    assert "frame-ancestors 'self'" in head
    assert host.check_output("curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1/app/archy-mempool-web/") == "200"


def test_published_port_is_loopback_only(node):
    """UFW does not see published ports: the model binds them to loopback, so the other node
    cannot reach mempool-web's 4080 while nginx serves it under /app/."""
    name, host = node
    other = node_host("arch2" if name == "arch1" else "arch1")
    probe = other.run(f"curl -s -m 3 -o /dev/null -w '%{{http_code}}' http://{NODE_IP[name]}:4080/")
    assert probe.stdout in ("000", ""), probe.stdout
    assert other.check_output(f"curl -s -m 3 -o /dev/null -w '%{{http_code}}' http://{NODE_IP[name]}/app/archy-mempool-web/") == "200"


def test_rpc_requests_without_a_session_are_rate_limited(node):
    """SEC-02: the controller (an address no other test uses) sends anonymous join attempts:
    after the burst nginx answers 429."""
    name, _ = node
    body = '{"method":"federation.join","params":{"code":"archy1.x.y"}}'
    codes = []
    for _ in range(14):
        res = controller(["curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "-H", "Content-Type: application/json",
                          "--data-binary", body, f"http://{NODE_IP[name]}/rpc/v1"])
        codes.append(res.stdout)
    assert "429" in codes and codes[0] != "429", codes


def test_logs_rotate_daily_keep_7_compressed(node):
    """SEC-05: the configuration passes logrotate -d; a forced rotation of the container logs
    rotates them while the apps keep logging."""
    _, host = node
    assert host.run("logrotate -d /etc/logrotate.conf").rc == 0
    for name in ("archipelago-backend", "archipelago-containers", "nginx"):
        conf = host.file(f"/etc/logrotate.d/{name}").content_string
        assert re.search(r"^\s+daily$", conf, re.M) and re.search(r"^\s+rotate 7$", conf, re.M) \
            and re.search(r"^\s+compress$", conf, re.M) and not re.search(r"^\s+nocompress$", conf, re.M)
    host.check_output("logrotate -f /etc/logrotate.d/archipelago-containers")
    assert host.file("/var/log/archipelago/containers/bitcoin-knots.log.1").exists
    assert host.service("logrotate.timer").is_enabled


def test_backend_watchdog_and_restart(node):
    """MEM-04: WatchdogSec=60 and Restart=on-failure on archipelago.service."""
    _, host = node
    assert host.check_output("systemctl show -p WatchdogUSec --value archipelago") == "1min"
    assert host.check_output("systemctl show -p Restart --value archipelago") == "on-failure"


def test_a_hung_backend_is_restarted_by_the_watchdog():
    """MEM-04 acceptance: the backend stops its watchdog pings; systemd restarts it within 90 s."""
    host = node_host("arch1")
    dropin = "/etc/systemd/system/archipelago.service.d/90-test-hang.conf"
    before = int(host.check_output("systemctl show -p NRestarts --value archipelago"))
    host.check_output(f"printf '[Service]\\nEnvironment=ARCHIPELAGO_LAB_FAULT=hang\\n' > {dropin} && "
                      "systemctl daemon-reload && systemctl restart archipelago")
    started = time.monotonic()
    try:
        wait_until(lambda: int(host.check_output("systemctl show -p NRestarts --value archipelago")) > before,
                   120, "the watchdog to restart the hung backend")
        assert time.monotonic() - started < 90
    finally:
        host.check_output(f"rm -f {dropin} && systemctl daemon-reload && systemctl restart archipelago")
    wait_until(lambda: host.run("curl -sf http://127.0.0.1:5678/health").rc == 0, 60, "the backend back up")
