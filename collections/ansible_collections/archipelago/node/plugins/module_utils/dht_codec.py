# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""z-base-32, base64url and the did:dht identifier <-> public key.

Pure functions, part of did:dht (module_utils/did_dht.py); tested against the did:dht spec vectors,
the BEP44 vectors and dnspython's encoder."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64

from ansible_collections.archipelago.node.plugins.module_utils.did_dht_errors import DidDhtError

Z32_ALPHABET = "ybndrfg8ejkmcpqxot1uwisza345h769"
DID_PREFIX = "did:dht:"


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
