"""STAB-01 on a stabilized node: a changed `swap_size_mb` replaces the swap file with one of the new
size (0600, a swap signature, one fstab line), a second run changes nothing, and the inventory's
size comes back the same way. swapon and vm.swappiness are skipped in the lab's container nodes
(they would act on the controller's kernel); molecule/adopt sizes the file from RAM."""
import json
import re
import sys
import pathlib

from labhosts import changed, controller, node_host

BIN = pathlib.Path(sys.executable).parent
NODE = "arch2"
INVENTORY_MB = 4096     # inventories/lab/host_vars/arch2.yml


def run_swap(size_mb=None):
    extra = ["-e", json.dumps({"swap_size_mb": size_mb})] if size_mb else []
    res = controller([str(BIN / "ansible-playbook"), "playbooks/stabilize.yml", "--limit", NODE, "--tags", "swap",
                      *extra], check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    return changed(res.stdout)[NODE]


def swap_file(host):
    f = host.file("/swapfile")
    fstab = re.findall(r"^/swapfile\s+none\s+swap\s", host.file("/etc/fstab").content_string, re.M)
    return f.size // 2 ** 20, f.mode, host.check_output("blkid -p -o value -s TYPE /swapfile"), len(fstab)


def test_a_changed_size_replaces_the_swap_file_and_the_old_size_comes_back():
    host = node_host(NODE)
    assert swap_file(host) == (INVENTORY_MB, 0o600, "swap", 1)
    try:
        assert run_swap(2048) > 0
        assert swap_file(host) == (2048, 0o600, "swap", 1)
        assert run_swap(2048) == 0
    finally:
        run_swap()
    assert swap_file(host) == (INVENTORY_MB, 0o600, "swap", 1)
