"""The collection's RPC client against a scripted fake transport: envelope, 401 re-login,
429 back-off, connection retries, TOTP, and secrets kept out of what it returns."""
import json

import pytest

from ansible_collections.archipelago.node.plugins.module_utils import rpc

URL = "http://127.0.0.1:5678/rpc/v1"


def env(result=None, error=None):
    return json.dumps({"result": result, "error": error})


class FakeTransport:
    """Answers from a script of (status, body) or exceptions; records what was sent."""

    def __init__(self, script):
        self.script = list(script)
        self.sent = []
        self.csrf = None

    def cookie(self, name):
        return self.csrf if name == "csrf_token" else None

    def post(self, url, body, headers):
        req = json.loads(body)
        self.sent.append((req["method"], req["params"], dict(headers)))
        step = self.script.pop(0)
        if isinstance(step, Exception):
            raise step
        if req["method"] in ("auth.login", "auth.login.totp") and step[0] == 200 and '"error": null' in step[1]:
            self.csrf = "csrf-1"
        return step


def client(script, **kw):
    t = FakeTransport(script)
    delays = []
    c = rpc.RpcClient(URL, password="pw-123456", transport=t, sleep=delays.append, **kw)
    return c, t, delays


def test_login_then_call_with_csrf_header():
    c, t, dummy = client([(200, env({"ok": True})), (200, env({"did": "did:key:z6Mk1"}))])
    assert c.call("node.did") == {"did": "did:key:z6Mk1"}
    assert [s[0] for s in t.sent] == ["auth.login", "node.did"]
    assert t.sent[1][2]["X-CSRF-Token"] == "csrf-1"
    assert t.sent[1][2]["X-Requested-With"] == "XMLHttpRequest"


def test_unauthenticated_method_needs_no_login():
    c, t, dummy = client([(200, env({"status": "ok"}))])
    assert c.call("health")["status"] == "ok"
    assert [s[0] for s in t.sent] == ["health"]


def test_401_logs_in_again_once():
    c, t, dummy = client([(200, env({"ok": True})), (401, env(error={"code": 401, "message": "authentication required"})),
                          (200, env({"ok": True})), (200, env([]))])
    assert c.call("federation.list-nodes") == []
    assert [s[0] for s in t.sent] == ["auth.login", "federation.list-nodes", "auth.login", "federation.list-nodes"]


def test_401_twice_is_a_clear_failure():
    denied = (401, env(error={"code": 401, "message": "authentication required"}))
    c, t, dummy = client([(200, env({"ok": True})), denied, (200, env({"ok": True})), denied])
    with pytest.raises(rpc.RpcError) as err:
        c.call("node.did")
    assert err.value.kind == "auth" and "not authenticated" in err.value.message


def test_429_backs_off_then_succeeds():
    limited = (429, env(error={"code": 429, "message": "rate limit"}))
    c, t, delays = client([(200, env({"ok": True})), limited, limited, (200, env({"joined": True}))],
                          rate_limit_delay=15.0)
    assert c.call("federation.join", {"code": "x"}) == {"joined": True}
    assert delays == [15.0, 30.0]


def test_429_gives_up_after_bounded_retries():
    limited = (429, env(error={"code": 429, "message": "rate limit"}))
    c, t, delays = client([(200, env({"ok": True}))] + [limited] * 3, rate_limit_retries=2)
    with pytest.raises(rpc.RpcError) as err:
        c.call("federation.invite")
    assert err.value.kind == "rate_limited" and "HTTP 429" in err.value.message and len(delays) == 2


def test_connection_errors_are_retried_then_named():
    c, t, delays = client([OSError("Connection refused")] * 4, retries=3, retry_delay=1.0)
    with pytest.raises(rpc.RpcError) as err:
        c.call("health")
    assert delays == [1.0, 2.0, 4.0]
    assert err.value.kind == "unreachable"
    assert URL in err.value.message and "4 attempts" in err.value.message and "archipelago.service" in err.value.message


def test_handler_error_names_method_url_and_reason():
    c, t, dummy = client([(200, env({"ok": True})),
                          (200, env(error={"code": -1, "message": "invite already used (ask the inviter for a new code)"}))])
    with pytest.raises(rpc.RpcError) as err:
        c.call("federation.join", {"code": "archy1.a.b"})
    assert err.value.message == ("federation.join on %s refused: invite already used "
                                 "(ask the inviter for a new code)" % URL)


def test_not_an_envelope_is_a_protocol_error():
    c, t, dummy = client([(502, "<html>Bad Gateway</html>")])
    with pytest.raises(rpc.RpcError) as err:
        c.call("health")
    assert err.value.kind == "protocol" and "502" in err.value.message


def test_wrong_password_and_missing_totp():
    c, t, dummy = client([(200, env(error={"code": -1, "message": "invalid password"}))])
    with pytest.raises(rpc.RpcError) as err:
        c.call("node.did")
    assert err.value.kind == "auth" and "invalid password" in err.value.message
    c, t, dummy = client([(200, env({"requires_totp": True, "signer": False}))])
    with pytest.raises(rpc.RpcError) as err:
        c.call("node.did")
    assert "TOTP" in err.value.message


def test_totp_login():
    c, t, dummy = client([(200, env({"requires_totp": True})), (200, env({"ok": True})), (200, env({"did": "d"}))],
                         totp_code="123456")
    assert c.call("node.did") == {"did": "d"}
    assert t.sent[1][:2] == ("auth.login.totp", {"code": "123456"})


def test_password_never_in_audit_trail_and_redact():
    c, t, dummy = client([(200, env({"ok": True})), (200, env({"did": "d"}))])
    c.call("node.did")
    assert "pw-123456" not in json.dumps(c.calls)
    assert rpc.redact({"password": "x", "nested": [{"code": "archy1.a.b", "keep": 1}], "empty": ""}) == \
        {"password": rpc.REDACTED, "nested": [{"code": rpc.REDACTED, "keep": 1}], "empty": ""}


def test_read_password_from_file(tmp_path):
    f = tmp_path / "pw"
    f.write_text("s3cret-pass\n")
    assert rpc.read_password(password_file=str(f)) == "s3cret-pass"
    with pytest.raises(rpc.RpcError):
        rpc.read_password(password_file=str(tmp_path / "missing"))


@pytest.mark.parametrize("url, message", [
    ("file:///etc/shadow", "not file://"), ("data:text/plain,x", "not data://"), ("ftp://host/x", "not ftp://"),
    ("http://admin:hunter2@127.0.0.1:5678/rpc/v1", "must not carry a user or password"),
    ("http://[::1/rpc", "not a valid URL"), ("http:///rpc/v1", "names no host"), ("http://a b/", "without spaces"),
    ("127.0.0.1:5678/rpc/v1", "http:// or https://"),
])
def test_urls_that_are_not_the_backend_are_refused_without_echoing_secrets(url, message):
    with pytest.raises(rpc.RpcError) as exc:
        rpc.check_url(url)
    assert message in exc.value.message and "hunter2" not in exc.value.message and "shadow" not in exc.value.message
    assert rpc.check_url(URL) == URL


def test_password_file_only_a_small_regular_utf8_file(tmp_path):
    import os
    good = tmp_path / "pw"
    good.write_text("s3cret\nsecond line\n")
    assert rpc.read_password(password_file=str(good)) == "s3cret"
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    big = tmp_path / "big"
    big.write_bytes(b"x" * 5000)
    latin = tmp_path / "latin"
    latin.write_bytes(b"caf\xe9\n")
    for path, message in ((str(fifo), "not a regular file"), ("/dev/zero", "not a regular file"),
                          (str(big), "larger than"), (str(latin), "not UTF-8"), ("/a\x00b", "without NUL"),
                          (str(tmp_path / "missing"), "cannot read password_file")):
        with pytest.raises(rpc.RpcError) as exc:
            rpc.read_password(password_file=path)
        assert message in exc.value.message, (path, exc.value.message)


def test_an_error_in_any_form_is_an_error_and_deep_nesting_is_a_protocol_error():
    assert rpc.parse_envelope(200, json.dumps({"result": None, "error": {}}))[1] is not None
    c, dummy, dummy = client([(200, env({"ok": True})), (200, json.dumps({"result": {"x": 1}, "error": {}}))])
    with pytest.raises(rpc.RpcError) as exc:
        c.call("node.did")
    assert exc.value.kind == "refused"
    with pytest.raises(rpc.RpcError) as exc:
        rpc.parse_envelope(200, "[" * 100000 + "]" * 100000)
    assert exc.value.kind == "protocol"


def test_limits_and_one_deadline_per_run():
    for timeout, retries in ((0, 3), (301, 3), (10, -1), (10, 1000000)):
        with pytest.raises(rpc.RpcError):
            rpc.check_limits(timeout, retries)
    rpc.check_limits(10, 3)
    # a back-off that would pass the deadline is not slept: the run ends with a clear message
    c, t, delays = client([OSError("refused")] * 5, retries=4, retry_delay=10.0, budget=5)
    with pytest.raises(rpc.RpcError) as exc:
        c.call("health")
    assert "no time left in this run" in exc.value.message and delays == []


class Trickle:
    """A reply that sends a byte at a time, or too much."""

    def __init__(self, total, clock):
        self.left, self.clock = total, clock

    def read(self, n):
        if self.left <= 0:
            return b""
        self.left -= 1
        self.clock[0] += 1.0
        return b"x"


def test_a_reply_that_trickles_or_is_too_large_is_refused(monkeypatch):
    clock = [0.0]
    monkeypatch.setattr(rpc.time, "monotonic", lambda: clock[0])
    with pytest.raises(rpc.RpcError) as exc:
        rpc.read_bounded(Trickle(100, clock), deadline=5.0)
    assert "still arriving" in exc.value.message
    with pytest.raises(rpc.RpcError) as exc:
        rpc.read_bounded(Trickle(100, clock), deadline=None, limit=10)
    assert "larger than 10 bytes" in exc.value.message
    assert rpc.read_bounded(Trickle(3, clock), deadline=None) == "xxx"


@pytest.mark.parametrize("result", [[], "x", 3, True])
def test_an_object_reply_of_another_type_is_a_protocol_error(result):
    with pytest.raises(rpc.RpcError) as exc:
        rpc.dict_reply(result, "node.did", URL)
    assert exc.value.kind == "protocol" and "node.did" in exc.value.message and "where an object was expected" in exc.value.message
    assert rpc.dict_reply(None, "node.did", URL) == {}
    with pytest.raises(rpc.RpcError):
        rpc.dict_reply({"code": 5}, "federation.invite", URL, keys=("code",))


@pytest.mark.parametrize("result, message", [
    ({}, "where a list was expected"), ("nodes", "where a list was expected"), ([1], "entry 0 is a number"),
    ([{"name": "x"}], "without a text 'did'"), ([{"did": ""}], "without a text 'did'"),
    ([{"did": "did:key:z1", "last_seen": "yesterday"}], "'last_seen' is a string, not a number"),
    ([{"did": "did:key:z1", "last_seen": True}], "not a number"),
])
def test_a_list_reply_of_another_shape_is_a_protocol_error(result, message):
    with pytest.raises(rpc.RpcError) as exc:
        rpc.list_reply(result, "federation.list-nodes", URL, keys=("did",), numbers=("last_seen",))
    assert message in exc.value.message, exc.value.message
    assert rpc.list_reply(None, "x", URL) == []
    assert rpc.list_reply([{"did": "d", "last_seen": 5}], "x", URL, ("did",), ("last_seen",)) == [{"did": "d", "last_seen": 5}]


def test_call_list_and_call_dict_check_what_the_backend_answered():
    c, dummy, dummy = client([(200, env({"ok": True})), (200, env({"not": "a list"}))])
    with pytest.raises(rpc.RpcError) as exc:
        c.call_list("backup.list", keys=("id",))
    assert exc.value.kind == "protocol"
    c, dummy, dummy = client([(200, env({"ok": True})), (200, env([{"id": "b1", "created_at": 5}]))])
    assert c.call_list("backup.list", keys=("id",), numbers=("created_at",))[0]["id"] == "b1"
