"""The Molecule scenarios under molecule/, each a full `molecule test` (create, prepare,
converge, idempotence, side effect, verify, destroy: the steps its test_sequence names) on its
own lab nodes. scripts/test.sh starts
them beside the other suites and says where their results go (ARCHY_MOLECULE_RESULTS); without
it the test runs the scenario itself."""
import os
import pathlib
import re
import sys

import pytest
import yaml

from labhosts import ROOT, controller, task_sections, wait_until

BIN = pathlib.Path(sys.executable).parent
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))


def run_scenario(scenario):
    results = os.environ.get("ARCHY_MOLECULE_RESULTS")
    if results:
        rc_file = pathlib.Path(results) / f"{scenario}.rc"
        wait_until(rc_file.exists, 3000, f"the Molecule scenario {scenario} started by scripts/test.sh", interval=5)
        return int(rc_file.read_text()), (pathlib.Path(results) / f"{scenario}.log").read_text()
    res = controller([str(BIN / "molecule"), "test", "-s", scenario], check=False, timeout=3000,
                     env_extra={"PATH": f"{BIN}:{os.environ.get('PATH', '')}"})
    return res.returncode, res.stdout + res.stderr


def failure_excerpt(plain):
    """What to show of a failed run: the first task that failed and was not ignored, from its TASK
    header (the end of a run is Molecule's destroy step, which says nothing of the cause), then
    the run's last lines."""
    for _, section in task_sections(plain):
        if re.search(r"fatal: \[|failed: \[|\[ERROR\]: Task failed", section) and "...ignoring" not in section:
            return section[:5000] + "\n[...]\n" + plain[-1500:]
    return plain[-6000:]


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario):
    rc, out = run_scenario(scenario)
    plain = re.sub(r"\x1b\[[0-9;]*m", "", out)
    assert rc == 0, failure_excerpt(plain)
    sequence = yaml.safe_load((ROOT / "molecule" / scenario / "molecule.yml").read_text())["scenario"]["test_sequence"]
    for step in [s for s in sequence if s in ("converge", "idempotence", "side_effect", "verify")]:
        assert re.search(rf"{step}: Executed: Successful", plain), f"{step} did not run: {plain[-3000:]}"
