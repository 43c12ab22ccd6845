"""One regression test for each class of bad input found by trying the modules as a hostile
backend, relay or careless operator would: each failed with a Python exception (or hung, or
accepted what it should refuse) before the fix, and fails cleanly with a message now."""
import base64
import json
import os
import socket
import sys
import threading
import time

import pytest
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from ansible_collections.archipelago.node.plugins.module_utils import bep44, did_dht as dd, dht_codec, dht_keys, dns_wire
from ansible_collections.archipelago.node.plugins.module_utils import invite, pkarr, rpc


# ---------- relays ----------

@pytest.mark.parametrize("url", ["http://[::1", "http://relay.example:99999/", "http://rel ay.example/",
                                 "http://relay.example/\r\nX-Evil: 1", "ftp://relay.example/", "",
                                 "http://gäteway.example/", "http://" + "a" * 3000 + "/", None, 5])
def test_relay_urls_that_are_not_http_urls_are_refused(url):
    with pytest.raises(pkarr.RelayError, match="is not an http"):
        pkarr.check_relay_url(url)


def test_a_relay_url_with_credentials_is_refused_without_echoing_them():
    with pytest.raises(pkarr.RelayError) as err:
        pkarr.check_relay_url("https://user:s3cret@relay.example/")
    assert "credentials" in err.value.message and "s3cret" not in err.value.message


def serve_once(answer):
    """A loopback server that answers each connection with `answer` bytes, then closes."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)

    def loop():
        while True:
            try:
                conn = srv.accept()[0]
            except OSError:
                return
            conn.recv(65536)
            conn.sendall(answer)
            conn.close()
    threading.Thread(target=loop, daemon=True).start()
    return srv


@pytest.mark.parametrize("answer", [
    b"GARBAGE\r\n\r\n",                                                   # a status line that is not HTTP
    b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\nshort",               # a truncated body
    b"HTTP/1.1 200 OK\r\n" + b"X: " + b"a" * 70000 + b"\r\n\r\n",          # a header line too long
], ids=["status-line", "truncated", "long-header"])
def test_a_relay_answering_broken_http_is_a_relay_error(answer):
    srv = serve_once(answer)
    try:
        relays = pkarr.Relays(pkarr.open_url_fetch(timeout=5), retries=1, base_delay=0.01)
        with pytest.raises(pkarr.RelayError, match="failed after 2 attempts"):
            relays.get("http://127.0.0.1:%d/" % srv.getsockname()[1], "x" * 52)
    finally:
        srv.close()


# ---------- did:dht records, keys and seq ----------

PUB = bep44.public_bytes(Ed25519PrivateKey.generate())


def test_a_non_ascii_name_is_a_did_dht_error():
    with pytest.raises(dd.DidDhtError, match="not ASCII"):
        dns_wire.encode_packet(dd.records_for(PUB, gateways=["gäteway.example"]))


def test_a_record_too_large_for_dns_is_a_did_dht_error():
    huge = [{"id": "s", "type": "x" * 1000000, "endpoints": ["https://a.example"]}]
    with pytest.raises(dd.DidDhtError, match="at most 65535"):
        dns_wire.encode_packet(dd.records_for(PUB, services=huge))


def jwk_of(key):
    nums = key.public_key().public_numbers()
    crv = {"secp256k1": "secp256k1", "secp256r1": "P-256"}[key.curve.name]
    return {"kty": "EC", "crv": crv, "x": dht_codec.b64u(nums.x.to_bytes(32, "big")),
            "y": dht_codec.b64u(nums.y.to_bytes(32, "big"))}


@pytest.mark.parametrize("curve", [ec.SECP256K1(), ec.SECP256R1()], ids=["secp256k1", "P-256"])
def test_ec_keys_round_trip_and_a_point_off_the_curve_is_refused(curve):
    jwk = jwk_of(ec.generate_private_key(curve))
    t, raw, _alg = dht_keys.key_from_jwk(jwk)
    back = dht_keys.jwk_from_key(t, raw)
    assert (back["x"], back["y"]) == (jwk["x"], jwk["y"])
    off = dict(jwk, y=dht_codec.b64u(((int.from_bytes(dht_codec.b64u_decode(jwk["y"]), "big") + 1) % 2 ** 256)
                                     .to_bytes(32, "big")))
    with pytest.raises(dd.DidDhtError, match="not a point on the curve"):
        dht_keys.key_from_jwk(off)
    with pytest.raises(dd.DidDhtError, match="not a point on the curve"):
        dht_keys.jwk_from_key(t, b"\x02" + b"\xff" * 32)   # x beyond the field: no point


def test_a_record_at_the_largest_seq_cannot_be_followed():
    assert dd.next_seq(100, 2 ** 64 - 2) == 2 ** 64 - 1
    with pytest.raises(dd.DidDhtError, match="largest BEP44 allows"):
        dd.next_seq(100, 2 ** 64 - 1)


def test_an_identity_key_that_is_a_fifo_or_device_is_refused_without_reading(tmp_path):
    fifo = tmp_path / "key.fifo"
    os.mkfifo(str(fifo))
    for path in (str(fifo), "/dev/zero"):
        started = time.monotonic()
        with pytest.raises(dd.DidDhtError, match="not a regular file"):
            dd.read_identity_key(path, lambda msg: None)
        assert time.monotonic() - started < 2


# ---------- invites ----------

def signed_code(payload, key=None):
    key = key or Ed25519PrivateKey.generate()
    raw = json.dumps(payload, separators=(",", ":")).encode()

    def enc(b):
        return base64.urlsafe_b64encode(b).decode().rstrip("=")
    return "archy1." + enc(raw) + "." + enc(key.sign(raw))


def good_payload(key, **changes):
    pub = bep44.public_bytes(key)
    payload = {"v": 1, "did": "did:key:z" + b58(b"\xed\x01" + pub), "address": "http://10.203.0.11",
               "invite_id": "i", "secret": "s", "expires_at": int(time.time()) + 600}
    payload.update(changes)
    return payload


def b58(data):
    n = int.from_bytes(data, "big")
    out = ""
    while n:
        n, r = divmod(n, 58)
        out = invite.B58[r] + out
    return out


@pytest.mark.parametrize("expires", [float("nan"), float("inf"), "tomorrow", True, None])
def test_an_invite_whose_expiry_is_not_a_time_is_refused(expires):
    key = Ed25519PrivateKey.generate()
    code = signed_code(good_payload(key, expires_at=expires), key)
    with pytest.raises(invite.InviteError, match="expires_at|expired"):
        invite.read_invite(code)


def test_oversized_and_deep_invites_are_refused_before_any_decoding_work():
    started = time.monotonic()
    with pytest.raises(invite.InviteError, match="at most"):
        invite.read_invite("archy1." + "A" * 1000000 + ".AAAA")
    key = Ed25519PrivateKey.generate()
    with pytest.raises(invite.InviteError, match="not an Ed25519 did:key"):
        invite.read_invite(signed_code(good_payload(key, did="did:key:z" + "2" * 200), key))
    deep = "archy1." + base64.urlsafe_b64encode(b"[" * 3000 + b"]" * 3000).decode().rstrip("=") + ".AAAA"
    with pytest.raises(invite.InviteError):
        invite.read_invite(deep)
    assert time.monotonic() - started < 2


def test_invites_fail_closed_without_cryptography(monkeypatch):
    key = Ed25519PrivateKey.generate()
    code = signed_code(good_payload(key), key)
    assert invite.read_invite(code)["invite_id"] == "i"
    monkeypatch.setitem(sys.modules, "cryptography.exceptions", None)   # import fails as if not installed
    with pytest.raises(invite.MissingCryptography):
        invite.read_invite(code)


# ---------- the RPC client's own faults ----------

@pytest.mark.parametrize("content", [b"{not json", b"[1, 2]", json.dumps({"session": "a\r\nX-Evil: 1"}).encode(),
                                     json.dumps({"session": "x" * 5000}).encode(), b"\xff\xfe",
                                     json.dumps({"other": "cookie"}).encode(), b"[" * 5000])
def test_a_corrupt_session_cache_is_discarded_and_not_sent(tmp_path, content):
    path = tmp_path / "session.json"
    path.write_bytes(content)
    transport = rpc.Transport(session_file=str(path))
    assert transport.cookies == {} and not path.exists()


def test_a_good_session_cache_is_kept(tmp_path):
    path = tmp_path / "session.json"
    path.write_text(json.dumps({"session": "abc.DEF-123", "csrf_token": "t0k3n"}))
    assert rpc.Transport(session_file=str(path)).cookies == {"session": "abc.DEF-123", "csrf_token": "t0k3n"}


def test_a_session_cache_that_is_a_fifo_does_not_block(tmp_path):
    path = tmp_path / "session.json"
    os.mkfifo(str(path))
    started = time.monotonic()
    assert rpc.Transport(session_file=str(path)).cookies == {}
    assert time.monotonic() - started < 2


@pytest.mark.parametrize("session_dir", ["relative/dir", "/run/a\x00b", "/run/a\nb", ""])
def test_a_bad_session_dir_is_a_usage_error(session_dir):
    with pytest.raises(rpc.RpcError) as err:
        rpc.check_session_dir(session_dir)
    assert err.value.kind == "usage" and "archipelago.service" not in err.value.message
