"""What the healthy suite's files share: the nodes, the lab's app model, inspect and snapshot.

The healthy suite: a stabilized lab node as an operator checks it, one file per role.

Run after playbooks/stabilize.yml (tests/playbooks/test_stabilize.py runs it first in the
README's test command). Each test is the plan's acceptance for one item; on the incident state
they fail. The `node` fixture (conftest.py) also checks that nothing restarted or was replaced
while a file's tests ran (CRASH-05).
"""
import json
import re

import yaml

from labhosts import ROOT, node_address

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
