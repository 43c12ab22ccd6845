"""archipelago.node.did_dht and did_dht_info against web5's did:dht (npm @web5/dids 1.2.0, not
written here), both directions, through an npm pkarr relay in front of a bittorrent-dht swarm on
loopback (tests/dhtpeers.py):
  - what the module publishes, web5 resolves to the same document, every verification
    relationship included, for each key type web5 reads (Ed25519, secp256k1, X25519);
  - what web5 creates and publishes, the module resolves to web5's document, for each key type
    web5 can make (Ed25519, secp256k1: its key manager makes no X25519 key).
P-256 keys are left out: web5 1.2.0 has no converter for its own name of the curve (secp256r1), so
it resolves no DID that holds one, ours or its own."""
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, x25519
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from dhtpeers import Swarm, web5

import test_did_dht_interop as base
from test_did_dht_interop import ONION, task

RELATIONSHIPS = ("authentication", "assertionMethod", "keyAgreement", "capabilityInvocation", "capabilityDelegation")


@pytest.fixture(scope="module")
def swarm():
    s = Swarm()
    yield s
    s.stop()


identity = base.identity


def raw(public_key):
    return public_key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def jwks():
    """Public JWKs of fresh keys of each further type web5 reads."""
    b64u = base.dht_codec.b64u
    xk = x25519.X25519PrivateKey.generate().public_key()
    ek = Ed25519PrivateKey.generate().public_key()
    kk = ec.generate_private_key(ec.SECP256K1()).public_key().public_numbers()
    return {
        "X25519": {"kty": "OKP", "crv": "X25519", "x": b64u(raw(xk))},
        "Ed25519": {"kty": "OKP", "crv": "Ed25519", "x": b64u(raw(ek))},
        "secp256k1": {"kty": "EC", "crv": "secp256k1", "x": b64u(kk.x.to_bytes(32, "big")),
                      "y": b64u(kk.y.to_bytes(32, "big"))},
    }


def essence(doc):
    """What both sides must agree on: methods (id, controller, key coordinates), relationships,
    services, controller and alsoKnownAs. JWK extras (alg, kid) are left out (G11)."""
    methods = sorted((m["id"], m["controller"], m["publicKeyJwk"]["crv"], m["publicKeyJwk"]["x"],
                      m["publicKeyJwk"].get("y")) for m in doc.get("verificationMethod", []))
    return {"id": doc["id"], "methods": methods,
            "relationships": {r: sorted(doc.get(r, [])) for r in RELATIONSHIPS},
            "services": sorted((s["id"], s["type"], tuple(s["serviceEndpoint"] if isinstance(s["serviceEndpoint"], list)
                                                          else [s["serviceEndpoint"]]))
                               for s in doc.get("service", [])),
            "controller": doc.get("controller"), "alsoKnownAs": doc.get("alsoKnownAs")}


def test_web5_resolves_what_the_module_publishes_with_every_relationship(play, swarm, identity):
    keys = jwks()
    options = dict(
        services=[{"id": "tor", "type": "TorHiddenService", "endpoints": [ONION]},
                  {"id": "dwn", "type": "DecentralizedWebNode", "endpoints": ["http://a.onion/dwn", "http://b.onion/dwn"]}],
        keys=[{"id": "enc", "jwk": keys["X25519"], "purposes": ["keyAgreement"]},
              {"jwk": keys["secp256k1"], "purposes": ["authentication", "assertionMethod"]},
              {"id": "sig", "jwk": keys["Ed25519"], "purposes": ["assertionMethod", "capabilityInvocation"]}],
        types=[1, 6], also_known_as=["https://node.example"])
    rc, res, out = play([task(swarm, identity, **options)])
    assert rc == 0 and res[0]["changed"], out
    ours = res[0]["document"]
    got = web5("resolve", swarm.relay, identity["did"])
    assert got["didResolutionMetadata"] == {}, got
    theirs = got["didDocument"]
    assert essence(theirs) == essence(ours)
    # every relationship is there, not only the method list (the root-first packet lost them all)
    assert theirs["keyAgreement"] == [identity["did"] + "#enc"]
    assert len(theirs["authentication"]) == 2 and len(theirs["assertionMethod"]) == 3
    assert got["didDocumentMetadata"]["types"] == [1, 6]
    assert got["didDocumentMetadata"]["versionId"] == str(res[0]["seq"])


@pytest.mark.parametrize("methods", [
    [],
    [{"algorithm": "secp256k1", "purposes": ["assertionMethod", "authentication"]},
     {"algorithm": "Ed25519", "id": "sig", "purposes": ["capabilityDelegation", "keyAgreement"]}],
], ids=["identity-key-only", "every-key-type"])
def test_the_module_resolves_what_web5_publishes(play, swarm, identity, methods):
    before = int(time.time())
    made = web5("create", swarm.relay, json.dumps({
        "verificationMethods": methods, "types": [7],
        "services": [{"id": "tor", "type": "TorHiddenService", "serviceEndpoint": [ONION]}]}))
    rc, res, out = play([task(swarm, identity, info=True, did=made["uri"])])
    assert rc == 0, out
    r = res[0]
    assert essence(r["document"]) == essence(made["document"])
    assert r["types"] == [7] and r["seq"] >= before and r["deactivated"] is False
    assert [x["status"] for x in r["relays"]] == ["found"]
