"""playbooks/federate.yml on the lab: dry run changes nothing, a run federates both nodes both
ways, repairs arch2's Nostr identity and publishes each node's did:dht through a Pkarr relay
(npm pkarr + bittorrent-dht swarm, served on the lab network's gateway address), a second run
changes nothing. Each node's Nostr presence is on the lab's relay (nostr-relay), as nostr-tools
reads and verifies it, and the other node discovers it. Each node keeps a Verifiable Credential from the other (VC-02) that web5's
credentials library (npm @web5/credentials, not written here) verifies through the same relay."""
import json
import re
import sys
import pathlib

import pytest

from dhtpeers import Swarm, lab_nostr_relay, nostr_tools, web5
from labhosts import changed, controller, node_host, node_rpc

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
    return changed(res.stdout), res.stdout


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
    # VC-02: each node holds the other's credential that it is a trusted peer, verified by web5
    dids = {n: dht_codec.did_from_public(bytes.fromhex(k)) for n, k in keys.items()}
    for node, other in (("arch1", "arch2"), ("arch2", "arch1")):
        kept = node_host(node).file("/var/lib/archipelago/credentials/received/%s.jwt" % dids[other][8:])
        assert kept.mode == 0o644, node
        cred = web5("verify-vc", relay.relay, kept.content_string.strip())
        assert cred["issuer"] == dids[other] and cred["subject"] == dids[node]
        subject = cred["vc"]["credentialSubject"]
        assert subject["trustedPeerOf"] == dids[other] and re.match(r"^\d{4}-\d\d-\d\d$", subject["establishedOn"])
        assert "ArchipelagoTrustedPeer" in cred["vc"]["type"]
    sync = out.split("TASK [A state sync from this node answers from every other node]", 1)[1].split("TASK [", 1)[0]
    assert "ok: [arch1] => (item=did:key:" in sync and "ok: [arch2] => (item=did:key:" in sync, sync
    for node in ("arch1", "arch2"):                 # SCHEMA-02: the four protocols on each node
        listed = node_rpc(node_host(node), "dwn.list-protocols")["result"]
        assert sorted(e["protocol"].rsplit("/", 2)[1] for e in listed) == [
            "app-deployment", "federation-state", "file-catalog", "node-identity"], node
    # STAB-05 / US-06: each node's presence is on the lab's Nostr relay, as nostr-tools reads it
    nostr_relay = lab_nostr_relay()
    for node in ("arch1", "arch2"):
        host = node_host(node)
        npub = node_rpc(host, "node.nostr-pubkey")["result"]["nostr_pubkey"]
        got = nostr_tools("fetch", nostr_relay, {"kinds": [30078], "authors": [npub], "#d": ["archipelago-node"]})
        assert len(got["events"]) == 1 and got["verified"] == [True], (node, got)
        content = json.loads(got["events"][0]["content"])
        onions = [s["onion"] for s in node_rpc(host, "tor.list-services")["result"] if s["name"] == "archipelago"]
        assert content["did"] == dids[node] and content["node_address"] == onions[0], (node, content)
        found = node_rpc(node_host("arch2" if node == "arch1" else "arch1"), "node.nostr-discover")["result"]
        assert npub in [n["nostr_pubkey"] for n in found["nodes"]], (node, found)
    changed, out = run(relays=[relay.relay])
    assert changed == {"arch1": 0, "arch2": 0}, out[-3000:]


def test_vc04_credential_flow_ten_rounds_each_way(relay):
    """VC-04: issue on one node to the other's did:dht, verify on the holder, present to the
    issuer, verify the presentation on the issuer; 10 rounds each way (80 checks)."""
    args = ["-e", json.dumps({"federate_did_dht_relays": [relay.relay], "credentials_rounds": 10})]
    res = controller([str(BIN / "ansible-playbook"), "playbooks/credentials_check.yml", *args], check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    for node in ("arch1", "arch2"):
        assert "VC-04 %s: 40 checks passed" % node in res.stdout, res.stdout[-3000:]
        assert not node_host(node).file("/run/archipelago-credentials-check").exists
    # without the DIDs on the relays nothing verifies: the drill fails and says where
    gateway = relay.relay.rsplit(":", 1)[0]
    args = ["-e", json.dumps({"federate_did_dht_relays": [gateway + ":1/"], "credentials_rounds": 1})]
    res = controller([str(BIN / "ansible-playbook"), "playbooks/credentials_check.yml", *args], check=False)
    assert res.returncode != 0 and "did_dht_info" in res.stdout and "failed after" in res.stdout, res.stdout[-3000:]
