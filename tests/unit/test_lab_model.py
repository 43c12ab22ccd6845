"""The lab inventory's app model is valid and orders as the lab relies on (plugin_utils/apps.py)."""
import pathlib
import sys

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "collections"))
from ansible_collections.archipelago.node.plugins.plugin_utils import apps  # noqa: E402

LAB_MODEL = yaml.safe_load((ROOT / "inventories/lab/group_vars/archipelago/apps.yml").read_text())


def test_lab_model_orders_tiers_and_dependencies():
    plan = apps.plan(LAB_MODEL["archipelago_apps"], apps.SELECTION_TIERS,
                     [n["name"] for n in LAB_MODEL["archipelago_networks"]])
    assert [t["name"] for t in plan["tiers"]] == ["db", "core", "dependent", "app", "ui"]
    order = [a["id"] for a in plan["apps"]]
    for a in plan["apps"]:
        for dep in a["dependencies"]:
            assert order.index(dep) < order.index(a["id"]), (dep, a["id"])
    web = next(a for a in plan["apps"] if a["id"] == "archy-mempool-web")
    # The UI waits for its dependency and for the whole previous tier.
    assert "archy-app-mempool-api.service" in web["wants"]
    assert set(plan["tiers"][3]["units"]) <= set(web["after"])


def test_selection_tiers_skip_apps_and_keep_dependencies_consistent():
    plan = apps.plan(LAB_MODEL["archipelago_apps"], ["core"], [])
    assert [a["id"] for a in plan["apps"]] == ["bitcoin-knots"]
    assert "immich_server" in plan["skipped"]
