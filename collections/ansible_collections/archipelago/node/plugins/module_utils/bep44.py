# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""BEP44 mutable items: signing input, target, the Pkarr relay body, Ed25519 sign and verify.

Pure functions, part of did:dht (module_utils/did_dht.py); tested against the did:dht spec vectors,
the BEP44 vectors and dnspython's encoder."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import hashlib
import re
import struct

from ansible_collections.archipelago.node.plugins.module_utils.did_dht_errors import DidDhtError

RELAY_BODY_MIN, RELAY_BODY_MAX = 72, 1072


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
