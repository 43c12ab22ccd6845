"""Adoption against recorded lab nodes (tests/data/adopt, podman inspect trimmed by trim.py): a node
that stabilize.yml converged adopts back to the lab inventory's own model; and docs/catalogue.md
says what the catalogue holds."""
import json
import pathlib
import subprocess
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "collections"))
from ansible_collections.archipelago.node.plugins.module_utils import adopt  # noqa: E402
from ansible_collections.archipelago.node.plugins.plugin_utils import apps  # noqa: E402

BASE = ROOT / "collections/ansible_collections/archipelago/node/roles/base/vars/main.yml"
VARS = yaml.safe_load(BASE.read_text())
LAB = yaml.safe_load((ROOT / "inventories/lab/group_vars/archipelago/apps.yml").read_text())
# What a container shows of its app, as the role normalizes it (the selection tier is not shown).
SHOWN = ["image", "networks", "user", "command", "memory_limit", "cpu_limit", "capabilities", "readonly_root",
         "no_new_privileges", "ports", "volumes", "health", "startup_tier", "dependencies"]


def recorded(name):
    data = json.loads((ROOT / "tests/data/adopt" / name).read_text())
    images = {i["Id"]: i for i in data["images"]}
    return [adopt.container_app(c, images.get(c["Image"])) for c in data["containers"]]


def test_a_stabilized_node_adopts_back_to_the_model_that_made_it():
    result = adopt.adopt(recorded("stabilized.json"), [], VARS["archipelago_catalogue"], ["archy-tor"],
                         "/var/lib/archipelago/secrets/apps", VARS["archipelago_catalogue_owned"])
    assert result["incomplete"] == [] and result["notes"] == []
    nets = [n["name"] for n in LAB["archipelago_networks"]]
    got = {a["id"]: a for a in apps.plan(result["apps"], apps.SELECTION_TIERS, nets)["apps"]}
    want = {a["id"]: a for a in apps.plan(LAB["archipelago_apps"], apps.SELECTION_TIERS, nets)["apps"]}
    assert sorted(got) == sorted(want)
    for app_id, app in want.items():
        assert {k: got[app_id][k] for k in SHOWN} == {k: app[k] for k in SHOWN}, app_id
    # The environment is the node's now: same names, values in the node's file.
    for app_id, app in want.items():
        assert result["environment"].get(app_id, []) == sorted(n for n, _ in app["environment"]), app_id


def test_catalogue_docs_are_current():
    res = subprocess.run([sys.executable, str(ROOT / "scripts/catalogue_docs.py"), "--check"],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
