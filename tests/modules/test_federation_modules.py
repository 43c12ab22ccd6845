"""federation_invite / federation_join / federation_info / node_identity_info / nostr_identity
run by ansible-playbook against real lab API instances."""
import json

from labhosts import wait_until


def url(inst):
    return inst.url + "/rpc/v1"


def invite_task(inst, no_log=True, **kw):
    return {"name": "invite", "archipelago.node.federation_invite": {"url": url(inst), **kw}, "register": "inv",
            "no_log": no_log}


def join_task(inst, code="{{ inv.code }}", **kw):
    return {"name": "join", "archipelago.node.federation_join": {"url": url(inst), "code": code, **kw}}


def test_join_then_idempotent_rerun(play, spawn_api):
    a, b = spawn_api("alpha"), spawn_api("beta")
    rc, res, out = play([invite_task(a), join_task(b)])
    assert rc == 0, out
    joined = res[1]
    assert joined["changed"] and joined["verified"] and joined["peers"] == [a.client().ok("node.did")["did"]]
    assert len(a.nodes_file()) == 1 and len(b.nodes_file()) == 1
    files = (a.nodes_file(), b.nodes_file())
    # second run with a fresh invite: the peer is already trusted, nothing is sent or stored
    rc, res, out = play([invite_task(a), join_task(b)])
    assert rc == 0 and res[1]["changed"] is False and res[1]["already_trusted"] is True
    assert [c["method"] for c in res[1]["rpc_calls"]].count("federation.join") == 0
    assert len(a.nodes_file()) == 1 and len(b.nodes_file()) == 1 and files[1][0]["did"] == b.nodes_file()[0]["did"]
    # info on both sides: each lists the other as trusted
    rc, res, out = play([{"archipelago.node.federation_info": {"url": url(a)}},
                         {"archipelago.node.federation_info": {"url": url(b)}}])
    assert rc == 0
    assert res[0]["trusted_dids"] == [b.client().ok("node.did")["did"]]
    assert res[1]["trusted_dids"] == [a.client().ok("node.did")["did"]]
    assert res[0]["state"]["node_name"] == "alpha"


def test_check_mode_join_changes_nothing(play, spawn_api):
    a, b = spawn_api("alpha"), spawn_api("beta")
    rc, res, out = play([invite_task(a, no_log=False)])
    code = res[0]["code"]
    rc, res, out = play([join_task(b, code=code)], check=True, diff=True)
    assert rc == 0 and res[0]["changed"] is True
    assert res[0]["diff"]["before"] == {"trusted_peers": []}
    assert a.nodes_file() == [] and b.nodes_file() == []
    # the code was not used by the dry run: the real join still works
    rc, res, out = play([join_task(b, code=code)])
    assert rc == 0 and res[0]["changed"]


def test_forged_and_reused_invites_fail_clearly_and_change_nothing(play, spawn_api):
    a, b, c = spawn_api("alpha"), spawn_api("beta"), spawn_api("gamma")
    rc, res, out = play([invite_task(a, no_log=False)])
    code = res[0]["code"]
    prefix, body, sig = code.split(".")
    forged = ".".join([prefix, body[:-4] + ("AAAA" if body[-4:] != "AAAA" else "BBBB"), sig])
    rc, res, out = play([join_task(b, code=forged)])
    assert rc != 0 and res[0]["failed"]
    assert "nothing was changed" in res[0]["msg"] and ("forged" in res[0]["msg"] or "malformed" in res[0]["msg"])
    assert "Traceback" not in out
    rc, res, out = play([join_task(b, code=code)])
    assert rc == 0
    rc, res, out = play([join_task(c, code=code)])
    assert rc != 0 and "invite already used" in res[0]["msg"] and res[0]["msg"].startswith("federation.join on http://")
    assert c.nodes_file() == [] and len(a.nodes_file()) == 1
    assert code not in out and body not in out      # the code is never printed


def test_backend_down_fails_after_bounded_retries(play, spawn_api):
    a = spawn_api("alpha")
    a.stop()
    rc, res, out = play([{"archipelago.node.node_identity_info": {"url": url(a), "retries": 2}}])
    assert rc != 0
    msg = res[0]["msg"]
    assert "did not answer after 3 attempts" in msg and url(a) in msg and res[0]["error_kind"] == "unreachable"


def test_wrong_password_is_a_clear_failure(play, spawn_api, tmp_path):
    a = spawn_api("alpha")
    bad = tmp_path / "bad"
    bad.write_text("not-the-password\n")
    rc, res, out = play([{"archipelago.node.node_identity_info": {"url": url(a), "password_file": str(bad)}}])
    assert rc != 0 and "auth.login" in res[0]["msg"] and "invalid password" in res[0]["msg"]
    assert "not-the-password" not in out


def test_nostr_identity_repairs_a_stray_marker(play, spawn_api):
    a = spawn_api("alpha")
    pub = a.client().ok("identity.create-nostr-key")["nostr_pubkey"]
    marker = a.data / "identity" / "nostr_revoked"
    marker.write_text("")
    task = [{"archipelago.node.nostr_identity": {"url": url(a)}}]
    rc, res, out = play(task, check=True, diff=True)
    assert rc == 0 and res[0]["changed"] and res[0]["repair"] == "clear_marker" and marker.exists()
    assert res[0]["diff"] == {"before": {"nostr_pubkey": pub, "revocation_marker": True},
                              "after": {"nostr_pubkey": pub, "revocation_marker": False}}
    rc, res, out = play(task)
    assert rc == 0 and res[0]["changed"] and not marker.exists() and res[0]["nostr_pubkey"] == pub
    rc, res, out = play(task)
    assert rc == 0 and not res[0]["changed"] and res[0]["repair"] == "none"
    # a marker naming the current key: the key is revoked, a new one is made
    marker.write_text(pub)
    rc, res, out = play(task)
    assert rc == 0 and res[0]["repair"] == "create" and res[0]["nostr_pubkey"] != pub
    nsec = (a.data / "identity" / "nostr_secret").read_text().strip()
    assert nsec not in out


def test_node_identity_info(play, spawn_api):
    a = spawn_api("alpha")
    rc, res, out = play([{"archipelago.node.node_identity_info": {"url": url(a)}}], check=True)
    assert rc == 0 and res[0]["did"].startswith("did:key:z6Mk") and res[0]["nostr_pubkey"] is None
    assert [c["method"] for c in res[0]["rpc_calls"]] == ["auth.login", "node.did", "node.nostr-pubkey"]


def test_backup_create_verify_prune_and_check_mode(play, spawn_api):
    a = spawn_api("alpha")
    task = {"archipelago.node.backup": {"url": url(a), "passphrase": "backup-pass-1", "keep": 2, "label": "t"}}
    for _ in range(3):
        rc, res, out = play([task])
        assert rc == 0 and res[0]["changed"] and res[0]["verified"]["valid"]
    ids = [b["id"] for b in res[0]["backups"]]
    assert len(ids) == 2 and len(res[0]["deleted"]) == 1
    assert "backup-pass-1" not in out
    # check mode: reports a new backup and a prune, writes nothing
    rc, res, out = play([task], check=True, diff=True)
    assert rc == 0 and res[0]["changed"] and len(res[0]["deleted"]) == 1
    assert sorted(b["id"] for b in a.client().ok("backup.list")) == sorted(ids)
    # max_age: a fresh backup is enough, nothing to do
    rc, res, out = play([{"archipelago.node.backup": {**task["archipelago.node.backup"], "max_age": 3600}}])
    assert rc == 0 and not res[0]["changed"]
    # a flipped byte fails verification with a clear message
    path = a.data / "backups" / (ids[0] + ".archybk")
    data = bytearray(path.read_bytes())
    data[-5] ^= 1
    path.write_bytes(bytes(data))
    rc, res, out = play([{"archipelago.node.backup_info": {"url": url(a), "passphrase": "backup-pass-1",
                                                           "verify": True, "id": ids[0]}}])
    assert rc != 0 and "altered" in res[0]["msg"]


def test_backup_info_reads_only_and_the_old_read_states_are_deprecated(play, spawn_api):
    a = spawn_api("alpha")
    assert play([{"archipelago.node.backup": {"url": url(a), "passphrase": "backup-pass-1"}}])[0] == 0
    before = a.client().ok("backup.list")
    rc, res, out = play([{"archipelago.node.backup_info": {"url": url(a)}},
                         {"archipelago.node.backup_info": {"url": url(a), "verify": True, "passphrase": "backup-pass-1"}},
                         {"archipelago.node.backup": {"url": url(a), "state": "listed"}}], check=True)
    assert rc == 0, out
    assert [b["id"] for b in res[0]["backups"]] == [b["id"] for b in before] and not res[0]["changed"]
    assert res[1]["verified"]["valid"] and "backup-pass-1" not in out
    assert [c["method"] for c in res[1]["rpc_calls"]][-2:] == ["backup.list", "backup.verify"]
    assert res[2]["backups"] == res[0]["backups"]
    assert any("backup_info" in d["msg"] for d in res[2].get("deprecations", [])), res[2]
    assert a.client().ok("backup.list") == before
    rc, res, out = play([{"archipelago.node.backup_info": {"url": url(a), "verify": True, "passphrase": "backup-pass-1",
                                                           "id": "no-such-backup"}}])
    assert rc != 0 and "backup no-such-backup is not on the node" in res[0]["msg"], out
    rc, res, out = play([{"archipelago.node.backup_info": {"url": url(a), "verify": True}}])
    assert rc != 0 and "passphrase" in res[0]["msg"], out


def test_backup_bad_input(play, spawn_api):
    a = spawn_api("alpha")
    rc, res, out = play([{"archipelago.node.backup": {"url": url(a), "passphrase": "short"}}])
    assert rc != 0 and "at least 8 characters" in res[0]["msg"]
    rc, res, out = play([{"archipelago.node.backup": {"url": url(a), "state": "absent"}}])
    assert rc != 0 and "id" in res[0]["msg"]
    assert a.client().ok("backup.list") == []


def test_session_is_cached_0600_and_reused(play, spawn_api, tmp_path):
    a = spawn_api("alpha")
    task = {"archipelago.node.node_identity_info": {"url": url(a)}}
    rc, res, out = play([task] * 8)          # more runs than the 5 logins a minute allowed
    assert rc == 0
    logins = sum(1 for r in res for c in r["rpc_calls"] if c["method"] == "auth.login")
    assert logins == 1
    files = list((tmp_path / "sessions").iterdir())
    assert len(files) == 1 and oct(files[0].stat().st_mode & 0o777) == "0o600"
    assert "lab-password" not in files[0].read_text()
    # a stale session (the backend restarted) leads to one fresh login, not a failure
    files[0].write_text('{"session": "stale", "csrf_token": "stale"}')
    rc, res, out = play([task])
    assert rc == 0 and [c["method"] for c in res[0]["rpc_calls"]][:2] == ["node.did", "auth.login"]


def test_federation_sync_after_a_join_and_with_a_peer_down(play, spawn_api):
    a, b = spawn_api("alpha"), spawn_api("beta")
    assert play([invite_task(a), join_task(b)])[0] == 0
    a_did = a.client().ok("node.did")["did"]
    rc, res, out = play([{"archipelago.node.federation_sync": {"url": url(b)}}], check=True)
    assert rc == 0 and res[0]["peers"] == [a_did] and res[0]["synced"] == []
    assert "federation.sync-state" not in [c["method"] for c in res[0]["rpc_calls"]]     # check mode contacts no peer
    rc, res, out = play([{"archipelago.node.federation_sync": {"url": url(b)}}])
    assert rc == 0 and [s["did"] for s in res[0]["synced"]] == [a_did] and res[0]["not_answered"] == [], out
    a.stop()
    rc, res, out = play([{"archipelago.node.federation_sync": {"url": url(b)}}])
    assert rc != 0 and "1 of 1 peers did not answer" in res[0]["msg"] and "alpha" in res[0]["msg"], out
    rc, res, out = play([{"archipelago.node.federation_sync": {"url": url(b), "allow_failed": True}}])
    assert rc == 0 and res[0]["not_answered"][0]["did"] == a_did
    rc, res, out = play([{"archipelago.node.federation_sync": {"url": url(b), "did": "did:key:z6Mknot"}}])
    assert rc != 0 and "is not a trusted peer" in res[0]["msg"]
