"""archipelago.node.did_dht run by ansible-playbook against peers not written here, on loopback:
a Mainline DHT swarm of npm bittorrent-dht nodes and an npm pkarr relay (tests/dhtpeers.py).
The module publishes through the relay and the swarm's own KRPC client reads it back; records
stored by bittorrent-dht (packets encoded by npm dns-packet) are resolved by the module."""
import http.server
import pathlib
import socket
import sys
import threading
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dhtpeers import Swarm

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "collections"))
from ansible_collections.archipelago.node.plugins.module_utils import did_dht as dd  # noqa: E402
from ansible_collections.archipelago.node.plugins.module_utils import bep44
from ansible_collections.archipelago.node.plugins.module_utils import dht_codec
from ansible_collections.archipelago.node.plugins.module_utils import dns_wire

ONION = "http://2gzyxa5ihm7nsggfxnu52rck2vv4rvmdlkiu3zzui5du4xyclen53wid.onion"


@pytest.fixture(scope="module")
def swarm():
    s = Swarm()   # a fresh swarm per module: dead querier entries from other tests slow traversals
    yield s
    s.stop()


@pytest.fixture
def identity(tmp_path):
    return make_identity(tmp_path)


def make_identity(tmp_path):
    """A node identity key file (PKCS#8 PEM, 0600) and its seed, public key and DID."""
    key = Ed25519PrivateKey.generate()
    path = tmp_path / "ed25519.pem"
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                       serialization.NoEncryption()))
    path.chmod(0o600)
    seed = key.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption())
    pub = bep44.public_bytes(key)
    return {"path": str(path), "seed": seed.hex(), "pub": pub, "did": dht_codec.did_from_public(pub)}


def task(swarm, identity, info=False, **kw):
    """One task of did_dht, or of did_dht_info (which only reads) with info=True."""
    args = {"relays": [swarm.relay], "key_file": identity["path"], "retries": 1, **kw}
    module = "did_dht_info" if info else "did_dht"
    return {"name": module, "archipelago.node." + module: args}


def from_swarm(swarm, identity):
    """(seq, DID Document) as the swarm's KRPC client finds it, signature checked here."""
    item = swarm.client("get", identity["pub"].hex())
    assert item is not None, "the swarm has no item for the key"
    v = bytes.fromhex(item["v"])
    assert bep44.ed25519_verify(identity["pub"], bytes.fromhex(item["sig"]), bep44.bep44_signable(item["seq"], v))
    return item["seq"], dd.document_from_records(identity["did"], dns_wire.decode_packet(v))[0]


TOR = [{"id": "tor", "type": "TorHiddenService", "endpoints": [ONION]}]


def test_publish_read_back_by_the_swarm_then_idempotent(play, swarm, identity):
    before = int(time.time())
    rc, res, out = play([task(swarm, identity, services=TOR)])
    assert rc == 0, out
    r = res[0]
    assert r["changed"] and r["did"] == identity["did"] and r["reason"] == "not published on any relay"
    assert r["seq"] >= before and r["published_to"] == [swarm.relay]
    seq, doc = from_swarm(swarm, identity)
    assert seq == r["seq"] and doc == r["document"]
    assert doc["service"] == [{"id": identity["did"] + "#tor", "type": "TorHiddenService", "serviceEndpoint": [ONION]}]
    # the same again: read, nothing sent
    rc, res, out = play([task(swarm, identity, services=TOR)])
    assert rc == 0 and res[0]["changed"] is False and res[0]["reason"] == "up to date", out
    assert [c["method"] for c in res[0]["relay_calls"]] == ["GET"]
    assert from_swarm(swarm, identity)[0] == seq
    # the key never leaves the node: no part of it is in the output
    assert identity["seed"] not in out and identity["seed"][:16] not in out


def test_check_mode_diff_shows_a_change_and_sends_nothing(play, swarm, identity):
    assert play([task(swarm, identity, services=TOR)])[0] == 0
    seq = from_swarm(swarm, identity)[0]
    extra = TOR + [{"id": "web", "type": "LinkedDomains", "endpoints": ["https://node.example"]}]
    rc, res, out = play([task(swarm, identity, services=extra)], check=True, diff=True)
    assert rc == 0 and res[0]["changed"] and res[0]["reason"] == "the published DID Document differs", out
    assert "PUT" not in [c["method"] for c in res[0]["relay_calls"]]
    diff = res[0]["diff"]
    assert "LinkedDomains" in diff["after"] and "LinkedDomains" not in diff["before"]
    assert from_swarm(swarm, identity)[0] == seq


def test_resolves_a_record_stored_by_bittorrent_dht_and_refreshes_an_old_one(play, swarm, identity):
    packet = swarm.client("did-packet", identity["seed"], ONION)["v"]      # npm dns-packet, uncompressed
    old = int(time.time()) - 4000
    assert swarm.client("put", identity["seed"], old, packet)["stored"]
    rc, res, out = play([task(swarm, identity, info=True, did=identity["did"])])
    assert rc == 0, out
    r = res[0]
    assert r["seq"] == old and r["age"] >= 4000 and not r["deactivated"]
    assert r["document"]["service"][0]["serviceEndpoint"] == [ONION]
    assert r["document"]["verificationMethod"][0]["publicKeyJwk"]["x"] == dht_codec.b64u(identity["pub"])
    # the same content, but older than the refresh interval: signed again with a newer seq
    rc, res, out = play([task(swarm, identity, services=TOR)])
    assert rc == 0 and res[0]["changed"], out
    assert res[0]["reason"].startswith("published 4") and res[0]["seq"] > old
    assert from_swarm(swarm, identity)[0] == res[0]["seq"]


def test_deactivate_then_idempotent(play, swarm, identity):
    assert play([task(swarm, identity, services=TOR)])[0] == 0
    rc, res, out = play([task(swarm, identity, state="absent")])
    assert rc == 0 and res[0]["changed"] and res[0]["deactivated"], out
    assert from_swarm(swarm, identity)[1] is None
    rc, res, out = play([task(swarm, identity, state="absent"),
                         task(swarm, identity, info=True),
                         task(swarm, identity, state="resolved")])
    assert rc == 0 and res[0]["changed"] is False and res[1]["deactivated"] is True, out
    # the old read state still answers the same, and says it is deprecated
    assert res[2]["deactivated"] is True and res[2]["changed"] is False
    assert any("did_dht_info" in d["msg"] for d in res[2].get("deprecations", [])), res[2]


class TamperingRelay(http.server.BaseHTTPRequestHandler):
    """Answers GET with a real signed record whose last byte is flipped."""
    body = b""

    def do_GET(self):  # noqa: N802
        self.send_response(200)
        self.end_headers()
        self.wfile.write(self.body)

    def log_message(self, *args):
        pass


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bad_inputs_fail_clearly_and_publish_nothing(play, swarm, identity, tmp_path):
    other = Ed25519PrivateKey.generate()
    other_did = dht_codec.did_from_public(bep44.public_bytes(other))
    many = [{"id": "s%d" % i, "type": "LinkedDomains", "endpoints": ["https://node-%02d.example.org/archipelago" % i]}
            for i in range(20)]
    cases = [
        (task(swarm, identity, did=other_did), "is not this node's"),
        (task(swarm, identity, info=True, did="did:dht:" + "v" * 52), "invalid public key"),
        (task(swarm, identity, info=True, key_file="/dev/zero"), "is not a regular file"),
        (task(swarm, identity, services=many), "976"),
        (task(swarm, identity, keys=[{"jwk": {"kty": "RSA", "n": "AQAB", "e": "AQAB"}}]), "unknown key type"),
        (task(swarm, identity, relays=["relay.example:6881"]), "is not an http(s) URL"),
        (task(swarm, identity, relays=["http://127.0.0.1:%d/" % free_port()]), "failed after 2 attempts"),
        (task(swarm, identity, key_file=str(tmp_path / "missing.pem")), "cannot read the identity key"),
        (task(swarm, identity, types=[9]), "type indexes 0..7"),
    ]
    for t, message in cases:
        rc, res, out = play([t])
        r = res[0]
        assert rc != 0 and r.get("failed"), (message, out)
        assert message in r["msg"] and "Traceback" not in out, (message, r["msg"])
        assert not any(c["method"] == "PUT" for c in r.get("relay_calls", [])), message
    assert swarm.client("get", identity["pub"].hex()) is None        # nothing of this key was ever stored

    # a record altered on its way (a relay that flips a byte) is refused
    key = bep44.load_signing_key(pathlib.Path(identity["path"]).read_bytes())
    _, TamperingRelay.body = bep44.sign_packet(key, int(time.time()), dns_wire.encode_packet(dd.records_for(identity["pub"])))
    TamperingRelay.body = TamperingRelay.body[:-1] + bytes([TamperingRelay.body[-1] ^ 1])
    server = http.server.HTTPServer(("127.0.0.1", 0), TamperingRelay)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        rc, res, out = play([task(swarm, identity, info=True,
                                  relays=["http://127.0.0.1:%d/" % server.server_port])])
    finally:
        server.shutdown()
    assert rc != 0 and "does not verify" in res[0]["msg"], out


def test_a_key_file_readable_by_others_is_warned_about(play, swarm, identity):
    pathlib.Path(identity["path"]).chmod(0o644)
    rc, res, out = play([task(swarm, identity, services=TOR)], check=True)
    assert rc == 0 and any("should be 0600" in w for w in res[0].get("warnings", [])), out


def test_a_new_did_names_the_one_it_replaces_with_the_old_keys_proof(play, swarm, identity, tmp_path):
    old = Ed25519PrivateKey.generate()
    old_path = tmp_path / "ed25519.pem.old"
    old_path.write_bytes(old.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    old_path.chmod(0o600)
    old_did = dht_codec.did_from_public(bep44.public_bytes(old))
    # previous.did that is not the old key's: refused before anything is sent
    rc, res, out = play([task(swarm, identity, previous={"did": identity["did"], "key_file": str(old_path)})])
    assert rc != 0 and "is the key of %s, not of previous.did" % old_did in res[0]["msg"], out
    assert not any(c["method"] == "PUT" for c in res[0].get("relay_calls", []))
    rc, res, out = play([task(swarm, identity, previous={"did": old_did, "key_file": str(old_path)}),
                         task(swarm, identity, info=True)])
    assert rc == 0 and res[0]["changed"] and res[1]["previous_did"] == old_did, out
    assert '_prv._did. 7200 IN TXT "id=%s;s=' % old_did in res[1]["records"]
    # the old key is read, never shown
    seed = old.private_bytes(serialization.Encoding.Raw, serialization.PrivateFormat.Raw,
                             serialization.NoEncryption()).hex()
    assert seed[:16] not in out


def test_a_record_older_than_max_age_is_not_taken(play, swarm, identity):
    packet = swarm.client("did-packet", identity["seed"], ONION)["v"]
    old = int(time.time()) - 8 * 86400
    assert swarm.client("put", identity["seed"], old, packet)["stored"]
    rc, res, out = play([task(swarm, identity, info=True)])
    assert rc != 0 and "expired" in res[0]["msg"] and "more than max_age 604800 s" in res[0]["msg"], out
    rc, res, out = play([task(swarm, identity, info=True, max_age=0)])
    assert rc == 0 and res[0]["age"] >= 8 * 86400, out
