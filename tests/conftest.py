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


# Each suite's duration (tests/<suite>/...), printed at the end of the run: setup, call and
# teardown of its tests, fixtures included.
_SUITE_SECONDS = {}


def pytest_runtest_logreport(report):
    parts = pathlib.Path(report.fspath).resolve().relative_to(pathlib.Path(__file__).resolve().parent).parts
    suite = parts[0] if len(parts) > 1 else "."
    _SUITE_SECONDS[suite] = _SUITE_SECONDS.get(suite, 0.0) + report.duration


def pytest_terminal_summary(terminalreporter):
    if _SUITE_SECONDS:
        terminalreporter.write_sep("-", "suite durations")
        for suite, seconds in sorted(_SUITE_SECONDS.items(), key=lambda kv: -kv[1]):
            terminalreporter.write_line(f"{suite:12s} {seconds:7.1f} s  ({seconds / 60:.1f} min)")
