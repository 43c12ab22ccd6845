"""The healthy suite, adoption on a stabilized node: taking the app model from the node
(archipelago_apps_source node, nothing about the apps in the inventory, tor_image empty) gives
back what the inventory's model made. A --check --diff run would change no unit, no environment
file, no container and no other role's file on either node: only the role's records of the apps
say the model now comes from the node (an environment file where the names of the inventory's
variables were)."""
import re
import sys
import pathlib

from labhosts import controller

BIN = pathlib.Path(sys.executable).parent


def test_adopting_a_stabilized_node_changes_nothing_but_the_records():
    res = controller([str(BIN / "ansible-playbook"), "playbooks/stabilize.yml", "--check", "--diff",
                      "--skip-tags", "federation", "-e", "archipelago_apps_source=node",
                      "-e", '{"archipelago_apps": [], "tor_image": ""}', "-e", "node_report_window_sec=0"], check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    assert "Read the app model from the node" in res.stdout
    changed_tasks = set(re.findall(r"(?m)^TASK \[([^\]]+)\][^\n]*\n[^\n]*\nchanged: ", res.stdout))
    assert changed_tasks <= {"archipelago.node.containers : Units and environment files of the apps, and their target"}, \
        changed_tasks
    files = set(re.findall(r"(?m)^\+\+\+ after: (\S+)", res.stdout))
    assert files and all(re.fullmatch(r"/etc/archipelago/apps/[a-z0-9_.-]+\.app\.json", f) for f in files), files
    # what a record says differs only in where the environment's values live
    changed_lines = re.findall(r"(?m)^[-+] +\"(\w+)\":", res.stdout)
    assert set(changed_lines) <= {"environment_file", "environment_names"}, set(changed_lines)
