#!/usr/bin/python3
"""Lab stand-in for an Archipelago app service.

Configured by environment:
  STANDIN_NAME      what it stands for (bitcoind, mempool-api, ...), shown in logs and /health
  STANDIN_PORT      TCP port to serve HTTP on (default 8080)
  STANDIN_DEPENDS   comma list of host:port it needs, resolved by container DNS name
  STANDIN_UPSTREAM  host:port that /api/* is proxied to (a web front end)
  STANDIN_DEP_WAIT  seconds a dependency may stay unreachable before the process exits 1 (20)
  STANDIN_CHECK     seconds between dependency checks while running (5)

GET /health answers 200 with JSON while every dependency answers, 503 otherwise. It exits 1
when a dependency stays unreachable for STANDIN_DEP_WAIT seconds, as the real services do when
their database or node is gone; under a restart policy that is a crash loop.
`standin --probe` checks the local /health (the image's HEALTHCHECK).
"""
import html
import http.client
import http.server
import json
import os
import signal
import socket
import sys
import threading
import time

NAME = os.environ.get("STANDIN_NAME", "standin")
PORT = int(os.environ.get("STANDIN_PORT", "8080"))
DEPENDS = [d.strip() for d in os.environ.get("STANDIN_DEPENDS", "").split(",") if d.strip()]
UPSTREAM = os.environ.get("STANDIN_UPSTREAM", "").strip()
DEP_WAIT = float(os.environ.get("STANDIN_DEP_WAIT", "20"))
CHECK = float(os.environ.get("STANDIN_CHECK", "5"))
STARTED = time.time()
state = {"deps": {d: "unchecked" for d in DEPENDS}}


def log(msg):
    print(f"{time.strftime('%Y-%m-%dT%H:%M:%S')} {NAME}: {msg}", flush=True)


def split(hostport):
    host, _, port = hostport.rpartition(":")
    return host, int(port)


def check(dep):
    host, port = split(dep)
    try:
        addr = socket.gethostbyname(host)
    except OSError as exc:
        return f"cannot resolve {host}: {exc}"
    try:
        with socket.create_connection((addr, port), timeout=3):
            return "ok"
    except OSError as exc:
        return f"cannot connect to {host}:{port} ({addr}): {exc}"


def watch_dependencies():
    failing_since = {}
    while True:
        for dep in DEPENDS:
            result = check(dep)
            if result != state["deps"].get(dep):
                log(f"dependency {dep}: {result}")
            state["deps"][dep] = result
            if result == "ok":
                failing_since.pop(dep, None)
                continue
            first = failing_since.setdefault(dep, time.time())
            if time.time() - first >= DEP_WAIT:
                log(f"giving up: {dep} unreachable for {DEP_WAIT:.0f}s ({result})")
                os._exit(1)
        time.sleep(CHECK if all(v == "ok" for v in state["deps"].values()) else 1)


class Handler(http.server.BaseHTTPRequestHandler):
    def log_message(self, fmt, *args):
        pass

    def reply(self, code, body):
        # A browser (Accept: text/html) gets a page, as a real app's web UI answers; the rest JSON.
        if "text/html" in self.headers.get("Accept", ""):
            data = ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>%s</title></head>\n"
                    "<body><pre>%s</pre></body></html>\n" % (NAME, html.escape(json.dumps(body)))).encode()
            kind = "text/html; charset=utf-8"
        else:
            data, kind = json.dumps(body).encode(), "application/json"
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if UPSTREAM and self.path.startswith("/api/"):
            return self.proxy()
        healthy = all(v == "ok" for v in state["deps"].values())
        body = {"service": NAME, "healthy": healthy, "uptime": round(time.time() - STARTED, 1),
                "dependencies": state["deps"], "path": self.path}
        self.reply(200 if healthy else 503, body)

    def proxy(self):
        host, port = split(UPSTREAM)
        try:
            conn = http.client.HTTPConnection(host, port, timeout=5)
            conn.request("GET", self.path[len("/api"):] or "/")
            resp = conn.getresponse()
            data = resp.read()
            self.send_response(resp.status)
            self.send_header("Content-Type", resp.getheader("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
        except OSError as exc:
            self.reply(502, {"service": NAME, "error": f"upstream {UPSTREAM}: {exc}"})


def probe():
    try:
        conn = http.client.HTTPConnection("127.0.0.1", PORT, timeout=3)
        conn.request("GET", "/health")
        return 0 if conn.getresponse().status == 200 else 1
    except OSError:
        return 1


def main():
    if "--probe" in sys.argv:
        sys.exit(probe())
    if UPSTREAM and UPSTREAM not in DEPENDS:
        DEPENDS.append(UPSTREAM)
        state["deps"][UPSTREAM] = "unchecked"
    log(f"starting on :{PORT}, needs {', '.join(DEPENDS) or 'nothing'}")
    threading.Thread(target=watch_dependencies, daemon=True).start()
    # As PID 1 the process has no default SIGTERM action: stop cleanly when asked to.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    server = http.server.ThreadingHTTPServer(("0.0.0.0", PORT), Handler)
    server.serve_forever()


if __name__ == "__main__":
    main()
