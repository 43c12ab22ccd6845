"""Nostr presence (module_utils/nostr.py): events checked against signatures made by libsecp256k1
(coincurve, not written here), the presence rules, the option checks and the WebSocket reader's
refusals on frames a relay must not send."""
import json
import os
import struct

import coincurve
import pytest

from ansible_collections.archipelago.node.plugins.module_utils import nostr

NOW = 1800000000


def keypair():
    sk = coincurve.PrivateKey()
    return sk, sk.public_key.format(compressed=True)[1:].hex()


def signed(sk, pub, content="{}", created_at=NOW, kind=nostr.PRESENCE_KIND, tags=None):
    tags = nostr.presence_tags("archipelago") if tags is None else tags
    ev = {"pubkey": pub, "created_at": created_at, "kind": kind, "tags": tags, "content": content}
    ev["id"] = nostr.event_id(pub, created_at, kind, tags, content)
    ev["sig"] = sk.sign_schnorr(bytes.fromhex(ev["id"]), os.urandom(32)).hex()
    return ev


CONTENT = nostr.presence_content("did:dht:abc", "x.onion", "1.0")


def test_signatures_by_libsecp256k1_verify_and_any_change_does_not():
    for dummy in range(20):
        sk, pub = keypair()
        ev = signed(sk, pub, CONTENT)
        assert nostr.event_problem(ev) is None
        assert nostr.event_problem(dict(ev, content=CONTENT + " ")) == "the id is not the hash of the event"
        s = int(ev["sig"][64:], 16)
        assert nostr.event_problem(dict(ev, sig=ev["sig"][:64] + "%064x" % ((s + 1) % nostr._N))) \
            == "the signature does not verify"
        other = keypair()[1]
        forged = dict(ev, pubkey=other, id=nostr.event_id(other, NOW, ev["kind"], ev["tags"], ev["content"]))
        assert nostr.event_problem(forged) == "the signature does not verify"


@pytest.mark.parametrize("change, problem", [
    ({"kind": True}, "kind is not a non-negative integer"),
    ({"created_at": -1}, "created_at is not a non-negative integer"),
    ({"kind": 70000}, "kind above 65535"),
    ({"tags": [["d", 1]]}, "tags are not lists of strings"),
    ({"id": "AB" * 32}, "not lowercase hex"),
    ({"content": None}, "no content"),
])
def test_malformed_events_are_named(change, problem):
    sk, pub = keypair()
    assert problem in nostr.event_problem(dict(signed(sk, pub), **change))
    assert nostr.event_problem(["EVENT"]) == "not an object"


def test_a_pubkey_off_the_curve_never_verifies():
    off = next(x for x in range(2, 100) if nostr._lift_x(x) is None)
    assert not nostr.is_pubkey("%064x" % off)
    assert not nostr.schnorr_verify(b"\0" * 32, off.to_bytes(32, "big"), b"\1" * 64)


def test_the_latest_record_wins_and_ties_go_to_the_lowest_id():
    sk, pub = keypair()
    old, new = signed(sk, pub, CONTENT, NOW - 10), signed(sk, pub, CONTENT, NOW)
    twin = signed(sk, pub, nostr.presence_content("did:dht:abc", "y.onion", "1.0"), NOW)
    other_sk, other = keypair()
    stranger = signed(other_sk, other, CONTENT, NOW + 100)
    bad = dict(signed(sk, pub, CONTENT, NOW + 500), content="forged")
    latest, problems = nostr.latest_presence([old, new, twin, stranger, bad], pub)
    assert latest["id"] == min(new["id"], twin["id"]) and problems == ["the id is not the hash of the event"]
    not_presence = signed(sk, pub, CONTENT, NOW + 5, tags=[["d", "something-else"]])
    assert nostr.latest_presence([not_presence], pub) == (None, [])


def test_when_a_record_is_current():
    sk, pub = keypair()
    ev = signed(sk, pub, CONTENT, NOW - 100)
    assert nostr.presence_current(ev, CONTENT, "archipelago", NOW, 3600) == (True, None)
    reordered = signed(sk, pub, json.dumps({"version": "1.0", "node_address": "x.onion", "did": "did:dht:abc"}))
    assert nostr.presence_current(reordered, CONTENT, "archipelago", NOW, 0)[0]
    assert nostr.presence_current(ev, CONTENT, "archipelago", NOW, 50) == (False, "the relay's record is older than 50 s")
    assert nostr.presence_current(ev, CONTENT, "elsewhere", NOW, 0)[1] == "the relay's record lacks the topic elsewhere"
    changed = nostr.presence_content("did:dht:abc", "z.onion", "1.0")
    assert nostr.presence_current(ev, changed, "archipelago", NOW, 0)[1] == "the relay's record says something else"
    assert nostr.presence_current(signed(sk, pub, "not json"), CONTENT, "archipelago", NOW, 0)[0] is False
    assert nostr.presence_current(None, CONTENT, "archipelago", NOW, 0)[0] is False


def test_relay_states_and_the_next_created_at():
    sk, pub = keypair()
    reads = {"ws://a": (signed(sk, pub, CONTENT, NOW - 5), []), "ws://b": (None, []),
             "ws://c": nostr.NostrError("ws://c: cannot connect"),
             "ws://d": (signed(sk, pub, "{}", NOW + 30), ["the signature does not verify"])}
    states = nostr.relay_states(reads, CONTENT, "archipelago", NOW, 0)
    assert [s["state"] for s in states] == ["current", "missing", "unreachable", "stale"]
    assert "1 event(s) that do not verify" in states[3]["reason"]
    assert nostr.next_created_at(NOW, states) == NOW + 31
    assert nostr.next_created_at(NOW, states[:3]) == NOW


@pytest.mark.parametrize("args, message", [
    (([], None, False, 1), "at least one relay"),
    ((["ws://a", "ws://a"], None, False, 1), "names a relay twice"),
    ((["wss://a"], None, False, 2), "between 1 and the number of relays (1)"),
    ((["ftp://a"], None, False, 1), "not a ws:// or wss:// URL"),
    ((["ws://a?x=1"], None, False, 1), "no user, password, query"),
    ((["ws://a b"], None, False, 1), "is not a relay URL"),
    ((["ws://a:99999"], None, False, 1), "is not a relay URL"),
    ((["ws://a"], "http://abc.onion/", False, 1), "onion address"),
    ((["ws://a"], "has space", False, 1), "without spaces"),
])
def test_presence_options_refused(args, message):
    assert message in nostr.check_presence_options(*args)


def test_presence_options_allowed():
    assert nostr.check_presence_options(["ws://a", "wss://b:443/x"], "abc.onion", True, 2) is None
    assert nostr.check_presence_options(["ws://a"], "node.example.org", False, 1) is None
    assert "topic" in nostr.check_presence_options(["ws://a"], None, False, 1, topic="")
    assert nostr.is_onion_address("abc.onion:80") and not nostr.is_onion_address("onion.example")


class FakeSocket(object):
    def __init__(self, data):
        self.data, self.sent = data, b""

    def settimeout(self, t):
        pass

    def recv(self, n):
        out, self.data = self.data[:n], self.data[n:]
        return out

    def sendall(self, data):
        self.sent += data

    def close(self):
        pass


def frame(opcode, payload, fin=True, masked=False):
    head = struct.pack("!B", (0x80 if fin else 0) | opcode)
    n = len(payload)
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head += struct.pack("!B", mask_bit | n)
    else:
        head += struct.pack("!BH", mask_bit | 126, n)
    return head + (b"\0\0\0\0" if masked else b"") + payload


def relay_reading(data):
    r = nostr.Relay("ws://127.0.0.1:1", 5)
    r.sock = FakeSocket(data)
    return r


def test_the_reader_assembles_fragments_and_answers_pings():
    msg = json.dumps(["EOSE", "archy"]).encode()
    r = relay_reading(frame(0x9, b"hi") + frame(0x1, msg[:5], fin=False) + frame(0x0, msg[5:]))
    assert r.recv() == ["EOSE", "archy"]
    assert r.sock.sent[:1] == b"\x8a"   # a pong went back


@pytest.mark.parametrize("data, message", [
    (frame(0x1, b"[]", masked=True), "masks its frames"),
    (frame(0x1, b"not json"), "not JSON"),
    (frame(0x1, b"{}"), "not a Nostr array"),
    (frame(0x8, b""), "closed the connection"),
    (frame(0x3, b"x"), "unknown opcode"),
    (b"\x81\x7f" + struct.pack("!Q", 1 << 40), "a message over"),
    (b"\x81", "closed the connection"),
])
def test_the_reader_refuses_what_a_relay_must_not_send(data, message):
    with pytest.raises(nostr.NostrError, match=message):
        relay_reading(data).recv()


def test_an_ok_without_a_boolean_verdict_is_refused():
    sk, pub = keypair()
    ev = signed(sk, pub)
    r = relay_reading(frame(0x1, json.dumps(["NOTICE", "hello"]).encode())
                      + frame(0x1, json.dumps(["OK", ev["id"], "yes"]).encode()))
    with pytest.raises(nostr.NostrError, match="verdict"):
        r.publish(ev)
    r = relay_reading(frame(0x1, json.dumps(["OK", "", False, "invalid: Bad signature"]).encode()))
    assert r.publish(ev) == (False, "invalid: Bad signature")
