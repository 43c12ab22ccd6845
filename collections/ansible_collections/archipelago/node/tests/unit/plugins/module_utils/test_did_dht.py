"""did:dht pure logic against the spec vectors, the BEP44 vectors and dnspython (an encoder and
decoder not written here)."""
import json
import pathlib

import dns.message
import dns.rrset
import nacl.signing
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ansible_collections.archipelago.node.plugins.module_utils import did_dht as dd
from ansible_collections.archipelago.node.plugins.module_utils import bep44
from ansible_collections.archipelago.node.plugins.module_utils import dht_codec
from ansible_collections.archipelago.node.plugins.module_utils import dht_keys
from ansible_collections.archipelago.node.plugins.module_utils import dns_wire

VECTORS = json.loads((pathlib.Path(__file__).resolve().parents[2] / "data" / "did-dht-vectors.json").read_text())
SPEC = VECTORS["did_dht_spec_vectors"]
SIGNED = VECTORS["derived_byte_vectors"]["rfc8032_test1_key_signed"]
BEP44 = VECTORS["bep44"]


def spec_records(vector):
    return [(r["name"], r["type"], "".join(r["rdata"])) for r in vector["dns_records"]]


def normalized(records):
    return sorted((r[0], r[1], r[2]) for r in records)


# ---------- z-base-32 and identifiers ----------

@pytest.mark.parametrize("name", ["vector1", "vector2", "vector3"])
def test_did_is_z32_of_the_identity_key(name):
    vec = SPEC[name]
    pub = dht_codec.b64u_decode(vec["identity_public_jwk"]["x"])
    assert dht_codec.did_from_public(pub) == vec["did"]
    assert dht_codec.public_from_did(vec["did"]) == pub


def test_rfc8032_key_did_and_alphabet():
    pub = bytes.fromhex(SIGNED["public_key_hex"])
    did = dht_codec.did_from_public(pub)
    assert did == SIGNED["did"]
    suffix = did[len("did:dht:"):]
    assert len(suffix) == 52 and not set(suffix) & set("lv02")
    assert VECTORS["z_base_32_alphabet"] == dht_codec.Z32_ALPHABET


@pytest.mark.parametrize("did, fragment", [
    ("did:key:z6Mk", "is not a did:dht"),
    ("did:dht:abc", "52"),
    ("did:dht:" + "v" * 52, "invalid public key"),
    (None, "is not a did:dht"),
])
def test_bad_dids_are_named(did, fragment):
    with pytest.raises(dd.DidDhtError, match=fragment):
        dht_codec.public_from_did(did)


def test_z32_round_trip_odd_lengths():
    for n in range(0, 40):
        data = bytes(range(n))
        assert dht_codec.z32_decode(dht_codec.z32_encode(data)) == data


# ---------- BEP44 ----------

def test_bep44_mutable_vectors():
    pub = bytes.fromhex(BEP44["public_key_hex"])
    m = BEP44["mutable"]
    signable = bep44.bep44_signable(m["seq"], m["value"].encode())
    assert signable.decode() == m["signable"]
    assert bep44.ed25519_verify(pub, bytes.fromhex(m["signature_hex"]), signable)
    assert bep44.bep44_target(pub).hex() == m["target_hex"]
    s = BEP44["mutable_salt"]
    signable = bep44.bep44_signable(s["seq"], s["value"].encode(), s["salt"].encode())
    assert signable.decode() == s["signable"]
    assert bep44.ed25519_verify(pub, bytes.fromhex(s["signature_hex"]), signable)
    assert bep44.bep44_target(pub, s["salt"].encode()).hex() == s["target_hex"]
    assert not bep44.ed25519_verify(pub, bytes.fromhex(m["signature_hex"]), signable)


def test_signing_the_rfc8032_packet_matches_the_vector_and_pynacl():
    key = bep44.load_signing_key(bytes.fromhex(SIGNED["seed_hex"]))
    assert bep44.public_bytes(key).hex() == SIGNED["public_key_hex"]
    v = bytes.fromhex(SIGNED["dnspython_packet"]["v_hex"])
    sig, body = bep44.sign_packet(key, SIGNED["seq"], v)
    assert sig.hex() == SIGNED["dnspython_packet"]["sig_hex"]
    assert body.hex() == SIGNED["dnspython_packet"]["relay_body_hex"]
    assert bep44.bep44_signable(SIGNED["seq"], v).startswith(SIGNED["dnspython_packet"]["signable_prefix"].encode())
    nacl_sig = nacl.signing.SigningKey(bytes.fromhex(SIGNED["seed_hex"])).sign(bep44.bep44_signable(SIGNED["seq"], v)).signature
    assert nacl_sig == sig
    assert bep44.bep44_target(bep44.public_bytes(key)).hex() == SIGNED["bep44_target_hex"]
    assert bep44.verify_body(bep44.public_bytes(key), body) == (SIGNED["seq"], v)


def test_tampered_relay_bodies_are_refused():
    key = bep44.load_signing_key(bytes.fromhex(SIGNED["seed_hex"]))
    body = bytearray(bytes.fromhex(SIGNED["dnspython_packet"]["relay_body_hex"]))
    body[-1] ^= 1
    with pytest.raises(dd.DidDhtError, match="does not verify"):
        bep44.verify_body(bep44.public_bytes(key), bytes(body))
    with pytest.raises(dd.DidDhtError, match="72..1072"):
        bep44.parse_relay_body(b"x" * 10)


@pytest.mark.parametrize("fmt", ["pem", "raw", "hex"])
def test_key_file_formats(fmt):
    seed = bytes.fromhex(SIGNED["seed_hex"])
    key = Ed25519PrivateKey.from_private_bytes(seed)
    data = {"pem": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()),
            "raw": seed, "hex": SIGNED["seed_hex"].encode() + b"\n"}[fmt]
    assert bep44.public_bytes(bep44.load_signing_key(data)).hex() == SIGNED["public_key_hex"]


def test_a_key_file_that_is_not_ed25519_is_named():
    from cryptography.hazmat.primitives.asymmetric import ec
    pem = ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    with pytest.raises(dd.DidDhtError, match="needs Ed25519"):
        bep44.load_signing_key(pem)
    with pytest.raises(dd.DidDhtError, match="neither"):
        bep44.load_signing_key(b"hello")


# ---------- DNS packet ----------

def spec_inputs(name):
    """The module's options that give a spec vector."""
    vec = SPEC[name]
    extra = vec.get("inputs_not_in_records", {})
    doc = vec["did_document"]
    keys = []
    for jwk in vec["other_jwks"]:
        vm = next(m for m in doc["verificationMethod"] if m["publicKeyJwk"]["x"] == jwk["x"])
        purposes = [rel for rel in ("authentication", "assertionMethod", "keyAgreement", "capabilityInvocation",
                                    "capabilityDelegation") if vm["id"] in doc.get(rel, [])]
        key = {"jwk": jwk, "purposes": purposes}
        if jwk["kid"] != dht_keys._jwk_thumbprint(jwk):
            key["id"] = jwk["kid"]
        if vm["controller"] != doc["id"]:
            key["controller"] = vm["controller"]
        keys.append(key)
    services = [{"id": s["id"].split("#", 1)[1], "type": s["type"], "endpoints": s["serviceEndpoint"]}
                for s in doc.get("service", [])]
    controller = doc.get("controller")
    prv = [dd._props(r[2]) for r in spec_records(vec) if r[0] == "_prv._did."]
    previous = {"did": prv[0]["id"], "signature": prv[0]["s"]} if prv else None
    return dict(keys=keys, services=services, controllers=[controller] if isinstance(controller, str) else controller,
                also_known_as=doc.get("alsoKnownAs"), types=extra.get("types"), gateways=ns_names(vec),
                previous=previous)


def ns_names(vec):
    # the NS records themselves: vector 3 lists two gateways among its inputs but carries one NS
    return [r["rdata"][0] for r in vec["dns_records"] if r["type"] == "NS"]


@pytest.mark.parametrize("name", ["vector1", "vector2", "vector3"])
def test_records_built_from_options_equal_the_spec_records(name):
    vec = SPEC[name]
    pub = dht_codec.b64u_decode(vec["identity_public_jwk"]["x"])
    built = dd.records_for(pub, **spec_inputs(name))
    assert normalized(built) == normalized(spec_records(vec))
    assert dd.keys_before_root(built)


def test_every_key_and_service_record_comes_before_the_root():
    """web5's resolver maps auth=k0 etc. only onto key records it has read: the root goes last
    (regression: the root record was written first and that resolver read no relationship)."""
    pub = dht_codec.b64u_decode(SPEC["vector2"]["identity_public_jwk"]["x"])
    built = dd.records_for(pub, **spec_inputs("vector2"))
    root_at = [i for i, r in enumerate(built) if r[0].startswith("_did.") and r[1] == "TXT"]
    assert root_at == [len(built) - 1]
    assert [r for r in built if r[0].startswith("_k")] and not dd.keys_before_root(built[-1:] + built[:-1])
    # a record set published root first is republished, with the reason
    doc, dummy = dd.document_from_records(SPEC["vector2"]["did"], built)
    best = {"document": doc, "extra": {}, "seq": 1000, "records": built[-1:] + built[:-1]}
    assert "root before its keys" in dd.publish_reason(doc, {}, best, [], 1001, 3600)
    assert dd.publish_reason(doc, {}, dict(best, records=built), [], 1001, 3600) is None


def test_the_spec_previous_did_proof_verifies_and_a_forged_one_is_refused():
    vec = SPEC["vector3"]
    records = spec_records(vec)
    assert dd.previous_from_records(vec["did"], records) == vec["inputs_not_in_records"]["previous_did"]
    prv = dd._props([r for r in records if r[0] == "_prv._did."][0][2])
    sig = bytearray(dht_codec.b64u_decode(prv["s"]))
    sig[0] ^= 1
    forged = [(n, t, "id=%s;s=%s" % (prv["id"], dht_codec.b64u(bytes(sig))) if n == "_prv._did." else d)
              for n, t, d in records]
    with pytest.raises(dd.DidDhtError, match="does not verify"):
        dd.previous_from_records(vec["did"], forged)
    pub = dht_codec.b64u_decode(vec["identity_public_jwk"]["x"])
    with pytest.raises(dd.DidDhtError, match="does not verify"):
        dd.records_for(pub, previous={"did": prv["id"], "signature": dht_codec.b64u(bytes(sig))})
    # a proof made here from an old key verifies, and names the old key's DID
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    proof = dd.previous_proof(old, bep44.public_bytes(new))
    assert proof["did"] == dht_codec.did_from_public(bep44.public_bytes(old))
    recs = dd.records_for(bep44.public_bytes(new), previous=proof)
    assert dd.previous_from_records(dht_codec.did_from_public(bep44.public_bytes(new)), recs) == proof["did"]
    with pytest.raises(dd.DidDhtError, match="this DID itself"):
        dd.records_for(bep44.public_bytes(old), previous=proof)


@pytest.mark.parametrize("name", ["vector1", "vector2", "vector3"])
def test_documents_read_from_spec_records_equal_the_spec_documents(name):
    vec = SPEC[name]
    doc, gateways = dd.document_from_records(vec["did"], spec_records(vec))
    assert doc == vec["did_document"]
    assert gateways == ns_names(vec)


@pytest.mark.parametrize("name", ["vector1", "vector2", "vector3"])
def test_packets_round_trip_and_split_long_txt(name):
    vec = SPEC[name]
    records = spec_records(vec)
    packet = dns_wire.encode_packet(records)
    assert packet[:4] == b"\x00\x00\x84\x00"
    assert normalized(r[:3] for r in dns_wire.decode_packet(packet)) == normalized(records)
    assert all(r[3] == 7200 for r in dns_wire.decode_packet(packet))
    # dnspython reads the same records, TXT split in <= 255-byte strings
    msg = dns.message.from_wire(packet)
    for rrset in msg.answer:
        for rd in rrset:
            if rrset.rdtype == 16:
                assert all(len(s) <= 255 for s in rd.strings)


def test_spec_vector1_packet_is_byte_identical_to_dnspython():
    der = VECTORS["derived_byte_vectors"]["spec_vector1_packets"]
    packet = dns_wire.encode_packet(spec_records(SPEC["vector1"]))
    assert len(packet) == der["dnspython_len"]
    assert packet.hex() == der["dnspython_2_9_compressed_hex"]


def test_rfc8032_packet_holds_the_vector_records_and_is_dnspython_sized():
    """The vector's bytes are one valid encoding (root first); ours puts the root last and holds
    the same records, in a packet as small as dnspython's."""
    pub = bytes.fromhex(SIGNED["public_key_hex"])
    svc = SIGNED["did_document_input"]["service"][0]
    records = dd.records_for(pub, services=[{"id": svc["id"].split("#")[1], "type": svc["type"],
                                             "endpoints": svc["serviceEndpoint"]}])
    packet = dns_wire.encode_packet(records)
    vector = bytes.fromhex(SIGNED["dnspython_packet"]["v_hex"])
    assert normalized(dns_wire.decode_packet(packet)) == normalized(dns_wire.decode_packet(vector))
    assert len(packet) == len(vector)
    doc, dummy = dd.document_from_records(SIGNED["did"], dns_wire.decode_packet(packet))
    assert doc == SIGNED["did_document_input"]


def test_decoder_reads_uncompressed_and_dnspython_packets():
    records = spec_records(SPEC["vector2"])
    msg = dns.message.Message(id=0)
    msg.flags = 0x8400
    for name, rtype, text in records:
        rd = text if rtype == "NS" else " ".join('"%s"' % s.decode() for s in dns_wire.txt_strings(text))
        msg.answer.append(dns.rrset.from_text(name, 7200, "IN", rtype, rd))
    for wire in (msg.to_wire(), _uncompressed(records)):
        assert normalized(r[:3] for r in dns_wire.decode_packet(wire)) == normalized(records)


def _uncompressed(records):
    """An uncompressed packet, as JS publishers write it."""
    import struct
    out = bytearray(struct.pack(">HHHHHH", 0, 0x8400, 0, len(records), 0, 0))

    def name(n):
        return b"".join(bytes([len(l)]) + l.encode() for l in n.rstrip(".").split(".")) + b"\0"
    for n, rtype, text in records:
        rdata = name(text) if rtype == "NS" else b"".join(bytes([len(s)]) + s for s in dns_wire.txt_strings(text))
        out += name(n) + struct.pack(">HHIH", 2 if rtype == "NS" else 16, 1, 7200, len(rdata)) + rdata
    return bytes(out)


@pytest.mark.parametrize("packet, fragment", [
    (b"\x00" * 5, "shorter than its header"),
    (b"\x00\x00\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00\xc0\x0c", "compression loop"),
    (b"\x00\x00\x84\x00\x00\x00\x00\x01\x00\x00\x00\x00\x05ab", "truncated"),
])
def test_malformed_packets_are_named(packet, fragment):
    with pytest.raises(dd.DidDhtError, match=fragment):
        dns_wire.decode_packet(packet)


def test_ns_rdata_that_is_not_a_hostname_is_tolerated():
    packet = _uncompressed([("_did.%s." % SIGNED["did"][8:], "NS", "http://127.0.0.1:45665."),
                            ("_did.%s." % SIGNED["did"][8:], "TXT", "v=0;vm=k0"),
                            ("_k0._did.", "TXT", "t=0;k=" + dht_codec.b64u(bytes.fromhex(SIGNED["public_key_hex"])))])
    doc, gateways = dd.document_from_records(SIGNED["did"], dns_wire.decode_packet(packet))
    assert doc["verificationMethod"][0]["id"].endswith("#0")


def test_a_packet_whose_k0_is_another_key_is_refused():
    other = dht_codec.b64u_decode(SPEC["vector1"]["identity_public_jwk"]["x"])
    records = dd.records_for(other)
    with pytest.raises(dd.DidDhtError, match="does not match the DID"):
        dd.document_from_records(SIGNED["did"], [(("_did.%s." % SIGNED["did"][8:]) if r[0].startswith("_did.") else r[0],
                                                  r[1], r[2]) for r in records])


def test_unknown_key_types_and_bad_services_are_named():
    pub = bytes.fromhex(SIGNED["public_key_hex"])
    with pytest.raises(dd.DidDhtError, match="unknown key type"):
        dd.records_for(pub, keys=[{"jwk": {"kty": "RSA", "n": "x", "e": "AQAB"}, "purposes": []}])
    with pytest.raises(dd.DidDhtError, match="needs id, type"):
        dd.records_for(pub, services=[{"id": "x", "type": "Y", "endpoints": []}])
    with pytest.raises(dd.DidDhtError, match="cannot appear"):
        dd.records_for(pub, services=[{"id": "x", "type": "Y", "endpoints": ["a,b"]}])


def test_deactivation_reads_as_no_document():
    pub = bytes.fromhex(SIGNED["public_key_hex"])
    packet = dns_wire.encode_packet(dd.deactivation_records(pub))
    assert dd.document_from_records(SIGNED["did"], dns_wire.decode_packet(packet))[0] is None


# ---------- deciding ----------

def test_next_seq_is_time_or_one_more():
    assert dd.next_seq(1700000000, None) == 1700000000
    assert dd.next_seq(1700000000, 1700000000) == 1700000001
    assert dd.next_seq(1700000000, 1800000000) == 1800000001


def test_publish_reasons():
    doc = {"id": "d"}
    best = {"document": doc, "extra": {}, "seq": 1000}
    assert dd.publish_reason(doc, {}, None, [], 1000, 3600) == "not published on any relay"
    assert dd.publish_reason(doc, {}, best, [], 2000, 3600) is None
    assert "refresh" in dd.publish_reason(doc, {}, best, [], 4600, 3600)
    assert "differs" in dd.publish_reason({"id": "e"}, {}, best, [], 2000, 3600)
    assert "differs" in dd.publish_reason(doc, {"gateways": ["g."]}, best, [], 2000, 3600)
    assert "missing on r2" == dd.publish_reason(doc, {}, best, ["r2"], 2000, 3600)
    assert "deactivation" in dd.publish_reason(doc, {}, dict(best, document=None), [], 2000, 3600)
    assert dd.publish_reason(None, {}, dict(best, document=None), [], 2000, 3600) is None
    assert dd.publish_reason(None, {}, None, [], 2000, 3600) is None
    assert "deactivating" in dd.publish_reason(None, {}, best, [], 2000, 3600)


def test_choose_best_keeps_the_highest_valid_seq():
    found = [{"relay": "a", "seq": 5, "records": []}, {"relay": "b", "seq": 9, "records": None},
             {"relay": "c", "seq": 7, "records": []}]
    assert dd.choose_best(found)["relay"] == "c"
    assert dd.choose_best([]) is None


# ---------- relay client ----------

from ansible_collections.archipelago.node.plugins.module_utils import pkarr


class FakeFetch:
    def __init__(self, answers):
        self.answers = list(answers)
        self.calls = []

    def __call__(self, method, url, body):
        self.calls.append((method, url))
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer


def relays(answers, retries=2):
    fetch = FakeFetch(answers)
    return pkarr.Relays(fetch, retries=retries, sleep=lambda s: None), fetch


def test_relay_urls_are_checked_and_get_a_final_slash():
    assert pkarr.check_relay_url("http://r.example:6881") == "http://r.example:6881/"
    assert pkarr.check_relay_url("https://gw.example/pkarr/") == "https://gw.example/pkarr/"
    for bad in ("relay.example:6881", "ftp://r.example/", "http://", "http://r.example/?x=1", None):
        with pytest.raises(pkarr.RelayError, match="not an http"):
            pkarr.check_relay_url(bad)


def test_get_retries_connection_errors_and_5xx_then_reads():
    r, fetch = relays([IOError("refused"), (503, b""), (200, b"body")])
    assert r.get("http://r/", "abc") == b"body"
    assert [c[1] for c in fetch.calls] == ["http://r/abc"] * 3


def test_get_404_is_absent_and_giving_up_names_the_url():
    r, dummy = relays([(404, b"")])
    assert r.get("http://r/", "abc") is None
    r, dummy = relays([IOError("refused")] * 3)
    with pytest.raises(pkarr.RelayError, match=r"GET http://r/abc failed after 3 attempts \(refused\)"):
        r.get("http://r/", "abc")


def test_put_accepts_any_2xx_and_explains_refusals_without_retrying_them():
    for status in (200, 204):
        r, dummy = relays([(status, b"")])
        assert r.put("http://r/", "abc", b"x") == status
    r, fetch = relays([(429, b""), (409, b"seq too old")])
    with pytest.raises(pkarr.RelayError, match="newer record.*seq too old"):
        r.put("http://r/", "abc", b"x")
    assert len(fetch.calls) == 2                         # 429 retried, 409 not
    r, fetch = relays([(500, b"")])
    with pytest.raises(pkarr.RelayError, match="same or older seq"):
        r.put("http://r/", "abc", b"x")
    assert len(fetch.calls) == 1


class MemoryRelays:
    """Relays kept in memory, for the publish decision end to end."""

    def __init__(self, n=2):
        self.store = {"http://r%d/" % i: None for i in range(n)}
        self.puts = 0

    def get(self, base, z32):
        return self.store[base]

    def put(self, base, z32, body):
        self.puts += 1
        self.store[base] = body
        return 200


def test_ensure_publishes_once_then_only_on_change_or_refresh():
    key = bep44.load_signing_key(bytes.fromhex(SIGNED["seed_hex"]))
    mem = MemoryRelays()
    opts = {"services": [{"id": "tor", "type": "TorHiddenService", "endpoints": ["http://x.onion"]}]}
    res = dd.ensure(key, "present", opts, mem, list(mem.store), 1700000000, check_mode=False)
    assert res["changed"] and res["seq"] == 1700000000 and mem.puts == 2
    assert dd.ensure(key, "present", opts, mem, list(mem.store), 1700000100, False)["changed"] is False
    # check mode: the decision, no write
    res = dd.ensure(key, "present", {}, mem, list(mem.store), 1700000100, check_mode=True)
    assert res["changed"] and mem.puts == 2 and "TorHiddenService" in res["diff"]["before"]
    # a relay that lost it gets it again, with seq = last + 1 when the clock has not moved on
    mem.store["http://r1/"] = None
    res = dd.ensure(key, "present", opts, mem, list(mem.store), 1699999999, False)
    assert res["changed"] and res["reason"] == "missing on http://r1/" and res["seq"] == 1700000001
    # refresh after the interval
    res = dd.ensure(key, "present", opts, mem, list(mem.store), 1700000001 + 3600, False)
    assert res["changed"] and "refresh" in res["reason"]
    # the wrong DID is refused before any relay is asked
    with pytest.raises(dd.DidDhtError, match="not this node's"):
        dd.ensure(key, "present", {"did": SPEC["vector1"]["did"]}, mem, list(mem.store), 1700009999, False)


# ---------- one relay's bad answer is that relay's, freshness ----------

class BodyRelays:
    """Relays that answer given bodies."""

    def __init__(self, bodies):
        self.bodies = bodies

    def get(self, base, z32):
        return self.bodies[base]


def signed(key, seq, records):
    return bep44.sign_packet(key, seq, dns_wire.encode_packet(records))[1]


def test_a_non_ascii_type_index_makes_that_relay_invalid_and_another_relay_still_answers():
    """Regression: `_typ` id=² (a digit to str.isdigit, not to int) raised ValueError and ended the run."""
    key = bep44.load_signing_key(bytes.fromhex(SIGNED["seed_hex"]))
    pub = bep44.public_bytes(key)
    good = dd.records_for(pub, types=[1])
    bad = [(n, t, "id=1,²" if n == "_typ._did." else d) for n, t, d in good]
    with pytest.raises(dd.DidDhtError, match="not type indexes"):
        dd.types_from_records(bad)
    relays = BodyRelays({"http://a/": signed(key, 1700000500, bad), "http://b/": signed(key, 1700000000, good)})
    res = dd.resolve(SIGNED["did"], relays, ["http://a/", "http://b/"], 1700000600)
    assert res["seq"] == 1700000000 and res["types"] == [1]
    assert [r["status"] for r in res["relays"]] == ["invalid", "found"]
    assert "not type indexes" in res["relays"][0]["error"]


def test_any_decoder_fault_is_that_relay_invalid(monkeypatch):
    key = bep44.load_signing_key(bytes.fromhex(SIGNED["seed_hex"]))
    body = signed(key, 1700000000, dd.records_for(bep44.public_bytes(key)))
    real = dd.decode_packet
    calls = []

    def flaky(v):
        calls.append(v)
        if len(calls) == 1:
            raise IndexError("index out of range")
        return real(v)
    monkeypatch.setattr(dd, "decode_packet", flaky)
    found = dd.resolve_all(SIGNED["did"], BodyRelays({"http://a/": body, "http://b/": body}), ["http://a/", "http://b/"])
    assert [f["status"] for f in found] == ["invalid", "found"]
    assert found[0]["error"] == "the record cannot be decoded (IndexError)"


def test_records_too_old_or_from_the_future_are_refused():
    key = bep44.load_signing_key(bytes.fromhex(SIGNED["seed_hex"]))
    records = dd.records_for(bep44.public_bytes(key))
    now = 1700000000
    old = BodyRelays({"http://a/": signed(key, now - 30 * 86400, records)})
    with pytest.raises(dd.DidDhtError, match="expired.*more than max_age 604800"):
        dd.resolve(SIGNED["did"], old, ["http://a/"], now, max_age=604800)
    assert dd.resolve(SIGNED["did"], old, ["http://a/"], now, max_age=0)["age"] == 30 * 86400
    ahead = BodyRelays({"http://a/": signed(key, now + 7201, records)})
    with pytest.raises(dd.DidDhtError, match="7201 s ahead of this clock"):
        dd.resolve(SIGNED["did"], ahead, ["http://a/"], now)
    near = BodyRelays({"http://a/": signed(key, now + 7200, records)})
    assert dd.resolve(SIGNED["did"], near, ["http://a/"], now)["seq"] == now + 7200
    # the publisher does not bury a record signed ahead of its clock: it stops and names the clock
    mem = MemoryRelays(1)
    mem.store["http://r0/"] = signed(key, now + 86400, records)
    with pytest.raises(dd.DidDhtError, match="ahead of this node's clock.*NTP.*nothing was published"):
        dd.ensure(key, "present", {}, mem, list(mem.store), now, check_mode=False)
    assert mem.puts == 0
