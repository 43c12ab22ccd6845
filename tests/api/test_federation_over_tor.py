"""The lab API federating over Tor (ARCHIPELAGO_FEDERATE_VIA=tor): join and sync go to the peer's
onion address through a SOCKS5 proxy, with the name resolved by the proxy. Here the proxy is a
small SOCKS5 server that maps each node's onion address to its API on loopback, and counts what
it was asked; the nodes' direct addresses lead nowhere, so only the SOCKS path can work. The lab's
real Tor network is exercised by the acceptance suite (TEST-06)."""
import base64
import hashlib
import socket
import socketserver
import struct
import threading

import pytest

from labhosts import free_port


def onion_for(name):
    """A well-formed v3 onion address (key, checksum, version) made from a name."""
    pub = hashlib.sha256(name.encode()).digest()
    check = hashlib.sha3_256(b".onion checksum" + pub + b"\x03").digest()[:2]
    return base64.b32encode(pub + check + b"\x03").decode().lower() + ".onion"


class Socks5(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, routes):
        self.routes, self.asked = routes, []
        super().__init__(("127.0.0.1", free_port()), Handler)


class Handler(socketserver.BaseRequestHandler):
    def handle(self):
        s = self.request
        n = s.recv(2)[1]
        s.recv(n)
        s.sendall(b"\x05\x00")
        head = s.recv(4)
        assert head[3] == 3, "the client must send the host name (atyp 3), not an address"
        host = s.recv(s.recv(1)[0]).decode()
        port = struct.unpack(">H", s.recv(2))[0]
        self.server.asked.append((host, port))
        target = self.server.routes.get(host)
        if target is None:
            s.sendall(b"\x05\xf0\x00\x01" + b"\0" * 6)   # Tor: onion descriptor not found
            return
        up = socket.create_connection(target)
        s.sendall(b"\x05\x00\x00\x01" + b"\0" * 6)
        pipe = threading.Thread(target=lambda: _copy(up, s), daemon=True)
        pipe.start()
        _copy(s, up)
        pipe.join(5)


def _copy(src, dst):
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            dst.sendall(data)
        dst.shutdown(socket.SHUT_WR)
    except OSError:
        pass


@pytest.fixture
def tor_pair(spawn_api, tmp_path):
    routes = {}
    proxy = Socks5(routes)
    threading.Thread(target=proxy.serve_forever, daemon=True).start()
    nodes = []
    for name in ("alpha", "beta"):
        onion = onion_for(name)
        tor_dir = tmp_path / f"tor-{name}"
        (tor_dir / "hidden_service_archipelago").mkdir(parents=True)
        (tor_dir / "hidden_service_archipelago" / "hostname").write_text(onion + "\n")
        inst = spawn_api(name, {"ARCHIPELAGO_FEDERATE_VIA": "tor", "ARCHIPELAGO_TOR_SOCKS": f"127.0.0.1:{proxy.server_address[1]}",
                                "ARCHIPELAGO_TOR_DIR": str(tor_dir), "ARCHIPELAGO_ADDRESS": "http://127.0.0.1:9"})
        routes[onion] = ("127.0.0.1", inst.port)
        nodes.append((inst, onion))
    yield nodes, proxy
    proxy.shutdown()
    proxy.server_close()


def test_join_and_sync_go_through_the_onion_addresses(tor_pair):
    (a, onion_a), (b, onion_b), proxy = *tor_pair[0], tor_pair[1]
    ca, cb = a.client(), b.client()
    cb.ok("federation.join", {"code": ca.ok("federation.invite")["code"]})
    assert [n["onion"] for n in b.nodes_file()] == [onion_a] and [n["onion"] for n in a.nodes_file()] == [onion_b]
    assert proxy.asked == [(onion_a, 80), (onion_a, 80)]          # peer-join, peer-confirm
    for me, other in ((ca, "beta"), (cb, "alpha")):
        res = me.ok("federation.sync-state")
        assert res["failed"] == [] and [s["name"] for s in res["synced"]] == [other]
    assert proxy.asked[2:] == [(onion_b, 80), (onion_a, 80)]


def test_an_unknown_onion_fails_with_tors_reason(tor_pair):
    (a, onion_a), (b, _), proxy = *tor_pair[0], tor_pair[1]
    ca, cb = a.client(), b.client()
    cb.ok("federation.join", {"code": ca.ok("federation.invite")["code"]})
    del proxy.routes[onion_a]                                    # alpha's onion service is gone
    res = cb.ok("federation.sync-state")
    assert res["synced"] == [] and "onion service descriptor not found" in res["failed"][0]["error"], res
