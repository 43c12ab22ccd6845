"""playbooks/budget.yml (SCALE-01/02/04) on the lab: each node's memory limits per tier, as the
app model says, against its RAM (lab nodes see the controller's); with budget_fail, a node over
budget_max_percent fails."""
import pathlib
import re
import sys

import yaml

from labhosts import controller

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "collections"))
from ansible_collections.archipelago.node.plugins.plugin_utils import apps  # noqa: E402

BIN = pathlib.Path(sys.executable).parent
LAB = yaml.safe_load((ROOT / "inventories/lab/group_vars/archipelago/apps.yml").read_text())


def budget(*extra):
    return controller([str(BIN / "ansible-playbook"), "playbooks/budget.yml", *extra], check=False)


def test_each_node_gets_its_models_budget_against_its_ram():
    res = budget()
    assert res.returncode == 0, res.stdout[-3000:]
    want = apps.budget(apps.plan(LAB["archipelago_apps"], apps.SELECTION_TIERS, [])["apps"])
    total = sum(t["memory_bytes"] for t in want["tiers"].values()) / 1024 ** 3
    found = dict((host, (int(core), float(tot), float(ram), verdict)) for host, core, tot, ram, verdict in re.findall(
        r"ok: \[(arch\d)\] =>\s+msg: '?core: (\d+) apps.*?total\s+([\d.]+) GB of\s+([\d.]+) GB RAM \([\d.]+ %:\s+(\w+)",
        res.stdout, re.S))
    assert sorted(found) == ["arch1", "arch2"], res.stdout[-3000:]
    for host, (core, got, ram, verdict) in found.items():
        assert core == want["tiers"]["core"]["apps"] and abs(got - total) < 0.01
        assert verdict == ("within" if got <= 0.8 * ram else "OVER"), (host, got, ram, verdict)


def test_a_node_over_budget_fails_with_the_figures_when_asked():
    assert budget("-e", "budget_fail=true").returncode == 0
    res = budget("-e", "budget_fail=true", "-e", "budget_max_percent=10", "--limit", "arch2")
    assert res.returncode != 0
    assert re.search(r"apps are [\d.]+ % of its RAM, above 10 %: select fewer tiers", res.stdout), res.stdout[-3000:]
