"""The HTTP clients against a hostile peer on a real loopback socket: trickled replies end at the
run's deadline, redirects are answers and never followed, broken HTTP is a clean error, and a
whole module run stays inside its deadline."""
import time

import pytest

from ansible_collections.archipelago.node.plugins.module_utils import deadline as deadlines
from ansible_collections.archipelago.node.plugins.module_utils import pkarr, rpc

from ansible_collections.archipelago.node.tests.unit.plugins.module_utils.hostile_peer import http_reply, run_module

OK = b'{"result": {"status": "ok", "version": "1.9.1"}, "error": null}'
SLOW = 0.2          # seconds between two bytes of a trickled reply


def rpc_client(server, budget=2.0, retries=0):
    return rpc.RpcClient(server.url + "/rpc/v1", transport=rpc.Transport(timeout=1), retries=retries, budget=budget)


def body_trickled(line, send):
    send(http_reply("200 OK", length=len(OK)))
    send(OK, every=SLOW)       # 63 bytes: 12.6 s, each byte well inside the socket timeout


def all_trickled(line, send):
    send(http_reply("200 OK", OK), every=SLOW)


def test_a_reply_trickled_byte_by_byte_ends_at_the_deadline(raw_http):
    raw_http.answer = body_trickled
    started = time.monotonic()
    with pytest.raises(rpc.RpcError) as err:
        rpc_client(raw_http).call("health")
    assert time.monotonic() - started < 3.5
    assert "still arriving" in err.value.message and err.value.kind == "unreachable"


def test_a_status_line_trickled_byte_by_byte_is_cut_by_the_hard_deadline(raw_http):
    raw_http.answer = all_trickled
    started = time.monotonic()
    with pytest.raises(deadlines.DeadlinePassed):
        with deadlines.hard_deadline(1.5):
            rpc_client(raw_http, budget=60).call("health")
    assert time.monotonic() - started < 3


def test_the_hard_deadline_restores_what_was_armed_before():
    import signal
    before = signal.getsignal(signal.SIGALRM)
    with deadlines.hard_deadline(30):
        pass
    assert signal.getsignal(signal.SIGALRM) is before and signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)
    for bad in (0, -1, float("nan"), float("inf"), "10", True):
        with pytest.raises(ValueError):
            with deadlines.hard_deadline(bad):
                pass


@pytest.mark.parametrize("location", ["file:///etc/passwd", "http://127.0.0.1:1/rpc/v1", "ftp://x/"])
def test_a_redirect_from_the_backend_is_an_answer_and_not_followed(raw_http, location):
    raw_http.answer = lambda line, send: send(http_reply("302 Found", headers={"Location": location}))
    with pytest.raises(rpc.RpcError) as err:
        rpc_client(raw_http).call("health")
    assert "redirect" in err.value.message and err.value.kind == "protocol" and err.value.status == 302
    assert len(raw_http.requests) == 1 and "passwd" not in err.value.message


@pytest.mark.parametrize("answer, words, kind", [
    (b"HTTP/1.1 abc\r\n\r\n", "is not HTTP (BadStatusLine", "protocol"),
    (b"SSH-2.0-OpenSSH_9.2\r\n", "is not HTTP (BadStatusLine", "protocol"),
    (b"", "did not answer", "unreachable"),                 # closed at once: a restart, retried
    (http_reply("200 OK", b'{"result": 1, "error": null}', length=200), "cut short", "unreachable"),
])
def test_broken_http_from_the_backend_is_a_clean_error(raw_http, answer, words, kind):
    raw_http.answer = lambda line, send: send(answer)
    with pytest.raises(rpc.RpcError) as err:
        rpc_client(raw_http, retries=1).call("health")
    assert words in err.value.message and err.value.kind == kind
    assert len(raw_http.requests) == (2 if kind == "unreachable" and not answer else 1)


def test_a_huge_reply_from_the_backend_is_refused_while_reading(raw_http):
    big = b"x" * (rpc.MAX_BODY + 65536)
    raw_http.answer = lambda line, send: send(http_reply("200 OK", big))
    with pytest.raises(rpc.RpcError) as err:
        rpc_client(raw_http).call("health")
    assert "larger than" in err.value.message and err.value.kind == "protocol"


def relay_fetch(budget=2.0):
    return pkarr.open_url_fetch(timeout=1, deadline=time.monotonic() + budget)


def test_a_relay_body_trickled_byte_by_byte_ends_at_the_deadline(raw_http):
    raw_http.answer = body_trickled
    started = time.monotonic()
    with pytest.raises(IOError) as err:
        relay_fetch()("GET", raw_http.url + "/abc", None)
    assert time.monotonic() - started < 3.5 and "still arriving" in str(err.value)


@pytest.mark.parametrize("code", [301, 302, 307, 308])
def test_a_relay_redirect_is_reported_and_not_followed(raw_http, code):
    raw_http.answer = lambda line, send: send(http_reply("%d Moved" % code, headers={"Location": "/elsewhere"}))
    relays = pkarr.Relays(relay_fetch(), retries=0)
    with pytest.raises(pkarr.RelayError) as err:
        relays.get(raw_http.url + "/", "abc")
    assert "redirects are not followed" in err.value.message and err.value.status == code
    with pytest.raises(pkarr.RelayError) as err:
        relays.put(raw_http.url + "/", "abc", b"body")
    assert "redirects are not followed" in err.value.message
    assert [r.split()[1] for r in raw_http.requests] == ["/abc", "/abc"]


@pytest.mark.parametrize("answer, words", [
    (b"HTTP/1.1 abc\r\n\r\n", "not valid HTTP"),
    (http_reply("200 OK", b"x" * 10, length=100), "cut short"),
    (http_reply("200 OK", b"x" * (pkarr.READ_MAX + 10)), "more than"),
])
def test_broken_http_from_a_relay_is_an_io_error(raw_http, answer, words):
    raw_http.answer = lambda line, send: send(answer)
    with pytest.raises(IOError) as err:
        relay_fetch()("GET", raw_http.url + "/abc", None)
    assert words in str(err.value)


def test_relay_retries_stop_at_the_run_deadline(raw_http):
    raw_http.answer = lambda line, send: send(http_reply("503 Busy"))
    relays = pkarr.Relays(relay_fetch(budget=2.5), retries=10, base_delay=1.0, deadline=time.monotonic() + 2.5)
    started = time.monotonic()
    with pytest.raises(pkarr.RelayError) as err:
        relays.get(raw_http.url + "/", "abc")
    assert time.monotonic() - started < 3 and "no time left" in err.value.message
    assert 1 < len(raw_http.requests) < 5


@pytest.fixture
def short_runs(monkeypatch):
    """Module runs whose deadline is 1.5 s and the hard one 0.5 s later."""
    monkeypatch.setattr(deadlines, "budget_for", lambda timeout, retries: 1.5)
    monkeypatch.setattr(deadlines, "BACKSTOP_S", 0.5)


@pytest.mark.parametrize("answer", [body_trickled, all_trickled], ids=["body", "status-line"])
def test_an_rpc_module_run_ends_at_its_deadline_with_a_message(raw_http, short_runs, tmp_path, answer):
    raw_http.answer = answer
    started = time.monotonic()
    rc, res, text = run_module("federation_info", {"url": raw_http.url + "/rpc/v1", "password": "pw-secret-1",
                                                   "session_dir": str(tmp_path), "timeout": 1, "retries": 0})
    assert time.monotonic() - started < 4
    assert rc == 1 and res["error_kind"] == "unreachable" and "Traceback" not in text, res
    assert "still arriving" in res["msg"] or "answers too slowly" in res["msg"]
    assert "pw-secret-1" not in text


@pytest.mark.parametrize("answer", [body_trickled, all_trickled], ids=["body", "status-line"])
def test_a_did_dht_run_ends_at_its_deadline_with_a_message(raw_http, short_runs, answer):
    raw_http.answer = answer
    did = "did:dht:" + "y" * 52
    started = time.monotonic()
    rc, res, text = run_module("did_dht_info", {"relays": [raw_http.url + "/"], "did": did, "timeout": 1,
                                                "retries": 0})
    assert time.monotonic() - started < 4
    assert rc == 1 and "Traceback" not in text and res["msg"].startswith("did_dht_info: "), res
    assert "still arriving" in res["msg"] or "answers too slowly" in res["msg"], res["msg"]


def test_backend_health_ends_at_its_deadline_against_a_trickling_backend(raw_http, monkeypatch):
    monkeypatch.setattr(deadlines, "BACKSTOP_S", 0.5)
    raw_http.answer = all_trickled
    started = time.monotonic()
    rc, res, text = run_module("backend_health", {"url": raw_http.url + "/rpc/v1", "timeout": 1, "interval": 0.2})
    assert time.monotonic() - started < 4
    assert rc == 1 and res["healthy"] is False and "Traceback" not in text, res
