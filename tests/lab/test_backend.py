"""The lab node API on the lab nodes: under systemd, behind nginx, recovering from SIGKILL,
and federating the two nodes over the lab network."""
import json

import pytest

from labhosts import node_host, node_rpc, wait_until

BOTH = ["arch1", "arch2"]


@pytest.mark.parametrize("node", BOTH)
def test_backend_runs_under_systemd_behind_nginx(node):
    host = node_host(node)
    svc = host.service("archipelago")
    assert svc.is_running and svc.is_enabled
    assert host.check_output("systemctl show -p Type --value archipelago") == "notify"
    health = json.loads(host.check_output("curl -sf http://127.0.0.1/health"))
    assert health["status"] == "ok"
    body = json.loads(host.check_output(
        "curl -sf -H 'Content-Type: application/json' -d '{\"method\":\"health\"}' http://127.0.0.1/rpc/v1"))
    assert body["error"] is None and body["result"]["status"] == "ok"
    assert oct(host.file("/var/lib/archipelago/identity/ed25519.pem").mode) == "0o600"


@pytest.mark.parametrize("node", BOTH)
def test_sigkill_is_recovered_by_systemd(node):
    host = node_host(node)
    pid = host.check_output("systemctl show -p MainPID --value archipelago")
    host.check_output(f"kill -9 {pid}")

    def back():
        new = host.check_output("systemctl show -p MainPID --value archipelago")
        return new not in ("0", pid) and host.run("curl -sf http://127.0.0.1/health").rc == 0
    wait_until(back, 60, f"archipelago on {node} to come back after SIGKILL")


def test_nodes_federate_over_the_lab_network():
    a1, a2 = node_host("arch1"), node_host("arch2")
    invite = node_rpc(a1, "federation.invite", {"expires_in": 600})
    assert invite["error"] is None, invite
    joined = node_rpc(a2, "federation.join", {"code": invite["result"]["code"]})
    assert joined["error"] is None, joined
    did1 = node_rpc(a1, "node.did")["result"]["did"]
    did2 = node_rpc(a2, "node.did")["result"]["did"]
    peers1 = node_rpc(a1, "federation.list-nodes")["result"]
    peers2 = node_rpc(a2, "federation.list-nodes")["result"]
    assert [(p["did"], p["trust_level"]) for p in peers1] == [(did2, "trusted")]
    assert [(p["did"], p["trust_level"]) for p in peers2] == [(did1, "trusted")]
    for me, other in ((a1, "arch2"), (a2, "arch1")):
        res = node_rpc(me, "federation.sync-state")["result"]
        assert res["failed"] == [] and res["synced"][0]["name"] == other
        # the peer's state carries the apps its backend sees (TEST-05: the counts match); on an
        # unstabilized arch2 that is none, since its backend looks at rootless Podman (STAB-07)
        assert res["synced"][0]["apps"] == len(node_rpc(node_host(other), "container.list")["result"])
    assert len(node_rpc(a1, "container.list")["result"]) >= 10
    # the invite is single-use: a second join is refused and nothing more is stored
    again = node_rpc(a2, "federation.join", {"code": invite["result"]["code"]})
    assert "already" in again["error"]["message"]
    assert len(node_rpc(a1, "federation.list-nodes")["result"]) == 1
