#!/usr/bin/python3
"""The lab's stand-in for the Archipelago backend (not part of the collection).

Installed on each lab node as /usr/local/bin/archipelago and run by archipelago.service.
It binds ARCHIPELAGO_BIND (default 127.0.0.1:5678), speaks the backend's JSON-RPC envelope
at POST /rpc/v1 and GET /health, and talks to systemd: READY=1 once listening, WATCHDOG=1
pings at half of WatchdogSec.

This first cut implements `health`; the rest of the contract grows here (see lab/api/README.md).
"""
import json
import os
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

VERSION = "0.1.0-lab"
STARTED = time.monotonic()
MAX_BODY = 1 << 20


def sd_notify(msg):
    addr = os.environ.get("NOTIFY_SOCKET")
    if not addr:
        return
    if addr.startswith("@"):
        addr = "\0" + addr[1:]
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as s:
        s.connect(addr)
        s.sendall(msg.encode())


def watchdog_loop():
    usec = int(os.environ.get("WATCHDOG_USEC", "0") or 0)
    if not usec:
        return
    while True:
        sd_notify("WATCHDOG=1")
        time.sleep(usec / 2e6)


def health():
    return {"status": "ok", "crash_recovery_complete": True,
            "uptime_seconds": int(time.monotonic() - STARTED), "version": VERSION}


METHODS = {"health": lambda params: health()}


class Handler(BaseHTTPRequestHandler):
    server_version = "archipelago-lab"
    sys_version = ""

    def log_message(self, fmt, *args):
        pass

    def send_json(self, code, body):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def envelope_error(self, message, code=-1):
        self.send_json(200, {"result": None, "error": {"code": code, "message": message, "data": None}})

    def do_GET(self):
        if self.path == "/health":
            return self.send_json(200, health())
        self.send_json(404, {"result": None, "error": {"code": -32601, "message": "not found", "data": None}})

    def do_POST(self):
        if self.path != "/rpc/v1":
            return self.send_json(404, {"result": None, "error": {"code": -32601, "message": "not found", "data": None}})
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY:
            return self.envelope_error("request body too large", -32600)
        try:
            req = json.loads(self.rfile.read(length) or b"null")
            method = req["method"]
            params = req.get("params") or {}
        except (ValueError, KeyError, TypeError, AttributeError):
            return self.envelope_error("invalid JSON-RPC request", -32700)
        fn = METHODS.get(method)
        if fn is None:
            return self.envelope_error(f"unknown method: {str(method)[:64]}", -32601)
        self.send_json(200, {"result": fn(params), "error": None})


def main():
    host, _, port = os.environ.get("ARCHIPELAGO_BIND", "127.0.0.1:5678").rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), Handler)
    threading.Thread(target=watchdog_loop, daemon=True).start()
    sd_notify("READY=1")
    server.serve_forever()


if __name__ == "__main__":
    main()
