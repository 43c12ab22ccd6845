"""The healthy suite's `node` fixture: each lab node in turn, and CRASH-05 around a file's tests."""
import pytest

from healthy_nodes import BOTH, snapshot
from labhosts import node_host


@pytest.fixture(scope="module", params=BOTH)
def node(request):
    host = node_host(request.param)
    first = snapshot(host)
    yield request.param, host
    # CRASH-05: nothing restarted or was replaced while this node's tests ran.
    assert snapshot(host) == first, f"something restarted on {request.param} during the healthy suite"
