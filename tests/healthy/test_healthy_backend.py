"""The healthy suite, the backend role (STAB-07, MEM-04) on a stabilized node."""
import time

from labhosts import node_host, node_rpc, wait_until


def test_backend_lists_every_container(node):
    """STAB-07: the backend talks to the Podman that holds the containers."""
    _, host = node
    listed = node_rpc(host, "container.list")["result"]
    names = set(host.check_output("podman ps -a --format '{{.Names}}'").split())
    assert {c["name"] for c in listed} == names


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
