"""#7: federation between arch1 and arch2 over the lab's private Tor network. Both backends are
switched to ARCHIPELAGO_FEDERATE_VIA=tor; arch2 joins with a fresh invite of arch1 (through
arch1's onion address) and both sync; the backend's journal names the Tor path for each call.
The nodes go back to direct federation afterwards."""
import pytest

from labhosts import node_host, node_rpc, onion_fetch, wait_until

ENV = "/etc/archipelago/archipelago.env"


def set_via(host, via):
    host.check_output(f"sed -i '/^ARCHIPELAGO_FEDERATE_VIA=/d' {ENV} && echo ARCHIPELAGO_FEDERATE_VIA={via} >> {ENV}"
                      " && systemctl restart archipelago.service")
    wait_until(lambda: node_rpc(host, "health").get("result", {}).get("status") == "ok", 60, f"health after via={via}")


@pytest.fixture
def over_tor():
    hosts = {n: node_host(n) for n in ("arch1", "arch2")}
    # Each node's onion answers through the other's Tor first (after a reboot drill a restarted
    # Tor takes a while to publish its descriptors).
    for me, other in (("arch1", "arch2"), ("arch2", "arch1")):
        onion = hosts[other].file("/var/lib/tor/hidden_service_archipelago/hostname").content_string.strip()
        onion_fetch(hosts[me], onion, "/health", 240)
    for h in hosts.values():
        set_via(h, "tor")
    yield hosts
    for h in hosts.values():
        set_via(h, "direct")


def ok(answer):
    assert answer.get("error") is None, answer
    return answer["result"]


def test_join_and_sync_over_tor(over_tor):
    a, b = over_tor["arch1"], over_tor["arch2"]
    since = b.check_output("date '+%Y-%m-%d %H:%M:%S'")
    code = ok(node_rpc(a, "federation.invite", {"expires_in": 600}))["code"]
    assert ok(node_rpc(b, "federation.join", {"code": code}))["joined"] is True
    onion_a = {s["name"]: s["onion"] for s in ok(node_rpc(a, "tor.list-services"))}["archipelago"]
    for me, other in ((a, b), (b, a)):
        res = ok(node_rpc(me, "federation.sync-state"))
        assert res["failed"] == [] and res["synced"], res
    journal = b.check_output(f"journalctl -u archipelago.service --since '{since}' --no-pager")
    assert f"federation.peer-join -> http://{onion_a} through Tor" in journal
    assert f"federation.peer-state -> http://{onion_a} through Tor" in journal
