"""The lab node API over HTTP: the backend's contract as the collection's modules rely on it."""
import base64
import hashlib
import json
import os
import socket
import subprocess
import sys
import time

import pytest

from labhosts import LAB_API as API, ROOT, wait_until


sys.path.insert(0, str(ROOT / "lab" / "api"))
from archylab_api import auth as lab_auth  # noqa: E402
from archylab_api import federation as lab_fed  # noqa: E402


# ---------- envelope and bad input ----------
def test_health_is_unauthenticated(spawn_api):
    api = spawn_api()
    status, body = api.client(login=False).call("health")
    assert status == 200 and body["error"] is None
    assert body["result"]["status"] == "ok" and {"uptime_seconds", "version", "crash_recovery_complete"} <= set(body["result"])


@pytest.mark.parametrize("raw, message", [
    (b"{not json", "invalid JSON-RPC request"),
    (b"[1, 2]", "invalid JSON-RPC request"),
    (b'{"method": 5}', "invalid request"),
    (b'{"method": "health", "params": [1]}', "invalid request"),
    (b'{"method": "no.such-method"}', "unknown method"),
])
def test_bad_requests_get_a_clear_envelope_error(spawn_api, raw, message):
    api = spawn_api()
    status, text = api.client(login=False).raw(raw)
    body = json.loads(text)
    assert status == 200 and body["result"] is None and message in body["error"]["message"]
    assert "Traceback" not in text


def test_wrong_parameter_types_are_named(spawn_api):
    c = spawn_api().client()
    status, body = c.call("backup.verify", {"id": 5, "passphrase": "x" * 10})
    assert status == 200 and body["error"]["message"] == "parameter 'id' must be of type str"
    status, body = c.call("federation.invite", {"expires_in": "soon"})
    assert body["error"]["message"] == "parameter 'expires_in' must be of type int"


def test_oversize_body_is_refused(spawn_api):
    api = spawn_api()
    status, text = api.client(login=False).raw(json.dumps({"method": "health", "params": {"x": "a" * 70000}}).encode())
    assert status == 413 and "request body" in json.loads(text)["error"]["message"]
    assert api.proc.poll() is None


# ---------- auth, CSRF, rate limits ----------
def test_no_session_is_401(spawn_api):
    status, body = spawn_api().client(login=False).call("node.did")
    assert status == 401 and body["error"]["message"] == "authentication required"


def test_missing_or_wrong_csrf_is_403(spawn_api):
    c = spawn_api().client()
    status, _ = c.call("node.did", csrf=False)
    assert status == 403
    status, _ = c.call("node.did", csrf=False, headers={"X-CSRF-Token": "forged"})
    assert status == 403
    assert c.ok("node.did")["did"].startswith("did:key:z6Mk")


def test_wrong_password_is_refused(spawn_api):
    status, body = spawn_api().client(login=False).call("auth.login", {"password": "wrong password"})
    assert status == 200 and body["error"]["message"] == "invalid password"


def test_login_rate_limit_per_address(spawn_api):
    api = spawn_api()
    c = api.client(login=False, ip="10.9.9.9")
    codes = [c.call("auth.login", {"password": "nope-nope"})[0] for _ in range(6)]
    assert codes == [200] * 5 + [429]
    # another address is not affected
    assert api.client(login=False, ip="10.9.9.10").call("auth.login", {"password": "nope-nope"})[0] == 200


def test_totp_login(spawn_api):
    api = spawn_api()
    secret = api.client().ok("auth.totp.enable")["secret"]
    c = api.client(login=False)
    assert c.login() == {"requires_totp": True, "signer": False}
    assert c.call("node.did")[0] == 401          # a pending session is no session
    assert c.call("auth.login.totp", {"code": "000000" if lab_auth.totp(secret) != "000000" else "111111"})[1]["error"]
    c.ok("auth.login.totp", {"code": lab_auth.totp(secret)})
    assert c.ok("node.did")["did"].startswith("did:key:")


# ---------- identity ----------
def test_identity_key_is_0600_and_stable(spawn_api):
    api = spawn_api()
    did = api.client().ok("node.did")["did"]
    key = api.data / "identity" / "ed25519.pem"
    assert oct(key.stat().st_mode & 0o777) == "0o600"
    api.stop()
    proc = subprocess.Popen([sys.executable, str(API)], env=api.env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_until(api.listening, 20, "the API to restart")
        assert api.client().ok("node.did")["did"] == did
    finally:
        proc.kill()
        proc.wait()


def test_nostr_key_revocation_and_signing(spawn_api):
    import coincurve
    api = spawn_api()
    c = api.client()
    info = c.ok("identity.create-nostr-key")
    pub = info["nostr_pubkey"]
    assert len(pub) == 64 and info["nostr_npub"].startswith("npub1") and not info["revoked"]
    (api.data / "identity" / "nostr_revoked").write_text("")
    info = c.ok("node.nostr-pubkey")
    assert info["revoked"] and info["revocation_marker"] == {"present": True, "empty": True, "revoked_pubkey": None}
    assert c.call("identity.nostr-sign", {"event": {"kind": 1, "content": "x", "tags": []}})[1]["error"]
    assert c.ok("identity.clear-nostr-revocation")["removed"] is True
    event = c.ok("identity.nostr-sign", {"event": {"kind": 1, "content": "gm", "tags": [["t", "lab"]], "created_at": 1700000000}})
    assert event["pubkey"] == pub
    assert coincurve.PublicKeyXOnly(bytes.fromhex(pub)).verify(bytes.fromhex(event["sig"]), bytes.fromhex(event["id"]))
    status, body = c.call("identity.nostr-sign", {"event": {"kind": 1, "content": "x", "tags": []}},
                          headers={"Origin": "http://node/app/mempool/"})
    assert "app origins" in body["error"]["message"]


# ---------- federation ----------
def test_invite_is_single_use_and_join_is_mutual(spawn_api):
    a, b, c = spawn_api("alpha"), spawn_api("beta"), spawn_api("gamma")
    ca, cb, cc = a.client(), b.client(), c.client()
    code = ca.ok("federation.invite", {"expires_in": 600})["code"]
    assert cb.ok("federation.join", {"code": code})["joined"] is True
    assert [n["did"] for n in a.nodes_file()] == [cb.ok("node.did")["did"]]
    assert [n["did"] for n in b.nodes_file()] == [ca.ok("node.did")["did"]]
    assert {n["trust_level"] for n in ca.ok("federation.list-nodes") + cb.ok("federation.list-nodes")} == {"trusted"}
    # reuse by another node: refused, nothing stored anywhere
    status, body = cc.call("federation.join", {"code": code})
    assert "invite already used" in body["error"]["message"]
    assert c.nodes_file() == [] and len(a.nodes_file()) == 1


def test_federation_in_both_directions_and_sync(spawn_api):
    a, b = spawn_api("alpha"), spawn_api("beta")
    ca, cb = a.client(), b.client()
    cb.ok("federation.join", {"code": ca.ok("federation.invite")["code"]})
    ca.ok("federation.join", {"code": cb.ok("federation.invite")["code"]})   # the other way round
    assert len(a.nodes_file()) == 1 and len(b.nodes_file()) == 1
    before = a.nodes_file()[0]["last_seen"]
    wait_until(lambda: int(time.time()) > before, 5, "the clock to move on")
    for me, other in ((ca, "beta"), (cb, "alpha")):
        res = me.ok("federation.sync-state")
        assert res["failed"] == [] and [s["name"] for s in res["synced"]] == [other]
        assert {"timestamp", "apps", "mem_total_bytes", "uptime_secs"} <= set(res["synced"][0]["state"])
    assert a.nodes_file()[0]["last_seen"] > before
    assert a.nodes_file()[0]["last_state"]["node_name"] == "beta"


def test_expired_invite_is_refused(spawn_api):
    a, b = spawn_api("alpha"), spawn_api("beta")
    inv = a.client().ok("federation.invite", {"expires_in": 1})
    wait_until(lambda: time.time() > inv["expires_at"] + 0.2, 5, "the invite to expire")
    status, body = b.client().call("federation.join", {"code": inv["code"]})
    assert "expired" in body["error"]["message"]
    assert a.nodes_file() == [] and b.nodes_file() == []


def tamper(code, **changes):
    prefix, body, sig = code.split(".")
    payload = json.loads(lab_fed.unb64u(body))
    payload.update(changes)
    return ".".join([prefix, lab_fed.b64u(json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()), sig])


def test_forged_tampered_and_malformed_invites_are_refused(spawn_api):
    a, b, m = spawn_api("alpha"), spawn_api("beta"), spawn_api("mallory")
    code = a.client().ok("federation.invite")["code"]
    cb = b.client()
    mallory_did = m.client().ok("node.did")["did"]
    cases = {
        "tampered address": (tamper(code, address="http://127.0.0.1:1"), "forged or tampered"),
        "swapped DID": (tamper(code, did=mallory_did), "forged or tampered"),
        "not a code": ("hello", "malformed invite code"),
        "bad base64": ("archy1.!!!.???", "malformed invite code"),
    }
    # forged: a code mallory signs for herself, pointing at alpha's address with a made-up invite
    forged = m.client().ok("federation.invite")["code"]
    cases["forged secret"] = (tamper(forged, address=a.url), "forged or tampered")
    for name, (bad, message) in cases.items():
        status, body = cb.call("federation.join", {"code": bad})
        assert status == 200 and message in body["error"]["message"], (name, body)
    assert a.nodes_file() == [] and b.nodes_file() == [] and m.nodes_file() == []
    # the genuine code still works afterwards (from another node: beta has used its join budget)
    d = spawn_api("delta")
    assert d.client().ok("federation.join", {"code": code})["joined"]


def test_join_rate_limit(spawn_api):
    b = spawn_api("beta").client()
    codes = [b.call("federation.join", {"code": "archy1.x.y"})[0] for _ in range(6)]
    assert codes == [200] * 5 + [429]


def test_state_is_refused_to_strangers(spawn_api):
    a, m = spawn_api("alpha"), spawn_api("mallory")
    status, body = m.client(login=False).call("federation.peer-state", {"from_did": "did:key:z6Mkfake", "ts": int(time.time())})
    assert "not a trusted peer" in body["error"]["message"]


# ---------- containers, stats, tor ----------
def test_system_stats_and_tor_services(spawn_api):
    api = spawn_api()
    hs = api.data / "tor" / "hidden_service_archipelago"
    hs.mkdir(parents=True)
    (hs / "hostname").write_text("abcdefghijklmnopqrstuvwxyz234567abcdefghijklmnopqrstuvw.onion\n")
    c = api.client()
    stats = c.ok("system.stats")
    assert stats["mem_total_bytes"] > 0 and stats["disk_total_bytes"] > 0 and len(stats["load_avg"]) == 3
    assert c.ok("tor.list-services") == [{"name": "archipelago", "onion": hs.joinpath("hostname").read_text().strip(), "dir": str(hs)}]
    assert isinstance(c.ok("container.list"), list)


# ---------- backups ----------
def test_backup_round_trip_and_tamper_detection(spawn_api):
    api = spawn_api()
    c = api.client()
    made = c.ok("backup.create", {"passphrase": "backup-pass-1", "label": "weekly"})
    path = api.data / "backups" / (made["id"] + ".archybk")
    assert oct(path.stat().st_mode & 0o777) == "0o600"
    assert [b["id"] for b in c.ok("backup.list")] == [made["id"]]
    res = c.ok("backup.verify", {"id": made["id"], "passphrase": "backup-pass-1"})
    assert res["valid"] and res["has_identity"]
    assert "wrong passphrase" in c.call("backup.verify", {"id": made["id"], "passphrase": "other-pass-1"})[1]["error"]["message"]
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    status, body = c.call("backup.verify", {"id": made["id"], "passphrase": "backup-pass-1"})
    assert "altered" in body["error"]["message"]
    assert c.ok("backup.delete", {"id": made["id"]})["deleted"] and c.ok("backup.list") == []
    assert "invalid backup id" in c.call("backup.delete", {"id": "../../etc/passwd"})[1]["error"]["message"]


# ---------- systemd ----------
def test_ready_and_watchdog_pings(spawn_api, tmp_path):
    sock_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(5)
    try:
        spawn_api("notified", env={"NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "200000"})
        seen = []
        wait_until(lambda: seen.append(sock.recv(64).decode()) or seen.count("WATCHDOG=1") >= 3, 10,
                   "three watchdog pings")
        assert "READY=1" in seen
    finally:
        sock.close()


def test_hang_fault_sends_no_watchdog(spawn_api, tmp_path):
    sock_path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(sock_path)
    sock.settimeout(1.5)
    try:
        spawn_api("hung", env={"NOTIFY_SOCKET": sock_path, "WATCHDOG_USEC": "200000", "ARCHIPELAGO_LAB_FAULT": "hang"})
        msgs = []
        try:
            while True:
                msgs.append(sock.recv(64).decode())
        except socket.timeout:
            pass
        assert msgs == ["READY=1"]
    finally:
        sock.close()


def test_periodic_sync_updates_peers_without_being_asked(spawn_api):
    a = spawn_api("alpha", env={"ARCHIPELAGO_SYNC_INTERVAL": "1"})
    b = spawn_api("beta")
    b.client().ok("federation.join", {"code": a.client().ok("federation.invite")["code"]})
    wait_until(lambda: (a.nodes_file() or [{}])[0].get("last_state"), 15,
               "alpha's periodic sync to fetch beta's state")
    assert a.nodes_file()[0]["last_state"]["node_name"] == "beta"


def test_backup_restore_brings_the_identity_back(spawn_api):
    """backup.restore: the identity and federation of the backup replace the node's; the DID and
    Nostr key are the backup's again at once; a wrong passphrase changes nothing."""
    api = spawn_api("alpha")
    c = api.client()
    did = c.ok("node.did")["did"]
    pub = c.ok("identity.create-nostr-key")["nostr_pubkey"]
    made = c.ok("backup.create", {"passphrase": "backup-pass-1"})
    rotated = c.ok("identity.create-nostr-key")["nostr_pubkey"]
    assert rotated != pub
    status, body = c.call("backup.restore", {"id": made["id"], "passphrase": "other-pass-1"})
    assert "wrong passphrase" in body["error"]["message"]
    assert c.ok("node.nostr-pubkey")["nostr_pubkey"] == rotated
    done = c.ok("backup.restore", {"id": made["id"], "passphrase": "backup-pass-1"})
    assert done["did"] == did and done["nostr_pubkey"] == pub and "identity/nostr_secret" in done["restored"]
    assert c.ok("node.nostr-pubkey")["nostr_pubkey"] == pub and c.ok("node.did")["did"] == did
    assert oct((api.data / "identity" / "nostr_secret").stat().st_mode & 0o777) == "0o600"
    assert not list(api.data.glob(".*.restore")) and not list(api.data.glob("*.before-restore"))


# ---------- file sharing (US-07) ----------
def test_content_sharing_by_access_mode(spawn_api):
    """free: anyone browses and downloads; peers_only: the trusted peer (signed request) only;
    paid: listed with its price, never handed out without a payment; a stranger's or a forged
    signature gets nothing more than anonymous."""
    a, b, m = spawn_api("alpha"), spawn_api("beta"), spawn_api("mallory")
    ca, cb, cm = a.client(), b.client(), m.client()
    cb.ok("federation.join", {"code": ca.ok("federation.invite")["code"]})
    did_a = ca.ok("node.did")["did"]
    data = os.urandom(3000)
    free = ca.ok("content.add", {"name": "free.bin", "data": base64.b64encode(data).decode()})
    mine = ca.ok("content.add", {"name": "peers.txt", "data": base64.b64encode(b"peers").decode(), "access": "peers_only"})
    paid = ca.ok("content.add", {"name": "paid.txt", "data": "cGFpZA==", "access": "paid", "price_sats": 100})
    assert free["sha256"] == hashlib.sha256(data).hexdigest() and len(ca.ok("content.list")) == 3
    seen = cb.ok("content.browse-peer", {"did": did_a})
    assert seen["as_peer"] and sorted(i["name"] for i in seen["items"]) == ["free.bin", "paid.txt", "peers.txt"]
    got = cb.ok("content.download-peer", {"did": did_a, "id": free["id"]})
    assert got["sha256"] == free["sha256"] and got["size"] == 3000
    assert cb.ok("content.download-peer", {"did": did_a, "id": mine["id"]})["name"] == "peers.txt"
    anon = cb.ok("content.browse-peer", {"did": did_a, "anonymous": True})
    assert not anon["as_peer"] and sorted(i["name"] for i in anon["items"]) == ["free.bin", "paid.txt"]
    assert cb.ok("content.download-peer", {"did": did_a, "id": free["id"], "anonymous": True})["size"] == 3000
    status, body = cb.call("content.download-peer", {"did": did_a, "id": mine["id"], "anonymous": True})
    assert "trusted peers only" in body["error"]["message"]
    status, body = cb.call("content.download-peer", {"did": did_a, "id": paid["id"]})
    assert "payment required: 100 sats" in body["error"]["message"]
    # a node that is not a peer: anonymous at best; a request signed by another key: refused
    raw = a.client(login=False)
    status, body = raw.call("content.peer-get", {"id": mine["id"], "from_did": cm.ok("node.did")["did"],
                                                 "ts": int(time.time()), "signature": "AAAA"})
    assert "trusted peers only" in body["error"]["message"]
    status, body = raw.call("content.peer-get", {"id": mine["id"], "from_did": cb.ok("node.did")["did"],
                                                 "ts": int(time.time()), "signature": "AAAA"})
    assert "signature does not verify" in body["error"]["message"]
    for bad, message in (({"name": "../x", "data": ""}, "name must be"), ({"name": "x", "data": "%%"}, "base64"),
                         ({"name": "x", "data": "", "access": "friends"}, "access must be"),
                         ({"name": "x", "data": "", "access": "paid"}, "price_sats")):
        assert message in ca.call("content.add", bad)[1]["error"]["message"]
    assert ca.ok("content.remove", {"id": free["id"]})["removed"] and len(ca.ok("content.list")) == 2


# ---------- DWN records and sync (US-08) ----------
def test_dwn_records_replicate_between_trusted_peers_only(spawn_api):
    a, b, m = spawn_api("alpha"), spawn_api("beta"), spawn_api("mallory")
    ca, cb, cm = a.client(), b.client(), m.client()
    cb.ok("federation.join", {"code": ca.ok("federation.invite")["code"]})
    proto = {"protocol": "https://archipelago.example/dwn/test/v1", "published": True,
             "types": {"note": {}}, "structure": {"note": {}}}
    for c in (ca, cb, cm):
        c.ok("dwn.register-protocol", {"definition": proto})
    assert "not registered" in ca.call("dwn.write-record", {"protocol": "https://x.example/p", "data": {}})[1]["error"]["message"]
    written = [ca.ok("dwn.write-record", {"protocol": proto["protocol"], "data": {"n": i}}) for i in range(3)]
    res = cb.ok("dwn.sync")
    assert res["failed"] == [] and res["synced"][0]["kept"] == 3
    assert {r["record_id"] for r in cb.ok("dwn.query-records", {"protocol": proto["protocol"]})} == \
        {r["record_id"] for r in written}
    assert cb.ok("dwn.sync")["synced"][0]["kept"] == 0          # nothing twice
    assert cb.ok("dwn.status")["messages"] == 3
    # a stranger is refused; a record altered on the way is not kept
    assert cm.ok("dwn.sync") == {"synced": [], "failed": []}
    status, body = m.client(login=False).call("dwn.peer-records", {"from_did": cm.ok("node.did")["did"],
                                                                   "ts": int(time.time()), "protocols": []})
    assert "not a trusted peer" in body["error"]["message"]
    records = json.loads((a.data / "dwn" / "records.json").read_text())
    records.append(dict(records[0], data={"n": 99}))
    (a.data / "dwn" / "records.json").write_text(json.dumps(records))
    res = cb.ok("dwn.sync")["synced"][0]
    assert res["kept"] == 0 and res["refused"] == 1
