"""playbooks/federate.yml on the lab: dry run changes nothing, a run federates both nodes both
ways and repairs arch2's Nostr identity, a second run changes nothing."""
import re
import sys
import pathlib

from labhosts import controller, node_host, node_rpc

BIN = pathlib.Path(sys.executable).parent


def run(*args):
    res = controller([str(BIN / "ansible-playbook"), "playbooks/federate.yml", *args], check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    return dict(re.findall(r"^(arch\d)\s+: ok=\d+\s+changed=(\d+)", res.stdout, re.M)), res.stdout


def peers(node):
    return {p["name"]: p["trust_level"] for p in node_rpc(node_host(node), "federation.list-nodes")["result"]}


def test_federate_check_then_run_then_idempotent():
    arch2 = node_host("arch2")
    marker = "/var/lib/archipelago/identity/nostr_revoked"
    before = ({n: peers(n) for n in ("arch1", "arch2")}, arch2.file(marker).exists)
    run("--check", "--diff")
    assert ({n: peers(n) for n in ("arch1", "arch2")}, arch2.file(marker).exists) == before
    changed, out = run()
    assert peers("arch1") == {"arch2": "trusted"} and peers("arch2") == {"arch1": "trusted"}
    assert not arch2.file(marker).exists
    assert "archy1." not in out                       # no invite code in the output
    changed, out = run()
    assert changed == {"arch1": "0", "arch2": "0"}, out[-3000:]
