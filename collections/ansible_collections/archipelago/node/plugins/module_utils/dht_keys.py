# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""did:dht keys as JWKs: the key types, EC point compression on their curves, thumbprints.

Pure functions, part of did:dht (module_utils/did_dht.py); tested against the did:dht spec vectors,
the BEP44 vectors and dnspython's encoder."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import json

from ansible_collections.archipelago.node.plugins.module_utils.did_dht_errors import DidDhtError
from ansible_collections.archipelago.node.plugins.module_utils.dht_codec import b64u, b64u_decode

# t= code -> (kty, crv, default alg)
KEY_TYPES = {0: ("OKP", "Ed25519", "EdDSA"), 1: ("EC", "secp256k1", "ES256K"),
             2: ("EC", "P-256", "ES256"), 3: ("OKP", "X25519", "ECDH-ES+A256KW")}
KEY_TYPE_BY_CRV = dict((v[1], k) for k, v in KEY_TYPES.items())


def _jwk_thumbprint(jwk):
    members = ("crv", "kty", "x", "y") if jwk.get("kty") == "EC" else ("crv", "kty", "x")
    canon = json.dumps(dict((m, jwk[m]) for m in members), separators=(",", ":"), sort_keys=True)
    return b64u(hashlib.sha256(canon.encode()).digest())


def _int(b):
    return int(bytes(b).hex() or "0", 16)


def _curve(crv):
    from cryptography.hazmat.primitives.asymmetric import ec
    return {"secp256k1": ec.SECP256K1, "P-256": ec.SECP256R1}[crv]()


def _compress_point(jwk):
    """The 33-byte compressed point of an EC JWK; DidDhtError unless (x, y) is on the curve."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    x, y = b64u_decode(jwk.get("x", ""), "x"), b64u_decode(jwk.get("y", ""), "y")
    if len(x) != 32 or len(y) != 32:
        raise DidDhtError("an EC key needs 32-byte x and y")
    try:
        key = ec.EllipticCurvePublicNumbers(_int(x), _int(y), _curve(jwk["crv"])).public_key()
    except ValueError:
        raise DidDhtError("the %s key (x, y) is not a point on the curve" % jwk["crv"])
    return key.public_bytes(serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint)


def _decompress_point(crv, raw):
    """(x, y) base64url of a compressed point; DidDhtError unless it is on the curve."""
    from cryptography.hazmat.primitives.asymmetric import ec
    if len(raw) != 33 or raw[0:1] not in (b"\x02", b"\x03"):
        raise DidDhtError("%s key is not a 33-byte compressed point" % crv)
    try:
        numbers = ec.EllipticCurvePublicKey.from_encoded_point(_curve(crv), bytes(raw)).public_numbers()
    except ValueError:
        raise DidDhtError("%s key is not a point on the curve" % crv)
    return b64u(numbers.x.to_bytes(32, "big")), b64u(numbers.y.to_bytes(32, "big"))


def key_from_jwk(jwk):
    """(t code, raw key bytes, alg) of a public JWK; DidDhtError for an unknown key type."""
    if not isinstance(jwk, dict):
        raise DidDhtError("a key's jwk must be a mapping")
    crv = jwk.get("crv")
    if not isinstance(crv, str) or crv not in KEY_TYPE_BY_CRV or KEY_TYPES[KEY_TYPE_BY_CRV[crv]][0] != jwk.get("kty"):
        raise DidDhtError("unknown key type kty=%.40r crv=%.40r (did:dht knows Ed25519, secp256k1, P-256, X25519)"
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
