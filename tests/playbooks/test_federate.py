"""playbooks/federate.yml on the lab: dry run changes nothing, a run federates both nodes both
ways, repairs arch2's Nostr identity and publishes each node's did:dht through a Pkarr relay
(npm pkarr + bittorrent-dht swarm, served on the lab network's gateway address), a second run
changes nothing."""
import json
import re
import sys
import pathlib

import pytest

from dhtpeers import Swarm
from labhosts import controller, node_host, node_rpc

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "collections"))
from ansible_collections.archipelago.node.plugins.module_utils import did_dht as dd  # noqa: E402
from ansible_collections.archipelago.node.plugins.module_utils import bep44
from ansible_collections.archipelago.node.plugins.module_utils import dht_codec
from ansible_collections.archipelago.node.plugins.module_utils import dns_wire

BIN = pathlib.Path(sys.executable).parent


@pytest.fixture(scope="module")
def relay():
    """A DHT swarm whose relay listens on the lab network's gateway, where the nodes reach it."""
    gateway = controller(["podman", "network", "inspect", "archy-lab", "--format",
                          "{{range .Subnets}}{{.Gateway}}{{end}}"]).stdout.strip()
    swarm = Swarm(relay_host=gateway)
    yield swarm
    swarm.stop()


def run(*args, relays=None):
    extra = ["-e", json.dumps({"federate_did_dht_relays": relays})] if relays else []
    res = controller([str(BIN / "ansible-playbook"), "playbooks/federate.yml", *extra, *args], check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    return dict(re.findall(r"^(arch\d)\s+: ok=\d+\s+changed=(\d+)", res.stdout, re.M)), res.stdout


def peers(node):
    return {p["name"]: p["trust_level"] for p in node_rpc(node_host(node), "federation.list-nodes")["result"]}


def test_federate_check_then_run_then_idempotent(relay):
    arch2 = node_host("arch2")
    marker = "/var/lib/archipelago/identity/nostr_revoked"
    keys = {n: node_rpc(node_host(n), "node.did")["result"]["pubkey"] for n in ("arch1", "arch2")}
    before = ({n: peers(n) for n in ("arch1", "arch2")}, arch2.file(marker).exists)
    run("--check", "--diff", relays=[relay.relay])
    assert ({n: peers(n) for n in ("arch1", "arch2")}, arch2.file(marker).exists) == before
    assert all(relay.client("get", k) is None for k in keys.values())      # check mode published nothing
    changed, out = run(relays=[relay.relay])
    assert peers("arch1") == {"arch2": "trusted"} and peers("arch2") == {"arch1": "trusted"}
    assert not arch2.file(marker).exists
    assert "archy1." not in out                       # no invite code in the output
    for node, key in keys.items():                  # each node's did:dht is on the swarm, signed by its key
        item = relay.client("get", key)
        assert item is not None, node
        pub, v = bytes.fromhex(key), bytes.fromhex(item["v"])
        assert bep44.ed25519_verify(pub, bytes.fromhex(item["sig"]), bep44.bep44_signable(item["seq"], v))
        doc, _ = dd.document_from_records(dht_codec.did_from_public(pub), dns_wire.decode_packet(v))
        assert doc["verificationMethod"][0]["publicKeyJwk"]["x"] == dht_codec.b64u(pub)
    changed, out = run(relays=[relay.relay])
    assert changed == {"arch1": "0", "arch2": "0"}, out[-3000:]
