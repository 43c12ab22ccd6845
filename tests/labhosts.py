"""Where the lab nodes are, read from the lab inventory (one source of truth)."""
import pathlib
import subprocess
import tempfile
import time

import testinfra
import yaml

ROOT = pathlib.Path(__file__).resolve().parent.parent
INVENTORY = ROOT / "inventories" / "lab"


def lab_nodes():
    """{inventory name: container name} for every lab node."""
    nodes = {}
    for f in sorted((INVENTORY / "host_vars").glob("*.yml")):
        data = yaml.safe_load(f.read_text()) or {}
        nodes[f.stem] = data["ansible_host"]
    return nodes


def node_host(name):
    """A testinfra host for the lab node, through `podman exec` (the podman:// backend)."""
    return testinfra.get_host("podman://" + lab_nodes()[name])


def wait_until(predicate, timeout, what, interval=1.0):
    """Poll predicate() until it returns a truthy value; fail with `what` after timeout seconds."""
    end = time.monotonic() + timeout
    last = None
    while time.monotonic() < end:
        last = predicate()
        if last:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what} (last: {last!r})")


def controller(cmd, check=True, timeout=900):
    """Run a command on the controller (this machine).

    Output goes through temporary files, not pipes: Podman hands its stdio down to conmon and
    to the containers it starts, which would hold a pipe open for their whole lifetime."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        rc = subprocess.run(cmd, shell=isinstance(cmd, str), stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                            timeout=timeout, cwd=ROOT).returncode
        out.seek(0)
        err.seek(0)
        res = subprocess.CompletedProcess(cmd, rc, out.read(), err.read())
    if check and res.returncode != 0:
        raise AssertionError(f"{cmd!r} failed rc={res.returncode}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return res
