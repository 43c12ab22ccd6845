"""Verifiable Credentials and Presentations as JWTs (module_utils/vc.py): issue, present and
verify against DID Documents given in memory; every way a token can be wrong is a CredentialError."""
import base64
import json
import random

import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, utils
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ansible_collections.archipelago.node.plugins.module_utils import bep44, dht_codec
from ansible_collections.archipelago.node.plugins.module_utils import vc

NOW = 1800000000


def node():
    key = Ed25519PrivateKey.generate()
    pub = bep44.public_bytes(key)
    did = dht_codec.did_from_public(pub)
    doc = {"id": did, "verificationMethod": [{"id": did + "#0", "type": "JsonWebKey", "controller": did,
                                              "publicKeyJwk": {"kty": "OKP", "crv": "Ed25519", "x": dht_codec.b64u(pub)}}],
           "authentication": [did + "#0"], "assertionMethod": [did + "#0"]}
    return key, did, doc


@pytest.fixture
def pair():
    a, b = node(), node()
    docs = {a[1]: a[2], b[1]: b[2]}
    return a, b, docs


def resolver(docs):
    return lambda did: docs[did]


def b64(obj):
    return base64.urlsafe_b64encode(json.dumps(obj).encode()).rstrip(b"=").decode()


def test_issue_and_verify_round_trip_with_a_stable_id(pair):
    (ka, da, dummy_a), (kb, db, dummy_b), docs = pair
    claims = {"trustedPeerOf": da, "establishedOn": "2026-12-01"}
    token = vc.issue(ka, da, db, ["ArchipelagoTrustedPeer"], claims, NOW, NOW + 86400)
    cred = vc.verify_credential(token, resolver(docs), NOW + 10, subject=db, issuer=da)
    assert cred["issuer"] == da and cred["subject"] == db and cred["claims"] == claims
    assert cred["types"] == ["ArchipelagoTrustedPeer"] and cred["expires"] == "2027-01-16T08:00:00Z"
    assert cred["issued"] == vc.xml_date(NOW) and cred["id"].startswith("urn:uuid:")
    again = vc.issue(ka, da, db, ["ArchipelagoTrustedPeer"], claims, NOW + 99, NOW + 86499)
    assert vc.verify_credential(again, resolver(docs), NOW + 100)["id"] == cred["id"]
    other = vc.issue(ka, da, db, ["ArchipelagoTrustedPeer"], dict(claims, establishedOn="2026-12-02"), NOW, NOW + 86400)
    assert vc.verify_credential(other, resolver(docs), NOW)["id"] != cred["id"]
    with pytest.raises(vc.CredentialError, match="not about"):
        vc.verify_credential(token, resolver(docs), NOW, subject=da)
    with pytest.raises(vc.CredentialError, match="not by"):
        vc.verify_credential(token, resolver(docs), NOW, issuer=db)


def test_altered_forged_or_misattributed_tokens_are_refused(pair):
    (ka, da, doc_a), (kb, db, dummy_b), docs = pair
    token = vc.issue(ka, da, db, [], {"level": 1}, NOW, NOW + 3600)
    h, p, s = token.split(".")
    payload = json.loads(base64.urlsafe_b64decode(p + "=="))
    payload["vc"]["credentialSubject"]["level"] = 2
    with pytest.raises(vc.CredentialError, match="does not verify"):
        vc.verify_credential("%s.%s.%s" % (h, b64(payload), s), resolver(docs), NOW)
    # signed by b but claiming a as issuer
    with pytest.raises(vc.CredentialError, match="its iss is"):
        vc.verify_credential(vc.jws_sign(kb, {"kid": db + "#0"}, dict(payload, iss=da)), resolver(docs), NOW)
    # a key that is not in assertionMethod may not issue
    docs[da] = dict(doc_a, assertionMethod=[])
    with pytest.raises(vc.CredentialError, match="not in .*assertionMethod"):
        vc.verify_credential(token, resolver(docs), NOW)
    docs[da] = None
    with pytest.raises(vc.CredentialError, match="deactivated"):
        vc.verify_credential(token, resolver(docs), NOW)
    docs[da] = doc_a
    # alg none, an unknown kid, a vc claim that does not match the JWT claims
    with pytest.raises(vc.CredentialError, match="this verifier takes"):
        vc.verify_credential("%s.%s." % (b64({"alg": "none", "kid": da + "#0"}), p), resolver(docs), NOW)
    with pytest.raises(vc.CredentialError, match="not a did:dht verification method"):
        vc.verify_credential(vc.jws_sign(ka, {"kid": "did:key:z6Mk#0"}, payload), resolver(docs), NOW)
    with pytest.raises(vc.CredentialError, match="issuer .* is not its signer"):
        bad = json.loads(json.dumps(payload))
        bad["vc"]["issuer"] = db
        vc.verify_credential(vc.jws_sign(ka, {"kid": da + "#0"}, bad), resolver(docs), NOW)
    with pytest.raises(vc.CredentialError, match="nbf is not the credential's issuanceDate"):
        bad = json.loads(json.dumps(payload))
        bad["vc"]["issuanceDate"] = vc.xml_date(NOW - 86400)
        vc.verify_credential(vc.jws_sign(ka, {"kid": da + "#0"}, bad), resolver(docs), NOW)
    with pytest.raises(vc.CredentialError, match="not an XML Schema dateTime"):
        bad["vc"]["issuanceDate"] = "yesterday"
        vc.verify_credential(vc.jws_sign(ka, {"kid": da + "#0"}, bad), resolver(docs), NOW)
    with pytest.raises(vc.CredentialError, match="sub is not"):
        vc.verify_credential(vc.jws_sign(ka, {"kid": da + "#0"}, dict(payload, sub=da)), resolver(docs), NOW)


def test_dates_are_enforced(pair):
    (ka, da, dummy_a), (kb, db, dummy_b), docs = pair
    token = vc.issue(ka, da, db, [], {}, NOW, NOW + 3600)
    assert vc.verify_credential(token, resolver(docs), NOW + 3600 + 299)
    with pytest.raises(vc.CredentialError, match="expired"):
        vc.verify_credential(token, resolver(docs), NOW + 3600 + 301)
    with pytest.raises(vc.CredentialError, match="valid only from"):
        vc.verify_credential(token, resolver(docs), NOW - 301)
    with pytest.raises(vc.CredentialError, match="expire after"):
        vc.issue(ka, da, db, [], {}, NOW, NOW)


def test_es256k_and_es256_issuers_verify():
    ed, did, doc = node()
    for alg, curve, crv in (("ES256K", ec.SECP256K1(), "secp256k1"), ("ES256", ec.SECP256R1(), "P-256")):
        key = ec.generate_private_key(curve)
        n = key.public_key().public_numbers()
        kid = did + "#" + alg.lower()
        d = dict(doc, assertionMethod=[kid], verificationMethod=doc["verificationMethod"] + [{
            "id": kid, "type": "JsonWebKey", "controller": did, "publicKeyJwk": {
                "kty": "EC", "crv": crv, "x": dht_codec.b64u(n.x.to_bytes(32, "big")),
                "y": dht_codec.b64u(n.y.to_bytes(32, "big"))}}])
        payload = {"iss": did, "sub": did, "vc": {"@context": [vc.VC_CONTEXT], "type": ["VerifiableCredential"],
                                                  "issuer": did, "credentialSubject": {"id": did}}}
        signing_input = "%s.%s" % (b64({"alg": alg, "kid": kid}), b64(payload))
        r, s = utils.decode_dss_signature(key.sign(signing_input.encode(), ec.ECDSA(hashes.SHA256())))
        token = signing_input + "." + dht_codec.b64u(r.to_bytes(32, "big") + s.to_bytes(32, "big"))
        assert vc.verify_credential(token, lambda x: d, NOW)["issuer"] == did
        with pytest.raises(vc.CredentialError, match="does not verify"):
            vc.verify_credential(token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB"), lambda x: d, NOW)


def test_presentations(pair):
    (ka, da, dummy_a), (kb, db, doc_b), docs = pair
    cred = vc.issue(ka, da, db, ["ArchipelagoTrustedPeer"], {"trustedPeerOf": da}, NOW, NOW + 86400)
    vp = vc.present(kb, db, [cred], NOW, audience=da, nonce="n-1")
    out = vc.verify_presentation(vp, resolver(docs), NOW + 5, audience=da, nonce="n-1")
    assert out["holder"] == db and out["credentials"][0]["issuer"] == da
    with pytest.raises(vc.CredentialError, match="not for"):
        vc.verify_presentation(vp, resolver(docs), NOW, audience=db)
    with pytest.raises(vc.CredentialError, match="nonce"):
        vc.verify_presentation(vp, resolver(docs), NOW, nonce="n-2")
    with pytest.raises(vc.CredentialError, match="expired"):
        vc.verify_presentation(vp, resolver(docs), NOW + 600 + 301)
    # a holder presenting a credential about someone else
    about_a = vc.issue(kb, db, da, [], {}, NOW, NOW + 86400)
    with pytest.raises(vc.CredentialError, match="not its holder"):
        vc.verify_presentation(vc.present(kb, db, [about_a], NOW), resolver(docs), NOW)
    assert vc.verify_presentation(vc.present(kb, db, [about_a], NOW), resolver(docs), NOW, holder_is_subject=False)
    # a credential inside that was altered (the second-last character: the last one carries only
    # 2 bits of the signature, so "AA" left it unchanged in 1 run of 256)
    h, p, s = cred.split(".")
    altered = s[:-2] + ("B" if s[-2] == "A" else "A") + s[-1]
    with pytest.raises(vc.CredentialError, match="credential 0 of the presentation: the signature"):
        vc.verify_presentation(vc.present(kb, db, ["%s.%s.%s" % (h, p, altered)], NOW), resolver(docs), NOW)
    # the holder's key must be in authentication
    docs[db] = dict(doc_b, authentication=[])
    with pytest.raises(vc.CredentialError, match="authentication"):
        vc.verify_presentation(vp, resolver(docs), NOW)


def test_read_own_knows_only_this_keys_credentials(pair):
    (ka, da, dummy_a), (kb, db, dummy_b), docs = pair
    token = vc.issue(ka, da, db, [], {"x": 1}, NOW, NOW + 86400)
    assert vc.read_own(token, bep44.public_bytes(ka), NOW)["claims"] == {"x": 1}
    assert vc.read_own(token, bep44.public_bytes(kb), NOW) is None
    assert vc.read_own("garbage", bep44.public_bytes(ka), NOW) is None


@pytest.mark.parametrize("token", ["", "a.b", "a.b.c.d", "!!.!!.!!", b64([1]) + "." + b64({}) + ".AA",
                                   b64({"alg": "EdDSA"}) + ".bm90IGpzb24." + "AA", "x" * 70000, None, 5])
def test_malformed_tokens_are_named(pair, token):
    with pytest.raises(vc.CredentialError):
        vc.verify_credential(token, resolver(pair[2]), NOW)


def test_random_tokens_only_ever_raise_credential_errors(pair):
    (ka, da, dummy_a), (kb, db, dummy_b), docs = pair
    good = vc.issue(ka, da, db, [], {}, NOW, NOW + 86400)
    rnd = random.Random(7)
    alphabet = "ABCabc019-_.=+/ \u00e9{}\""
    for dummy in range(2000):
        chars = list(good)
        for dummy_i in range(rnd.randint(1, 6)):
            chars[rnd.randrange(len(chars))] = rnd.choice(alphabet)
        try:
            vc.verify_credential("".join(chars), lambda d: docs.get(d, {}), NOW)
        except vc.CredentialError:
            pass
