"""`lab/lab down` and a rebuild: down removes only the lab and restores the host; `up` replaces a
stale network and rebuilds the lab from cached images, seeded (about 4 minutes together, so not in
scripts/test.sh: bench/lab_rebuild.sh runs them). Runs in file order and leaves the lab up, seeded.
"""
import os

from labhosts import CACHE, ROOT, controller, lab_containers, lab_nodes, node_host, podman_json

LAB = str(ROOT / "lab" / "lab")


def leaked_cgroups():
    """Folders a node's systemd would create at the root of the controller's name=systemd tree.
    Only meaningful where the controller's PID 1 is not systemd (then only libpod_parent belongs)."""
    root = "/sys/fs/cgroup/systemd"
    if not os.path.isdir(root) or open("/proc/1/comm").read().strip() == "systemd":
        return []
    return sorted(d for d in os.listdir(root) if os.path.isdir(f"{root}/{d}") and d != "libpod_parent")


SWAPS_BEFORE = open("/proc/swaps").read()


def test_down_removes_only_the_lab_and_restores_the_host():
    lab_ids = [c["Id"] for c in lab_containers().values()]
    recorded_forward = open(f"{CACHE}/host-ip_forward").read().strip()
    controller("podman network exists bystander-net || podman network create --subnet 10.204.0.0/24 bystander-net")
    controller("podman rm -f bystander >/dev/null 2>&1; podman run -d --name bystander --network bystander-net "
               "docker.io/library/debian:bookworm-slim sleep 600")
    try:
        controller([LAB, "down"])
        assert lab_containers() == {}
        assert not controller(["podman", "network", "exists", "archy-lab"], check=False).returncode == 0
        assert controller(["podman", "container", "exists", "bystander"], check=False).returncode == 0
        assert controller(["podman", "network", "exists", "bystander-net"], check=False).returncode == 0
        # nothing of the lab's containers is left running or mounted on the controller
        procs = controller("ps -eo args").stdout
        mounts = open("/proc/mounts").read()
        for cid in lab_ids:
            assert cid not in procs and cid not in mounts
    finally:
        controller("podman rm -f -t 0 bystander; podman network rm -f bystander-net", check=False)
    assert open("/proc/sys/net/ipv4/ip_forward").read().strip() == recorded_forward
    assert open("/proc/swaps").read() == SWAPS_BEFORE
    assert leaked_cgroups() == [], "cgroups leaked into the controller's name=systemd root"


def test_up_replaces_a_stale_network_and_rebuilds_the_lab():
    """A stale network (wrong subnet) left behind is replaced; the lab comes back seeded."""
    controller("podman network exists archy-lab || podman network create --subnet 10.205.0.0/24 archy-lab")
    res = controller([LAB, "up"])
    assert "recreating it" in res.stdout or "creating network" in res.stdout
    net = podman_json("network", "inspect", "archy-lab")[0]
    assert [s["subnet"] for s in net["subnets"]] == ["10.203.0.0/24"]
    assert "seeded: arch1 arch2" in res.stdout
    for node in lab_nodes():
        assert node_host(node).file("/etc/archipelago-lab/seeded").exists
