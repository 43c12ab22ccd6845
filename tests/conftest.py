import sys
import pathlib

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent))

import pytest  # noqa: E402

from labapi import Instance  # noqa: E402


@pytest.fixture
def spawn_api(tmp_path):
    """spawn_api(name, env) starts a lab node API instance on a free loopback port."""
    started = []

    def start(name="node", env=None):
        inst = Instance(tmp_path, name, env)
        started.append(inst)
        return inst
    yield start
    for inst in started:
        inst.stop()
