"""The healthy suite, adoption on a stabilized node: taking the app model from the node
(archipelago_apps_source node, nothing about the apps in the inventory, tor_image empty) gives
back what the inventory's model made, so a --check run changes nothing on either node."""
import re
import sys
import pathlib

from labhosts import controller

BIN = pathlib.Path(sys.executable).parent


def test_adopting_a_stabilized_node_is_a_no_op():
    res = controller([str(BIN / "ansible-playbook"), "playbooks/stabilize.yml", "--check", "--skip-tags", "federation",
                      "-e", "archipelago_apps_source=node", "-e", '{"archipelago_apps": [], "tor_image": ""}',
                      "-e", "node_report_window_sec=0"], check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    changed = dict(re.findall(r"^(arch\d)\s+: ok=\d+\s+changed=(\d+)", res.stdout, re.M))
    assert changed == {"arch1": "0", "arch2": "0"}, re.findall(r"(?ms)^TASK \[[^\n]*\]\n[^\n]*\nchanged: .*?$",
                                                             res.stdout)[:10]
    assert "Read the app model from the node" in res.stdout
