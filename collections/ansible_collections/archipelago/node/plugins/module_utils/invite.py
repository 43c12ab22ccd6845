# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""Federation invite codes: reading one without contacting anybody.

The code's format is the lab's documented choice (the upstream format is a gap in the
contract): "archy1." + b64url(JSON payload) + "." + b64url(Ed25519 signature of the payload),
the payload carrying {v, did, address, onion, invite_id, secret, expires_at}. The signature is
checked against the did:key inside; without the cryptography library no code is accepted. Every
part is bounded before any decoding or signature work (the code's length, the DID's length, the
JSON's depth).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import json
import math
import time

B58 = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"


CODE_MAX = 4096           # a real code is about 400 characters
DID_KEY_MAX = 64          # an Ed25519 did:key is 56 characters


class InviteError(ValueError):
    pass


class MissingCryptography(InviteError):
    """The signature cannot be checked here: the code is refused (fail closed)."""


def _unb64u(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def did_key_public(did):
    """The 32-byte Ed25519 key of a did:key (multibase base58btc, multicodec 0xed01)."""
    if not isinstance(did, str) or not did.startswith("did:key:z") or len(did) > DID_KEY_MAX:
        raise InviteError("the invite's DID %r is not an Ed25519 did:key" % (did[:80] if isinstance(did, str) else did,))
    n = 0
    for ch in did[len("did:key:z"):]:
        idx = B58.find(ch)
        if idx < 0:
            raise InviteError("the invite's DID is not base58btc")
        n = n * 58 + idx
    raw = n.to_bytes((n.bit_length() + 7) // 8, "big")
    if len(raw) != 34 or raw[:2] != b"\xed\x01":
        raise InviteError("the invite's DID is not an Ed25519 did:key (unknown key type)")
    return raw[2:]


def read_invite(code, now=None, verify=True):
    """The payload of an invite code; InviteError naming what is wrong."""
    if not isinstance(code, str) or not code.startswith("archy1.") or code.count(".") != 2:
        raise InviteError("malformed invite code: expected archy1.<payload>.<signature>")
    if len(code) > CODE_MAX:
        raise InviteError("malformed invite code: %d characters, a code has at most %d" % (len(code), CODE_MAX))
    body, sig = code.split(".")[1:]
    try:
        raw = _unb64u(body)
        sig = _unb64u(sig)
        payload = json.loads(raw.decode("utf-8"))
    except (ValueError, TypeError, UnicodeDecodeError, RecursionError):
        raise InviteError("malformed invite code: the payload is not base64url JSON")
    if not isinstance(payload, dict):
        raise InviteError("malformed invite code: the payload is not an object")
    for key in ("did", "address", "invite_id", "secret", "expires_at"):
        if key not in payload:
            raise InviteError("malformed invite code: no %s in the payload" % key)
    pub = did_key_public(payload["did"])
    if verify:
        try:
            from cryptography.exceptions import InvalidSignature
            from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
        except ImportError:
            raise MissingCryptography("cryptography (Debian: python3-cryptography)")
        try:
            Ed25519PublicKey.from_public_bytes(pub).verify(sig, raw)
        except (InvalidSignature, ValueError):
            raise InviteError("the invite's signature does not match its DID: forged or tampered code")
    expires = payload["expires_at"]
    if isinstance(expires, bool) or not isinstance(expires, (int, float)) or not math.isfinite(expires):
        raise InviteError("malformed invite code: expires_at %r is not a time" % (expires,))
    if expires < (now or time.time()):
        raise InviteError("the invite has expired (ask the inviter for a new code)")
    return payload
