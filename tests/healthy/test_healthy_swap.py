"""The healthy suite, the swap role (STAB-01/02) on a stabilized node."""
import re



def test_swap_file(node):
    """STAB-01/02: the swap file, 0600, a swap signature, in fstab."""
    name, host = node
    size = {"arch1": 8192, "arch2": 4096}[name]
    swap = host.file("/swapfile")
    assert swap.mode == 0o600 and swap.size == size * 1024 * 1024
    assert host.check_output("blkid -p -o value -s TYPE /swapfile") == "swap"
    assert re.search(r"^/swapfile\s+none\s+swap\s", host.file("/etc/fstab").content_string, re.M)
