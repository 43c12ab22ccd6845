"""A hostile HTTP peer on a real loopback socket, for what a scripted transport cannot show:
replies trickled one byte at a time (status line, headers or body), redirects, garbage status
lines, bodies cut short or too large. The server answers each connection with the test's
`answer(request_line, send)` function; `send(data, every=0)` writes data, one byte per `every`
seconds when set. Waits between bytes end at once when the test is over."""
import atexit
import json
import os
import socket
import socketserver
import threading

import pytest


class _Handler(socketserver.BaseRequestHandler):
    def handle(self):
        server = self.server
        conn = self.request
        conn.settimeout(5)
        try:
            head = b""
            while b"\r\n\r\n" not in head and len(head) < 65536:
                piece = conn.recv(4096)
                if not piece:
                    return
                head += piece
            line = head.split(b"\r\n", 1)[0].decode("latin-1")
            server.requests.append(line)
            length = 0
            for header in head.split(b"\r\n\r\n", 1)[0].split(b"\r\n")[1:]:
                name, value = (header.split(b":", 1) + [b""])[:2]
                if name.strip().lower() == b"content-length":
                    length = int(value.strip())
            body = head.split(b"\r\n\r\n", 1)[1]
            while len(body) < length:   # read the request's body: closing on unread data resets the client
                piece = conn.recv(65536)
                if not piece:
                    return
                body += piece

            def send(data, every=0):
                if not every:
                    conn.sendall(data)
                    return
                for i in range(len(data)):
                    if server.stop.wait(every):
                        return
                    conn.sendall(data[i:i + 1])
            server.answer(line, send)
        except (OSError, socket.timeout):
            pass   # the client gave up: that is what most tests want to see


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


def http_reply(status, body=b"", headers=None, length=None):
    """The bytes of one HTTP/1.1 reply; `length` overrides Content-Length (a short body)."""
    lines = ["HTTP/1.1 %s" % status, "Content-Length: %d" % (len(body) if length is None else length),
             "Connection: close"] + ["%s: %s" % kv for kv in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


@pytest.fixture
def raw_http():
    """The hostile peer; set its `answer`, read its `requests`."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.requests, server.stop = [], threading.Event()
    server.answer = lambda line, send: send(http_reply("404 Not Found"))
    server.url = "http://127.0.0.1:%d" % server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.stop.set()
    server.shutdown()
    server.server_close()


def run_module(name, args, check=False, diff=False):
    """Run the collection's module `name` in this process as AnsiballZ would: (rc, result, the
    raw output). An exception other than the module's exit is a crash and propagates."""
    import contextlib
    import importlib
    import io
    import json

    from ansible.module_utils.testing import patch_module_args

    module = importlib.import_module("ansible_collections.archipelago.node.plugins.modules." + name)
    out = io.StringIO()
    rc = None
    with patch_module_args(dict(args, _ansible_check_mode=check, _ansible_diff=diff)), contextlib.redirect_stdout(out):
        try:
            module.main()
        except SystemExit as exc:
            rc = exc.code
    text = out.getvalue()
    assert rc is not None, "%s returned without exit_json or fail_json" % name
    return rc, json.loads(text), text


def report_stats(counter):
    """At exit, add `counter` (cases, crashes, hangs, leaks, ...) to the JSON file named by
    ARCHY_FUZZ_STATS, which bench/fuzz.sh prints; several suites add to one file."""
    def write():
        path = os.environ.get("ARCHY_FUZZ_STATS")
        if not path:
            return
        try:
            with open(path) as fh:
                totals = json.load(fh)
        except (IOError, ValueError):
            totals = {}
        for key, value in counter.items():
            totals[key] = totals.get(key, 0) + value
        with open(path, "w") as fh:
            json.dump(totals, fh)
    atexit.register(write)
