"""The RPC modules against a backend that answers wrongly (a fake JSON-RPC server on loopback):
each run fails with a message that names the method, never with a Python traceback, and a
password read from password_file never reaches the output even when the backend echoes it."""
import http.server
import json
import threading

import pytest

from labapi import PASSWORD


class Hostile(http.server.BaseHTTPRequestHandler):
    """Logs in anyone and answers every other method with the server's `answers[method]` result;
    with `echo` set, answers every request with an error that repeats it (password included)."""

    def log_message(self, *args):
        pass

    def do_POST(self):
        req = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        method = req.get("method")
        cookies = []
        if self.server.echo:   # the request itself (a login holds the password) in the error
            body = {"result": None, "error": {"code": -1, "message": "echo: %s" % json.dumps(req)}}
        elif method == "auth.login":
            body = {"result": {"ok": True}, "error": None}
            cookies = ["session=s1; Path=/", "csrf_token=c1; Path=/"]
        else:
            body = {"result": self.server.answers.get(method), "error": None}
        data = json.dumps(body).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for c in cookies:
            self.send_header("Set-Cookie", c)
        self.end_headers()
        self.wfile.write(data)


@pytest.fixture
def hostile():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Hostile)
    server.answers, server.echo = {}, False
    threading.Thread(target=server.serve_forever, daemon=True).start()
    server.url = "http://127.0.0.1:%d/rpc/v1" % server.server_address[1]
    yield server
    server.shutdown()


CASES = [
    ("node_identity_info", {}, {"node.did": ["not", "an", "object"]}, "node.did"),
    ("node_identity_info", {}, {"node.did": {}, "node.nostr-pubkey": "a string"}, "node.nostr-pubkey"),
    ("federation_info", {}, {"federation.list-nodes": {"a": 1}}, "federation.list-nodes"),
    ("federation_info", {}, {"federation.list-nodes": [{"name": "no did"}]}, "federation.list-nodes"),
    ("federation_sync", {}, {"federation.list-nodes": [{"did": "did:key:z1", "trust_level": "trusted"}],
                             "federation.sync-state": {"synced": "all", "failed": []}}, "federation.sync-state"),
    ("backup", {"state": "listed"}, {"backup.list": [{"label": "no id"}]}, "backup.list"),
    ("backup_info", {}, {"backup.list": [{"label": "no id"}]}, "backup.list"),
    ("backup", {"state": "present", "passphrase": "long enough passphrase"},
     {"backup.list": [{"id": "b1", "created_at": "yesterday"}]}, "backup.list"),
    ("federation_invite", {}, {"node.did": {"did": "did:key:z1"}, "federation.invite": {"no": "code"}},
     "federation.invite"),
    ("nostr_identity", {}, {"node.nostr-pubkey": [1, 2]}, "node.nostr-pubkey"),
]


@pytest.mark.parametrize("module, args, answers, method", CASES, ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_a_reply_of_the_wrong_shape_fails_cleanly(play, hostile, module, args, answers, method):
    hostile.answers = answers
    rc, res, text = play([{f"archipelago.node.{module}": {"url": hostile.url, **args}}])
    assert rc != 0
    msg = res[0]["msg"]
    assert method in msg and "Traceback" not in text and "MODULE FAILURE" not in text, msg
    assert res[0].get("error_kind") == "protocol", res[0]


def test_a_password_from_password_file_is_masked_even_when_echoed(play, hostile):
    hostile.echo = True
    rc, res, text = play([{"archipelago.node.node_identity_info": {"url": hostile.url}}])
    assert rc != 0 and "echo:" in res[0]["msg"]
    assert PASSWORD not in text
