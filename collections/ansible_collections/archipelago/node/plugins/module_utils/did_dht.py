# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""did:dht without a network: identifiers (z-base-32), the DID Document as DNS records, the
RFC 1035 packet (BEP44 `v`), BEP44 signing input and target, the Pkarr relay body, and the
decision whether to publish.

Pure functions; Ed25519 comes from `cryptography` (python3-cryptography on Debian) and is only
imported by the functions that sign or verify. Everything here is tested against the did:dht
spec vectors, the BEP44 vectors and dnspython's encoder.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import re
import struct

from ansible_collections.archipelago.node.plugins.module_utils.pkarr import RelayError

Z32_ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769"
DID_PREFIX = "did:dht:"
TTL = 7200
MAX_PACKET = 976          # keeps len(signable) <= 1000 at a 10-digit seq (some clients refuse more)
RELAY_BODY_MIN, RELAY_BODY_MAX = 72, 1072
TYPE_NS, TYPE_TXT, CLASS_IN = 2, 16, 1
RELATIONS = (("auth", "authentication"), ("asm", "assertionMethod"), ("agm", "keyAgreement"),
             ("inv", "capabilityInvocation"), ("del", "capabilityDelegation"))
IDENTITY_RELATIONS = ("authentication", "assertionMethod", "capabilityInvocation", "capabilityDelegation")
# t= code -> (kty, crv, default alg)
KEY_TYPES = {0: ("OKP", "Ed25519", "EdDSA"), 1: ("EC", "secp256k1", "ES256K"),
             2: ("EC", "P-256", "ES256"), 3: ("OKP", "X25519", "ECDH-ES+A256KW")}
KEY_TYPE_BY_CRV = dict((v[1], k) for k, v in KEY_TYPES.items())
# short-Weierstrass curves y^2 = x^3 + a x + b over p (p = 3 mod 4), for compressed points
CURVES = {
    "secp256k1": (2 ** 256 - 2 ** 32 - 977, 0, 7),
    "P-256": (2 ** 256 - 2 ** 224 + 2 ** 192 + 2 ** 96 - 1, -3,
              0x5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b),
}


class DidDhtError(Exception):
    """Bad input or a record that fails a check; the message says which and why."""


# ---------- encodings ----------

def z32_encode(data):
    bits = "".join("{0:08b}".format(b) for b in bytearray(data))
    bits += "0" * (-len(bits) % 5)
    return "".join(Z32_ALPHABET[int(bits[i:i + 5], 2)] for i in range(0, len(bits), 5))


def z32_decode(text):
    try:
        bits = "".join("{0:05b}".format(Z32_ALPHABET.index(c)) for c in text)
    except ValueError:
        bad = sorted(set(c for c in text if c not in Z32_ALPHABET))
        raise DidDhtError("not z-base-32: %r is outside the alphabet" % "".join(bad))
    return bytes(bytearray(int(bits[i:i + 8], 2) for i in range(0, len(bits) - 7, 8)))


def b64u(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64u_decode(text, what="value"):
    try:
        return base64.urlsafe_b64decode(str(text) + "=" * (-len(str(text)) % 4))
    except (TypeError, ValueError):
        raise DidDhtError("%s is not base64url: %r" % (what, text))


def did_from_public(pub):
    return DID_PREFIX + z32_encode(pub)


def public_from_did(did):
    """The 32-byte identity key of a did:dht; DidDhtError names what is wrong."""
    if not isinstance(did, str) or not did.startswith(DID_PREFIX):
        raise DidDhtError("%r is not a did:dht identifier (expected did:dht:<52 z-base-32 characters>)" % (did,))
    suffix = did[len(DID_PREFIX):]
    if len(suffix) != 52:
        raise DidDhtError("%s: the suffix has %d characters, a did:dht has 52" % (did, len(suffix)))
    try:
        pub = z32_decode(suffix)
    except DidDhtError as exc:
        raise DidDhtError("%s: invalid public key: %s" % (did, exc))
    if len(pub) != 32:
        raise DidDhtError("%s: invalid public key: %d bytes, Ed25519 needs 32" % (did, len(pub)))
    return pub


# ---------- BEP44 ----------

def bep44_signable(seq, v, salt=None):
    head = b""
    if salt:
        head = b"4:salt" + str(len(salt)).encode() + b":" + salt
    return head + b"3:seqi" + str(int(seq)).encode() + b"e1:v" + str(len(v)).encode() + b":" + v


def bep44_target(k, salt=None):
    return hashlib.sha1(k + (salt or b"")).digest()


def relay_body(sig, seq, v):
    return sig + struct.pack(">Q", seq) + v


def parse_relay_body(body):
    if not RELAY_BODY_MIN <= len(body) <= RELAY_BODY_MAX:
        raise DidDhtError("relay answer is %d bytes; a signed packet is %d..%d"
                          % (len(body), RELAY_BODY_MIN, RELAY_BODY_MAX))
    return body[:64], struct.unpack(">Q", body[64:72])[0], body[72:]


def ed25519_verify(pub, sig, message):
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
    try:
        Ed25519PublicKey.from_public_bytes(pub).verify(sig, message)
        return True
    except (InvalidSignature, ValueError):
        return False


def load_signing_key(data):
    """An Ed25519 private key from a key file's bytes: PKCS#8 PEM (what the node keeps), a raw
    32-byte seed, or the seed as 64 hex characters."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    stripped = data.strip()
    if stripped.startswith(b"-----BEGIN"):
        try:
            key = load_pem_private_key(stripped, password=None)
        except (TypeError, ValueError) as exc:
            raise DidDhtError("the key file is PEM but not a readable unencrypted private key (%s)" % exc)
        if not isinstance(key, Ed25519PrivateKey):
            raise DidDhtError("the key file holds a %s key; did:dht needs Ed25519" % type(key).__name__)
        return key
    if len(data) == 32:
        return Ed25519PrivateKey.from_private_bytes(data)
    if re.match(br"^[0-9a-fA-F]{64}$", stripped):
        return Ed25519PrivateKey.from_private_bytes(bytes(bytearray.fromhex(stripped.decode())))
    raise DidDhtError("the key file is neither PKCS#8 PEM, a 32-byte seed nor 64 hex characters")


def public_bytes(key):
    from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
    return key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)


def sign_packet(key, seq, v):
    """(sig, relay body) for packet v at seq."""
    sig = key.sign(bep44_signable(seq, v))
    return sig, relay_body(sig, seq, v)


def verify_body(pub, body):
    """(seq, v) of a relay body whose signature by pub verifies; DidDhtError otherwise."""
    sig, seq, v = parse_relay_body(body)
    if not ed25519_verify(pub, sig, bep44_signable(seq, v)):
        raise DidDhtError("the signature does not verify: forged or altered record")
    return seq, v


# ---------- DNS wire format ----------

def _labels(name):
    name = name.rstrip(".")
    return [l.encode("ascii") for l in name.split(".")] if name else []


def _write_name(out, name, compress):
    """Write name at the end of out, pointing at an earlier copy of any suffix (the same choice
    as dnspython, so the bytes are comparable)."""
    labels = _labels(name)
    for i in range(len(labels)):
        key = tuple(l.lower() for l in labels[i:])
        if key in compress:
            out.extend(struct.pack(">H", 0xC000 | compress[key]))
            return
        if len(out) <= 0x3FFF:
            compress[key] = len(out)
        if len(labels[i]) > 63:
            raise DidDhtError("DNS label longer than 63 bytes in %r" % name)
        out.append(len(labels[i]))
        out.extend(labels[i])
    out.append(0)


def txt_strings(value):
    """A TXT value split into character-strings of at most 255 bytes."""
    data = value.encode("utf-8")
    return [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]


def encode_packet(records):
    """records: [(name, type 'TXT'|'NS', text)] -> the DNS response packet (id 0, QR+AA)."""
    out = bytearray(struct.pack(">HHHHHH", 0, 0x8400, 0, len(records), 0, 0))
    compress = {}
    for name, rtype, text in records:
        _write_name(out, name, compress)
        code = TYPE_TXT if rtype == "TXT" else TYPE_NS
        out.extend(struct.pack(">HHIH", code, CLASS_IN, TTL, 0))
        start = len(out)
        if rtype == "TXT":
            for chunk in txt_strings(text):
                out.append(len(chunk))
                out.extend(chunk)
        else:
            _write_name(out, text, compress)
        struct.pack_into(">H", out, start - 2, len(out) - start)
    return bytes(out)


def _read_name(data, pos):
    labels, jumps, end = [], 0, None
    while True:
        if pos >= len(data):
            raise DidDhtError("DNS packet truncated inside a name")
        length = data[pos]
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(data):
                raise DidDhtError("DNS packet truncated inside a pointer")
            if end is None:
                end = pos + 2
            jumps += 1
            if jumps > 64:
                raise DidDhtError("DNS name compression loop")
            pos = ((length & 0x3F) << 8) | data[pos + 1]
            continue
        if length == 0:
            pos += 1
            break
        labels.append(data[pos + 1:pos + 1 + length].decode("latin-1"))
        pos += 1 + length
    return ".".join(labels).lower() + ".", end if end is not None else pos


def decode_packet(data):
    """[(name, 'TXT'|'NS', text, ttl)] of a packet, compressed or not; other types are skipped."""
    data = bytearray(data)
    if len(data) < 12:
        raise DidDhtError("DNS packet shorter than its header")
    qd, an, ns, ar = struct.unpack(">HHHH", bytes(data[4:12]))
    pos = 12
    for _question in range(qd):
        pos = _read_name(data, pos)[1] + 4
    records = []
    for _record in range(an + ns + ar):
        name, pos = _read_name(data, pos)
        if pos + 10 > len(data):
            raise DidDhtError("DNS packet truncated in a record header")
        rtype, _cls, ttl, rdlen = struct.unpack(">HHIH", bytes(data[pos:pos + 10]))
        pos += 10
        rdata = data[pos:pos + rdlen]
        if len(rdata) != rdlen:
            raise DidDhtError("DNS packet truncated in record data")
        if rtype == TYPE_TXT:
            parts, i = [], 0
            while i < rdlen:
                parts.append(bytes(rdata[i + 1:i + 1 + rdata[i]]))
                i += 1 + rdata[i]
            records.append((name, "TXT", b"".join(parts).decode("utf-8", "replace"), ttl))
        elif rtype == TYPE_NS:
            try:
                target = _read_name(data, pos)[0]
            except DidDhtError:
                target = ""  # tolerated: some publishers put a URL here
            records.append((name, "NS", target, ttl))
        pos += rdlen
    return records


# ---------- keys ----------

def _jwk_thumbprint(jwk):
    members = ("crv", "kty", "x", "y") if jwk.get("kty") == "EC" else ("crv", "kty", "x")
    canon = json.dumps(dict((m, jwk[m]) for m in members), separators=(",", ":"), sort_keys=True)
    return b64u(hashlib.sha256(canon.encode()).digest())


def _int(b):
    return int(bytes(b).hex() or "0", 16)


def _compress_point(jwk):
    x, y = b64u_decode(jwk.get("x", ""), "x"), b64u_decode(jwk.get("y", ""), "y")
    if len(x) != 32 or len(y) != 32:
        raise DidDhtError("an EC key needs 32-byte x and y")
    return bytes(bytearray([2 + (_int(y) & 1)])) + x


def _decompress_point(crv, raw):
    p, a, b = CURVES[crv]
    if len(raw) != 33 or raw[0:1] not in (b"\x02", b"\x03"):
        raise DidDhtError("%s key is not a 33-byte compressed point" % crv)
    x = _int(raw[1:])
    y = pow((x ** 3 + a * x + b) % p, (p + 1) // 4, p)
    if (y * y - (x ** 3 + a * x + b)) % p:
        raise DidDhtError("%s key is not a point on the curve" % crv)
    if y & 1 != raw[0] & 1:
        y = p - y
    return b64u(raw[1:]), b64u(bytes(bytearray.fromhex("%064x" % y)))


def key_from_jwk(jwk):
    """(t code, raw key bytes, alg) of a public JWK; DidDhtError for an unknown key type."""
    if not isinstance(jwk, dict):
        raise DidDhtError("a key's jwk must be a mapping")
    crv = jwk.get("crv")
    if crv not in KEY_TYPE_BY_CRV or KEY_TYPES[KEY_TYPE_BY_CRV[crv]][0] != jwk.get("kty"):
        raise DidDhtError("unknown key type kty=%s crv=%s (did:dht knows Ed25519, secp256k1, P-256, X25519)"
                          % (jwk.get("kty"), crv))
    t = KEY_TYPE_BY_CRV[crv]
    if jwk.get("kty") == "EC":
        raw = _compress_point(jwk)
    else:
        raw = b64u_decode(jwk.get("x", ""), "x")
        if len(raw) != 32:
            raise DidDhtError("a %s key has 32 bytes, got %d" % (crv, len(raw)))
    return t, raw, jwk.get("alg") or KEY_TYPES[t][2]


def jwk_from_key(t, raw, alg=None, kid=None):
    if t not in KEY_TYPES:
        raise DidDhtError("unknown key type t=%s" % t)
    kty, crv, default_alg = KEY_TYPES[t]
    jwk = {"kty": kty, "crv": crv}
    if kty == "EC":
        jwk["x"], jwk["y"] = _decompress_point(crv, raw)
    else:
        if len(raw) != 32:
            raise DidDhtError("a %s key has 32 bytes, got %d" % (crv, len(raw)))
        jwk["x"] = b64u(raw)
    jwk["alg"] = alg or default_alg
    jwk["kid"] = kid if kid is not None else _jwk_thumbprint(jwk)
    return jwk


# ---------- DID Document <-> records ----------

def _props(text):
    out = {}
    for part in text.split(";"):
        if "=" in part:
            k, v = part.split("=", 1)
            out[k.strip()] = v.strip()
    return out


def records_for(pub, keys=None, services=None, controllers=None, also_known_as=None, types=None,
                gateways=None):
    """The did:dht records for an identity key and the options of the module:
    keys [{id?, jwk, purposes, controller?}], services [{id, type, endpoints}]."""
    did = did_from_public(pub)
    root_name = "_did.%s." % did[len(DID_PREFIX):]
    vm, rel = ["k0"], dict((short, []) for short, _long in RELATIONS)
    for short, long_name in RELATIONS:
        if long_name in IDENTITY_RELATIONS:
            rel[short].append("k0")
    key_records = [("_k0._did.", "TXT", "t=0;k=%s" % b64u(pub))]
    seen_ids = set(["0"])
    for i, key in enumerate(keys or [], 1):
        t, raw, alg = key_from_jwk(key.get("jwk"))
        thumbprint = _jwk_thumbprint(key["jwk"]) if key["jwk"].get("x") else None
        vm_id = key.get("id") or thumbprint
        if vm_id in seen_ids:
            raise DidDhtError("verification method id %r is used twice" % vm_id)
        seen_ids.add(vm_id)
        # without id= a reader takes the JWK thumbprint as the id, so it is written only when it differs
        text = ("" if vm_id == thumbprint else "id=%s;" % vm_id) + "t=%d;k=%s" % (t, b64u(raw))
        if alg != KEY_TYPES[t][2]:
            text += ";a=%s" % alg
        if key.get("controller"):
            text += ";c=%s" % key["controller"]
        key_records.append(("_k%d._did." % i, "TXT", text))
        vm.append("k%d" % i)
        purposes = key.get("purposes") or []
        for short, long_name in RELATIONS:
            if long_name in purposes:
                rel[short].append("k%d" % i)
    service_records = []
    for i, svc in enumerate(services or []):
        endpoints = svc.get("endpoints") or []
        if isinstance(endpoints, str):
            endpoints = [endpoints]
        if not svc.get("id") or not svc.get("type") or not endpoints:
            raise DidDhtError("a service needs id, type and at least one endpoint: %r" % (svc,))
        if any("," in e or ";" in e for e in endpoints) or ";" in svc["id"] + svc["type"]:
            raise DidDhtError("service %s: ',' and ';' cannot appear in ids, types or endpoints" % svc["id"])
        service_records.append(("_s%d._did." % i, "TXT", "id=%s;t=%s;se=%s" % (svc["id"], svc["type"], ",".join(endpoints))))
    root = "v=0;vm=" + ",".join(vm)
    for short, _long in RELATIONS:
        if rel[short]:
            root += ";%s=%s" % (short, ",".join(rel[short]))
    if service_records:
        root += ";svc=" + ",".join("s%d" % i for i in range(len(service_records)))
    records = [(root_name, "NS", g if g.endswith(".") else g + ".") for g in gateways or []]
    records.append((root_name, "TXT", root))
    if controllers:
        records.append(("_cnt._did.", "TXT", ",".join(controllers)))
    if also_known_as:
        records.append(("_aka._did.", "TXT", ",".join(also_known_as)))
    records.extend(key_records)
    records.extend(service_records)
    if types:
        records.append(("_typ._did.", "TXT", "id=" + ",".join(str(int(t)) for t in types)))
    return records


def deactivation_records(pub):
    return [("_did.%s." % z32_encode(pub), "TXT", "deactivated")]


def document_from_records(did, records):
    """(DID Document or None when deactivated, gateways) from decoded records; checks that
    `_k0` is the DID's own key."""
    pub = public_from_did(did)
    root_name = "_did.%s." % did[len(DID_PREFIX):]
    txt = dict((name, text) for name, rtype, text in (r[:3] for r in records) if rtype == "TXT")
    gateways = [r[2] for r in records if r[1] == "NS" and r[0] == root_name]
    root = txt.get(root_name)
    if root is None:
        raise DidDhtError("%s: the packet has no root record %s" % (did, root_name))
    if root.strip() == "deactivated":
        return None, gateways
    props = _props(root)
    if props.get("v") != "0":
        raise DidDhtError("%s: unsupported root record version %r" % (did, props.get("v")))
    doc = {"id": did, "verificationMethod": []}
    ids = {}
    for ref in [x for x in props.get("vm", "").split(",") if x]:
        krec = txt.get("_%s._did." % ref)
        if krec is None:
            raise DidDhtError("%s: root lists %s but the packet has no _%s._did. record" % (did, ref, ref))
        kp = _props(krec)
        try:
            t = int(kp.get("t", ""))
        except ValueError:
            raise DidDhtError("%s: key %s has no valid t= (key type)" % (did, ref))
        raw = b64u_decode(kp.get("k", ""), "key %s" % ref)
        vm_id = "0" if ref == "k0" else kp.get("id")
        jwk = jwk_from_key(t, raw, kp.get("a"), kid=vm_id)
        if ref == "k0":
            if t != 0 or raw != pub:
                raise DidDhtError("%s: the identity key _k0 does not match the DID" % did)
        elif not vm_id:
            vm_id = jwk["kid"]
        ids[ref] = "%s#%s" % (did, vm_id)
        doc["verificationMethod"].append({"id": ids[ref], "type": "JsonWebKey",
                                          "controller": kp.get("c") or did, "publicKeyJwk": jwk})
    if "k0" not in ids:
        raise DidDhtError("%s: the root record does not list the identity key k0" % did)
    for short, long_name in RELATIONS:
        refs = [x for x in props.get(short, "").split(",") if x]
        if refs:
            doc[long_name] = [ids[r] for r in refs if r in ids]
    services = []
    for ref in [x for x in props.get("svc", "").split(",") if x]:
        srec = txt.get("_%s._did." % ref)
        if srec is None:
            raise DidDhtError("%s: root lists %s but the packet has no _%s._did. record" % (did, ref, ref))
        sp = _props(srec)
        services.append({"id": "%s#%s" % (did, sp.get("id", ref)), "type": sp.get("t"),
                         "serviceEndpoint": [e for e in sp.get("se", "").split(",") if e]})
    if services:
        doc["service"] = services
    if txt.get("_cnt._did."):
        cnt = txt["_cnt._did."].split(",")
        doc["controller"] = cnt[0] if len(cnt) == 1 else cnt
    if txt.get("_aka._did."):
        doc["alsoKnownAs"] = txt["_aka._did."].split(",")
    return doc, gateways


def types_from_records(records):
    for name, rtype, text in (r[:3] for r in records):
        if name == "_typ._did." and rtype == "TXT":
            return [int(x) for x in _props(text).get("id", "").split(",") if x.isdigit()]
    return []


def records_text(records):
    """Zone-file-like lines for a diff, in a stable order."""
    lines = ["%s %d IN %s %s" % (r[0], TTL, r[1], json.dumps(r[2]) if r[1] == "TXT" else r[2]) for r in records]
    return "\n".join(sorted(lines)) + ("\n" if lines else "")


# ---------- deciding ----------

def next_seq(now, last_seq=None):
    return max(int(now), (last_seq or 0) + 1)


def choose_best(found):
    """The highest-seq valid item of [{relay, seq, records, ...}]; None when there is none."""
    valid = [f for f in found if f.get("records") is not None]
    return max(valid, key=lambda f: f["seq"]) if valid else None


def publish_reason(desired_doc, desired_extra, best, relays_missing, now, refresh):
    """Why the DID needs publishing, or None when what is on the DHT is current.

    desired_doc is the DID Document to have (None for a deactivation), desired_extra the parts
    the document does not show (gateways, types); best the current item (or None)."""
    if best is None:
        return "not published on any relay" if desired_doc is not None else None
    if desired_doc is None:
        return None if best["document"] is None else "published and active: deactivating"
    if best["document"] is None:
        return "the DHT holds a deactivation record"
    if best["document"] != desired_doc or best["extra"] != desired_extra:
        return "the published DID Document differs"
    if relays_missing:
        return "missing on %s" % ", ".join(relays_missing)
    age = int(now) - int(best["seq"])
    if age >= refresh:
        return "published %d s ago, refresh interval %d s" % (age, refresh)
    return None


# ---------- what the module does, on injected relays and clock ----------

def resolve_all(did, relays, bases):
    """Every relay's view of did: [{relay, status: found|absent|invalid|unreachable, ...}]."""
    pub, z32 = public_from_did(did), did[len(DID_PREFIX):]
    found = []
    for base in bases:
        entry = {"relay": base}
        try:
            body = relays.get(base, z32)
        except RelayError as exc:
            entry.update(status="unreachable", error=exc.message, records=None)
            found.append(entry)
            continue
        if body is None:
            entry.update(status="absent", records=None)
        else:
            try:
                seq, v = verify_body(pub, body)
                records = [r[:3] for r in decode_packet(v)]
                document, gateways = document_from_records(did, records)
                entry.update(status="found", seq=seq, records=records, document=document, packet_bytes=len(v),
                             extra={"gateways": sorted(gateways), "types": sorted(types_from_records(records))})
            except DidDhtError as exc:
                entry.update(status="invalid", error=str(exc), records=None)
        found.append(entry)
    return found


def summary(found):
    return [dict((k, f[k]) for k in ("relay", "status", "seq", "error") if k in f) for f in found]


def desired_state(pub, state, options):
    """(records, packet, document, extra) for state present or absent; DidDhtError when too big."""
    did = did_from_public(pub)
    if state == "absent":
        records = deactivation_records(pub)
    else:
        records = records_for(pub, keys=options.get("keys"), services=options.get("services"),
                              controllers=options.get("controllers"), also_known_as=options.get("also_known_as"),
                              types=options.get("types"), gateways=options.get("gateways"))
    packet = encode_packet(records)
    if len(packet) > MAX_PACKET:
        raise DidDhtError("the DID Document encodes to a %d-byte DNS packet; the DHT takes at most %d "
                          "(fewer or shorter services, keys or names)" % (len(packet), MAX_PACKET))
    decoded = [r[:3] for r in decode_packet(packet)]
    document, gateways = document_from_records(did, decoded)
    extra = {"gateways": sorted(gateways), "types": sorted(types_from_records(decoded))}
    return records, packet, document, extra


def ensure(key, state, options, relays, bases, now, check_mode, refresh=3600, read_back=True):
    """Publish (present/absent) when needed. Returns the module result; raises DidDhtError or the
    relay client's error with what was done so far in the message."""
    pub = public_bytes(key)
    did = did_from_public(pub)
    if options.get("did") and options["did"] != did:
        raise DidDhtError("did %s is not this node's: its identity key gives %s" % (options["did"], did))
    records, packet, document, extra = desired_state(pub, state, options)
    found = resolve_all(did, relays, bases)
    down = [f for f in found if f["status"] == "unreachable"]
    if down:
        raise DidDhtError("; ".join(f["error"] for f in down))
    best = choose_best(found)
    missing = [f["relay"] for f in found if f["status"] != "found" or (best and f["seq"] < best["seq"])]
    reason = publish_reason(document, extra, best, missing if best else [], now, refresh)
    result = {"did": did, "public_key": pub.hex(), "changed": bool(reason), "reason": reason or "up to date",
              "document": document, "deactivated": document is None, "packet_bytes": len(packet),
              "seq": best["seq"] if best else None, "relays": summary(found),
              "diff": {"before_header": "%s (on the DHT)" % did, "after_header": "%s (wanted)" % did,
                       "before": records_text(best["records"]) if best else "", "after": records_text(records)}}
    if not reason or check_mode:
        return result
    seq = next_seq(now, best["seq"] if best else None)
    _sig, body = sign_packet(key, seq, packet)
    z32 = did[len(DID_PREFIX):]
    published = []
    for base in bases:
        try:
            relays.put(base, z32, body)
        except RelayError as exc:
            raise DidDhtError("%s%s" % (exc.message,
                                        "; already published to %s" % ", ".join(published) if published
                                        else "; nothing was published"))
        published.append(base)
    result.update(seq=seq, published_to=published)
    if read_back:
        back = resolve_all(did, relays, bases)
        stale = [f["relay"] for f in back if f["status"] != "found" or f["seq"] != seq]
        if stale:
            raise DidDhtError("published seq %d, but reading it back from %s gave %s (a relay that serves an "
                              "older seq answers from a stale cache)"
                              % (seq, ", ".join(stale), summary([f for f in back if f["relay"] in stale])))
        result["relays"] = summary(back)
    return result


def resolve(did, relays, bases, now):
    """The state: resolved result; DidDhtError when no relay holds a valid record."""
    found = resolve_all(did, relays, bases)
    best = choose_best(found)
    if best is None:
        raise DidDhtError("%s was not found on any relay: %s" % (
            did, "; ".join("%s %s%s" % (f["relay"], f["status"], " (%s)" % f["error"] if f.get("error") else "")
                           for f in found)))
    return {"did": did, "public_key": public_from_did(did).hex(), "changed": False, "document": best["document"], "deactivated": best["document"] is None,
            "seq": best["seq"], "age": int(now) - int(best["seq"]), "packet_bytes": best["packet_bytes"],
            "gateways": best["extra"]["gateways"], "types": best["extra"]["types"],
            "records": records_text(best["records"]), "relays": summary(found)}
