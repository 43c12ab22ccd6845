"""playbooks/stabilize.yml against the lab, and the playbooks' lint."""
import re
import sys
import pathlib

from labhosts import ROOT, controller

BIN = pathlib.Path(sys.executable).parent


def run_playbook(*args):
    res = controller([str(BIN / "ansible-playbook"), *args], check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    return dict(re.findall(r"^(arch\d)\s+: ok=\d+\s+changed=(\d+)", res.stdout, re.M))


def test_stabilize_runs_and_changes_nothing_twice():
    for _ in range(2):
        changed = run_playbook("playbooks/stabilize.yml")
        assert changed == {"arch1": "0", "arch2": "0"}


def test_ansible_lint_production_profile():
    res = controller([str(BIN / "ansible-lint"), "--profile", "production", "playbooks/", "roles/"], check=False)
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
