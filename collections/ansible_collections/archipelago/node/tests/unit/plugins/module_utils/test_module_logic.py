"""Pure decisions of the collection's modules: Nostr repair plan, invite reading."""
import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ansible_collections.archipelago.node.plugins.module_utils import identity, invite

PUB = "a" * 64


@pytest.mark.parametrize("answer, rotate, expected", [
    ({"nostr_pubkey": PUB, "nostr_npub": "npub1x"}, False, "none"),                 # bare contract shape
    ({"nostr_pubkey": PUB, "revocation_marker": None}, False, "none"),
    ({"nostr_pubkey": PUB, "revocation_marker": {"present": True, "empty": True}}, False, "clear_marker"),
    ({"nostr_pubkey": PUB, "revocation_marker": {"present": True, "empty": False, "revoked_pubkey": PUB}}, False, "create"),
    ({"nostr_pubkey": PUB, "revocation_marker": {"present": True, "empty": False, "revoked_pubkey": "b" * 64}}, False, "none"),
    ({"nostr_pubkey": None, "revocation_marker": {"present": True, "empty": True}}, False, "create"),
    ({"nostr_pubkey": "not-hex"}, False, "create"),
    ({"nostr_pubkey": PUB}, True, "create"),
])
def test_plan_nostr(answer, rotate, expected):
    assert identity.plan_nostr(identity.nostr_state(answer), rotate)[0] == expected


def b58(data):
    alphabet = invite.B58
    n, out = int.from_bytes(data, "big"), ""
    while n:
        n, r = divmod(n, 58)
        out = alphabet[r] + out
    return out


def make_code(key, **changes):
    pub = key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    payload = {"v": 1, "did": "did:key:z" + b58(b"\xed\x01" + pub), "address": "http://10.203.0.11",
               "invite_id": "abc", "secret": "s", "expires_at": int(time.time()) + 600}
    payload.update(changes)
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()

    def enc(b):
        return base64.urlsafe_b64encode(b).decode().rstrip("=")
    return "archy1." + enc(raw) + "." + enc(key.sign(raw)), payload


def tamper(code, **changes):
    prefix, body, sig = code.split(".")
    payload = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    payload.update(changes)
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return ".".join([prefix, base64.urlsafe_b64encode(raw).decode().rstrip("="), sig])


def test_read_invite_accepts_a_genuine_code():
    code, payload = make_code(Ed25519PrivateKey.generate())
    assert invite.read_invite(code) == payload


@pytest.mark.parametrize("mangle, message", [
    (lambda c: "hello", "malformed invite code"),
    (lambda c: "archy1.%%%.%%%", "malformed"),
    (lambda c: tamper(c, address="http://10.203.0.99"), "forged or tampered"),
])
def test_read_invite_refuses_bad_codes(mangle, message):
    code, dummy = make_code(Ed25519PrivateKey.generate())
    with pytest.raises(invite.InviteError) as err:
        invite.read_invite(mangle(code))
    assert message in str(err.value)


def test_read_invite_refuses_expired_and_unknown_key_types():
    code, dummy = make_code(Ed25519PrivateKey.generate(), expires_at=int(time.time()) - 1)
    with pytest.raises(invite.InviteError, match="expired"):
        invite.read_invite(code)
    with pytest.raises(invite.InviteError, match="unknown key type"):
        invite.did_key_public("did:key:z" + b58(b"\xe7\x01" + b"\x02" * 33))
