"""TEST-01..12: every check from each node toward each other node (parametrized by the
conftest: iteration x ordered pair). A check that cannot run where it runs is skipped with its
reason, never passed."""
import hashlib
import json
import shlex
import time

import coincurve
import pytest

from labhosts import node_rpc

UI_APP_UNIT = "archy-app-archy-mempool-web.service"   # the UI tier: nothing depends on it


def ok(answer):
    assert isinstance(answer, dict) and answer.get("error") is None, answer
    return answer["result"]


def rpc(node, method, params=None):
    return ok(node_rpc(node.host, method, params))


def peer_health(a, b):
    """b's health asked from a, over the nodes' network, through b's nginx."""
    body = shlex.quote(json.dumps({"method": "health"}))
    out = a.host.check_output(f"curl -s -m 5 -X POST -H 'Content-Type: application/json' -d {body} "
                              f"http://{b.address}/rpc/v1")
    return json.loads(out)["result"]


def wait(predicate, timeout, what):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return
        time.sleep(1)
    raise AssertionError(f"{what} not within {timeout} s")


def test_01_system_health(nodes, pair):
    """US-01: the node is healthy, its stats are sane, and its peer answers health across the network."""
    _, a, b = pair
    A, B = nodes[a], nodes[b]
    assert rpc(A, "health")["status"] == "ok"
    stats = rpc(A, "system.stats")
    assert isinstance(stats, dict) and stats, stats
    assert peer_health(A, B)["status"] == "ok"


def test_02_containers_listed_and_running(nodes, pair):
    """US-02: the backend lists every container, and every app container is running."""
    _, a, _ = pair
    A = nodes[a]
    listed = {c["name"]: c["state"] for c in rpc(A, "container.list")}
    apps = A.host.check_output("systemctl list-units 'archy-app-*' --all --plain --no-legend | awk '{print $1}'").split()
    assert apps, f"{a} has no app units"
    for unit in apps:
        name = unit[len("archy-app-"):-len(".service")]
        assert listed.get(name) == "running", (name, listed.get(name))


def test_03_stopped_container_is_brought_back(nodes, pair):
    """US-02: a stopped app is started again by its owner (systemd) and is healthy (active)."""
    _, a, _ = pair
    host = nodes[a].host
    host.check_output(f"systemctl stop {UI_APP_UNIT}")
    assert host.run(f"systemctl is-active {UI_APP_UNIT}").stdout.strip() != "active"
    host.check_output(f"systemctl reset-failed {UI_APP_UNIT} 2>/dev/null; systemctl start {UI_APP_UNIT}")
    wait(lambda: host.run(f"systemctl is-active {UI_APP_UNIT}").stdout.strip() == "active", 120,
         f"{UI_APP_UNIT} active again on {a}")


def test_04_federation_trust_both_ways(nodes, pair):
    """US-03: a lists b as a trusted peer (the reverse pair checks the other way)."""
    _, a, b = pair
    b_did = rpc(nodes[b], "node.did")["did"]
    peers = {p["did"]: p["trust_level"] for p in rpc(nodes[a], "federation.list-nodes")}
    assert peers.get(b_did) == "trusted", peers


def test_05_federation_sync(nodes, pair):
    """US-04: a state sync from a to b answers, with b's snapshot."""
    _, a, b = pair
    b_did = rpc(nodes[b], "node.did")["did"]
    answer = rpc(nodes[a], "federation.sync-state", {"did": b_did})
    assert not answer["failed"] and [s["did"] for s in answer["synced"]] == [b_did], answer


def test_06_onion_reachability(nodes, pair):
    """TEST-06 / US-05: b's backend answers through Tor from a (needs a Tor network)."""
    _, a, b = pair
    if not nodes[a].vars.get("acceptance_tor_network"):
        pytest.skip("no Tor network reachable here (the lab has none until issue #7); onion reachability not checked")
    onion = rpc(nodes[b], "federation.get-state").get("onion") or pytest.fail(f"{b} reports no onion address")
    body = shlex.quote(json.dumps({"method": "health"}))
    out = nodes[a].host.check_output(f"curl -s -m 60 --socks5-hostname 127.0.0.1:9050 -X POST "
                                     f"-H 'Content-Type: application/json' -d {body} http://{onion}/rpc/v1")
    assert json.loads(out)["result"]["status"] == "ok"


def test_07_nostr_identity(nodes, pair):
    """US-06: a valid Nostr key, not revoked, and distinct from the peer's."""
    _, a, b = pair
    mine, theirs = rpc(nodes[a], "node.nostr-pubkey"), rpc(nodes[b], "node.nostr-pubkey")
    assert len(mine["nostr_pubkey"]) == 64 and int(mine["nostr_pubkey"], 16) >= 0
    assert mine["nostr_npub"].startswith("npub1")
    assert not nodes[a].host.file("/var/lib/archipelago/identity/nostr_revoked").exists
    assert mine["nostr_pubkey"] != theirs["nostr_pubkey"]


def test_08_signing_through_the_rpc(nodes, pair):
    """US-09 (2-4): the node signs a Nostr event; id and BIP340 signature verify here, with its key."""
    it, a, _ = pair
    pub = rpc(nodes[a], "node.nostr-pubkey")["nostr_pubkey"]
    event = {"kind": 1, "created_at": int(time.time()), "pubkey": pub, "content": f"acceptance {it} {a}", "tags": []}
    signed = rpc(nodes[a], "identity.nostr-sign", {"id": f"acc-{it}", "event": event})
    serial = json.dumps([0, signed["pubkey"], signed["created_at"], signed["kind"], signed["tags"], signed["content"]],
                        separators=(",", ":"), ensure_ascii=False).encode()
    assert signed["id"] == hashlib.sha256(serial).hexdigest() and signed["pubkey"] == pub
    assert coincurve.PublicKeyXOnly(bytes.fromhex(pub)).verify(bytes.fromhex(signed["sig"]), bytes.fromhex(signed["id"]))


def test_09_backup_create_verify_delete(nodes, pair):
    """US-10: an encrypted backup is created, verifies with its passphrase, and is deleted."""
    it, a, _ = pair
    made = rpc(nodes[a], "backup.create", {"passphrase": "acceptance-pass", "label": f"acceptance-{it}"})
    try:
        assert rpc(nodes[a], "backup.verify", {"id": made["id"], "passphrase": "acceptance-pass"})["valid"] is True
        wrong = node_rpc(nodes[a].host, "backup.verify", {"id": made["id"], "passphrase": "not-the-pass"})
        assert wrong.get("error"), wrong
    finally:
        rpc(nodes[a], "backup.delete", {"id": made["id"]})


def test_10_boot_recovery_is_configured(nodes, pair):
    """US-15: the backend and every app come back by themselves at boot (the reboot itself is
    playbooks/reboot_survival.yml)."""
    _, a, _ = pair
    host = nodes[a].host
    assert host.run("systemctl is-enabled archipelago.service").stdout.strip() == "enabled"
    assert host.run("systemctl is-enabled archipelago-apps.target").stdout.strip() == "enabled"
    disabled = host.check_output(
        "systemctl list-unit-files 'archy-app-*' --no-legend | awk '$2 != \"enabled\" {print $1}'")
    assert disabled == "", disabled
