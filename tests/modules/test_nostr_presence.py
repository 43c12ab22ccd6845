"""nostr_identity's presence against the lab's Nostr relay (nostr-relay, not written here): the
lab API instance on loopback signs, the module publishes and reads back; nostr-tools (not written
here) fetches the record and verifies it. Each lab API instance has a fresh key, so tests share
the relay without seeing each other's records."""
import json
import socket

import pytest

from dhtpeers import lab_nostr_relay, nostr_tools

ADDRESS = "abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvwx.onion"


@pytest.fixture(scope="module")
def relay():
    return lab_nostr_relay()


def url(inst):
    return inst.url + "/rpc/v1"


def presence_task(inst, relays, **kw):
    presence = {"relays": relays, "address": ADDRESS, "private_relays": True, "version": "lab-1",
                "topic": "archy-module-tests", **kw}
    return {"archipelago.node.nostr_identity": {"url": url(inst), "presence": presence}}


def dead_relay():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"ws://127.0.0.1:{port}"


def record(relay, pubkey):
    got = nostr_tools("fetch", relay, {"kinds": [30078], "authors": [pubkey], "#d": ["archipelago-node"]})
    assert all(got["verified"]), got
    return got["events"]


def test_presence_is_published_verified_elsewhere_and_idempotent(play, spawn_api, relay):
    a = spawn_api("alpha")
    did = a.client().ok("node.did")["did"]
    task = [presence_task(a, [relay])]
    # check mode: the key would be created, the record would be published; nothing is written
    rc, res, out = play(task, check=True, diff=True)
    assert rc == 0, out
    assert res[0]["changed"] and res[0]["repair"] == "create"
    assert [r["state"] for r in res[0]["presence"]["relays"]] == ["would_publish"]
    assert a.client().ok("node.nostr-pubkey")["nostr_pubkey"] is None
    rc, res, out = play(task, diff=True)
    assert rc == 0, out
    pub = res[0]["nostr_pubkey"]
    assert [r["state"] for r in res[0]["presence"]["relays"]] == ["published"], res[0]["presence"]
    assert res[0]["diff"]["before"]["presence"] == {relay: "missing"}
    events = record(relay, pub)
    assert len(events) == 1 and events[0]["id"] == res[0]["presence"]["event_id"]
    assert json.loads(events[0]["content"]) == {"did": did, "node_address": ADDRESS, "version": "lab-1"}
    assert ["t", "archy-module-tests"] in events[0]["tags"] and ["d", "archipelago-node"] in events[0]["tags"]
    # the same facts again: nothing is signed or sent; check mode agrees
    for check in (True, False):
        rc, res, out = play(task, check=check)
        assert rc == 0 and not res[0]["changed"], out
        assert [r["state"] for r in res[0]["presence"]["relays"]] == ["current"]
        assert "identity.nostr-sign" not in [c["method"] for c in res[0]["rpc_calls"]]
    # another address: the record is replaced (a later created_at), and the relay keeps only it
    first = events[0]
    rc, res, out = play([presence_task(a, [relay], address="other.example")], diff=True)
    assert rc == 0 and res[0]["changed"] and res[0]["diff"]["before"]["presence"] == {relay: "stale"}, out
    events = record(relay, pub)
    assert len(events) == 1 and events[0]["created_at"] > first["created_at"]
    assert json.loads(events[0]["content"])["node_address"] == "other.example"


def test_presence_counts_relays_and_says_which_failed(play, spawn_api, relay):
    a = spawn_api("alpha")
    dead, not_ws = dead_relay(), "ws" + a.url[4:] + "/"
    rc, res, out = play([presence_task(a, [relay, dead, not_ws])])
    assert rc == 0, out
    states = {r["url"]: r["state"] for r in res[0]["presence"]["relays"]}
    assert states == {relay: "published", dead: "unreachable", not_ws: "unreachable"}, res[0]["presence"]
    reasons = {r["url"]: r["reason"] for r in res[0]["presence"]["relays"]}
    assert "cannot connect" in reasons[dead] and "not a WebSocket endpoint" in reasons[not_ws]
    # two relays must hold it, only one can: the run fails and names the others
    rc, res, out = play([presence_task(a, [relay, dead], min_relays=2)])
    assert rc != 0 and "on 1 of the 2 relays" in res[0]["msg"] and dead in res[0]["msg"], out


@pytest.mark.parametrize("presence, message", [
    ({"address": ADDRESS, "private_relays": False}, "never publishes onion addresses to public relays"),
    ({"relays": ["http://relay.invalid/"]}, "is not a ws:// or wss:// URL"),
    ({"relays": ["ws://user:pw@127.0.0.1:1/"]}, "carries no user, password"),
    ({"relays": []}, "at least one relay"),
    ({"min_relays": 0}, "min_relays must be between 1"),
    ({"topic": "Has Space"}, "presence.topic must be"),
    ({"max_age": -1}, "presence.max_age must be"),
])
def test_bad_presence_options_change_nothing(play, spawn_api, relay, presence, message):
    a = spawn_api("alpha")
    task = presence_task(a, [relay])
    task["archipelago.node.nostr_identity"]["presence"].update(presence)
    rc, res, out = play([task])
    assert rc != 0 and message in res[0]["msg"], out
    assert "pw@" not in out
    # refused before anything: no key was created, nothing signed
    assert a.client().ok("node.nostr-pubkey")["nostr_pubkey"] is None


def test_a_record_signed_elsewhere_is_read_as_stale_not_trusted(play, spawn_api, relay):
    """A relay's record for the node's key that does not verify (here: another key's signature
    under the node's pubkey) is not taken as the node's presence: the module publishes its own."""
    a = spawn_api("alpha")
    pub = a.client().ok("identity.create-nostr-key")["nostr_pubkey"]
    other = nostr_tools("keygen")
    forged = nostr_tools("sign", other["secret"], {"kind": 30078, "created_at": 1796000000, "content": "{}",
                                                   "tags": [["d", "archipelago-node"], ["t", "archipelago"]]})
    forged["pubkey"] = pub   # the relay refuses it, as it should: nothing of it can be read back
    assert nostr_tools("publish", relay, forged)["ok"] is False
    rc, res, out = play([presence_task(a, [relay])])
    assert rc == 0 and [r["state"] for r in res[0]["presence"]["relays"]] == ["published"], out
    assert nostr_tools("verify", record(relay, pub)[0])["valid"] is True
