"""The Molecule scenarios under molecule/, each a full `molecule test` (create, prepare,
converge, idempotence, side effect, verify, destroy) on its own lab node."""
import pathlib
import sys

import pytest

from labhosts import ROOT, controller

BIN = pathlib.Path(sys.executable).parent
SCENARIOS = sorted(p.parent.name for p in (ROOT / "molecule").glob("*/molecule.yml"))


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_molecule_scenario(scenario):
    res = controller([str(BIN / "molecule"), "test", "-s", scenario], check=False, timeout=2400,
                     env_extra={"PATH": f"{BIN}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"})
    out = res.stdout + res.stderr
    assert res.returncode == 0, out[-6000:]
    # the sequence really ran its steps
    for step in ("converge", "idempotence", "side_effect", "verify"):
        assert f"{step}" in out, step
