"""Where the lab nodes are, read from the lab inventory (one source of truth)."""
import json
import os
import pathlib
import re
import subprocess
import sys
import tempfile
import time

import testinfra

ROOT = pathlib.Path(__file__).resolve().parent.parent
COLLECTION = ROOT / "collections" / "ansible_collections" / "archipelago" / "node"
# The venv's ansible-playbook and friends, beside the Python that runs the tests.
BIN = pathlib.Path(sys.executable).parent
INVENTORY = ROOT / "inventories" / "lab"
LAB_API = ROOT / "lab" / "api" / "archipelago"


CACHE = pathlib.Path(os.environ.get("ARCHY_CACHE") or "/var/cache/archipelago-lab")
SSH_DIR = CACHE / "ssh"     # lab/lab: the deploy key, known_hosts


def inventory_hosts(inventory=INVENTORY, group="all"):
    """{name: hostvars} for the hosts of `group` in an Ansible inventory, each variable templated as
    Ansible would (the lab inventory computes its key and known_hosts paths); one that cannot be
    templated on its own is left as written."""
    from ansible.inventory.manager import InventoryManager
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader
    from ansible.template import Templar
    from ansible.vars.manager import VariableManager
    init_plugin_loader([])
    loader = DataLoader()
    inv = InventoryManager(loader=loader, sources=[str(inventory)])
    manager = VariableManager(loader=loader, inventory=inv)
    hosts = {}
    for host in inv.get_hosts(group):
        raw = manager.get_vars(host=host, include_hostvars=False)
        templar = Templar(loader=loader, variables=raw)
        rendered = {}
        for key, value in raw.items():
            try:
                rendered[key] = templar.template(value)
            except Exception:  # noqa: BLE001 - a variable that needs a play's context stays raw
                rendered[key] = value
        hosts[host.name] = rendered
    return hosts


def ssh_host(hostvars):
    """A testinfra host reached the way Ansible reaches it with these (templated) host variables:
    SSH as ansible_user with the inventory's key and SSH arguments, sudo when ansible_become, one
    multiplexed connection per node."""
    user, address = hostvars.get("ansible_user"), hostvars.get("ansible_host")
    spec = "ssh://" + (f"{user}@" if user else "") + str(address)
    if hostvars.get("ansible_port"):
        spec += f":{hostvars['ansible_port']}"
    extra = " ".join(str(hostvars.get(k) or "") for k in ("ansible_ssh_common_args", "ansible_ssh_extra_args"))
    control = pathlib.Path("~/.ansible/cp").expanduser()     # where Ansible keeps its own sockets
    control.mkdir(mode=0o700, parents=True, exist_ok=True)
    extra += f" -o ControlMaster=auto -o ControlPersist=120s -o ControlPath={control}/testinfra-%C"
    return testinfra.get_host(spec, ssh_identity_file=hostvars.get("ansible_ssh_private_key_file"),
                              ssh_extra_args=extra.strip(), sudo=bool(hostvars.get("ansible_become")),
                              sudo_user=hostvars.get("ansible_become_user"))


_LAB = {}


def lab_hostvars(name):
    """The lab inventory's (templated) variables of a lab node."""
    if not _LAB:
        _LAB.update(inventory_hosts(INVENTORY))
    return _LAB[name]


def lab_nodes():
    """{inventory name: container name} for the lab inventory's nodes (group archipelago)."""
    return {name: node_container(name) for name in sorted(inventory_hosts(INVENTORY, "archipelago"))}


def node_address(name):
    """The lab node's address on the lab network (its ansible_host)."""
    return lab_hostvars(name)["ansible_host"]


def node_container(name):
    """The Podman container of a lab node, for the lab's own plumbing (lab/lab names it so)."""
    return f"archy-lab-{name}"


def node_host(name):
    """A testinfra host for the lab node, reached as production's are: SSH as the deploy user, sudo."""
    return ssh_host(lab_hostvars(name))


def lab_ssh_vars(address):
    """Ansible connection variables for a lab node at `address` outside the lab inventory (a test's
    own node): the lab's deploy key and known_hosts, as inventories/lab sets them."""
    return {"ansible_host": address, "ansible_connection": "ssh", "ansible_user": "archipelago",
            "ansible_become": True, "ansible_python_interpreter": "/usr/bin/python3",
            "ansible_ssh_private_key_file": str(SSH_DIR / "id_ed25519"),
            "ansible_ssh_common_args": f"-o UserKnownHostsFile={SSH_DIR / 'known_hosts'} "
                                       "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"}


def free_port():
    """A TCP port on loopback that nothing listens on right now."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


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


def controller(cmd, check=True, timeout=900, env_extra=None):
    """Run a command on the controller (this machine).

    Output goes through temporary files, not pipes: Podman hands its stdio down to conmon and
    to the containers it starts, which would hold a pipe open for their whole lifetime."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        env = dict(os.environ, **env_extra) if env_extra else None
        rc = subprocess.run(cmd, shell=isinstance(cmd, str), stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                            timeout=timeout, cwd=ROOT, env=env).returncode
        out.seek(0)
        err.seek(0)
        res = subprocess.CompletedProcess(cmd, rc, out.read(), err.read())
    if check and res.returncode != 0:
        raise AssertionError(f"{cmd!r} failed rc={res.returncode}\n{res.stdout[-2000:]}\n{res.stderr[-2000:]}")
    return res


RECAP = re.compile(r"(?<!\S)([\w.-]+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)")


def recap(text):
    """{host: {ok, changed, unreachable, failed}} (ints) from ansible-playbook's PLAY RECAP, the last
    recap of each host; the text may have its whitespace collapsed."""
    return {host: dict(zip(("ok", "changed", "unreachable", "failed"), map(int, counts)))
            for host, *counts in RECAP.findall(text)}


def changed(text):
    """{host: changed} from ansible-playbook's PLAY RECAP."""
    return {host: counts["changed"] for host, counts in recap(text).items()}


def podman_json(*args):
    """The JSON that `podman <args>` prints on the controller."""
    return json.loads(controller(["podman", *args]).stdout)


def lab_containers():
    """{name: podman ps entry} of the lab's own containers on the controller (nodes, registry, ...)."""
    return {c["Names"][0]: c for c in podman_json("ps", "-a", "--filter", "label=io.archipelago.lab", "--format", "json")}



def lab_gateway():
    """The controller's address on the lab network (the nodes reach it there)."""
    out = controller(["podman", "network", "inspect", "archy-lab", "--format",
                      "{{range .Subnets}}{{.Gateway}}{{end}}"]).stdout.strip()
    assert out.count(".") == 3, out
    return out

def task_sections(text):
    """[(task name, its output)] of ansible-playbook output (plain or as Molecule prints it), each
    from its TASK header up to the next TASK header or PLAY RECAP."""
    marks = [(m.start(), m.group(1)) for m in re.finditer(r"TASK \[([^\]]*)\]|PLAY RECAP", text)]
    ends = [start for start, _ in marks[1:]] + [len(text)]
    return [(name, text[start:end]) for (start, name), end in zip(marks, ends) if name is not None]


def node_rpc(host, method, params=None, url="http://127.0.0.1/rpc/v1",
             password_file="/etc/archipelago/admin-password", jar="/root/.lab-rpc-cookies"):
    """Call the node's backend from inside the node (through its nginx) as an operator would
    with curl: the session cookies are kept in a jar on the node, and a login with the node's
    admin password file (a path on the node) happens only when there is no valid session (the
    backend allows five logins a minute)."""
    import json
    import shlex
    body = json.dumps({"method": method, "params": params or {}})
    call = (f"curl -s -w '\\n%{{http_code}}' -b {jar} -H 'Content-Type: application/json' "
            f"-H \"X-CSRF-Token: $(awk '$6==\"csrf_token\"{{print $7}}' {jar} 2>/dev/null)\" "
            f"--data-binary {shlex.quote(body)} {url}")
    for attempt in (1, 2):
        out = host.check_output(call)
        text, _, status = out.rpartition("\n")
        if status not in ("401", "403") or attempt == 2:
            return json.loads(text)
        host.check_output(
            f"python3 -c 'import json; print(json.dumps({{\"method\":\"auth.login\",\"params\":"
            f"{{\"password\":open(\"{password_file}\").read().strip()}}}}))' "
            f"| curl -sf -c {jar} -H 'Content-Type: application/json' --data-binary @- {url} >/dev/null")


def onion_fetch(host, onion, path="/", timeout=150, max_time=30, curl_args=""):
    """What `onion` answers at `path` (HTTP 2xx/3xx) through the node's own Tor SOCKS port, asking
    again until `timeout` s have passed (no attempt outlasts them). A fresh onion service takes a
    while to be published, and on a loaded machine Tor refuses a request at once now and then (its
    circuit builds time out; README, "The lab's Tor network"). `curl_args` go to each curl (a
    method, a body). The failure counts each curl error and ends with the Tor log."""
    errors, end = {}, time.monotonic() + timeout

    def attempt():
        budget = max(1, min(max_time, round(end - time.monotonic())))
        res = host.run(f"curl -sSf -m {budget} {curl_args} --socks5-hostname 127.0.0.1:9050 http://{onion}{path}")
        if res.rc == 0:
            return res.stdout or " "
        err = f"rc={res.rc} {res.stderr.strip()}"
        errors[err] = errors.get(err, 0) + 1
        return None
    try:
        return wait_until(attempt, timeout, f"{onion}{path} to answer through Tor")
    except AssertionError as exc:
        log = host.run("podman logs --tail 15 archy-tor 2>&1").stdout
        raise AssertionError(f"{exc}\ncurl (error: times): {errors}\nTor log (last lines):\n{log}") from None
