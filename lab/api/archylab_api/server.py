"""HTTP server: POST /rpc/v1 (the JSON-RPC envelope), GET /health, systemd notify and watchdog."""
import argparse
import http.cookies
import json
import os
import socket
import sys
import threading
import time
import traceback
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from . import VERSION
from .auth import Auth
from .backup import Backups
from .content import Content
from .dwn import Dwn
from .errors import BadParams, RateLimited, RpcError, param
from .federation import Federation
from .node import Node
from . import nostr
from .ratelimit import RateLimiter

MAX_BODY = 64 * 1024


class Config:
    def __init__(self, env=os.environ):
        self.bind = env.get("ARCHIPELAGO_BIND", "127.0.0.1:5678")
        self.data_dir = env.get("ARCHIPELAGO_DATA", "/var/lib/archipelago")
        self.config_dir = env.get("ARCHIPELAGO_CONFIG_DIR", "/etc/archipelago")
        self.node_name = env.get("ARCHIPELAGO_NODE_NAME") or socket.gethostname()
        host, _, port = self.bind.rpartition(":")
        self.address = env.get("ARCHIPELAGO_ADDRESS") or f"http://{host}:{port}"
        self.podman_mode = env.get("ARCHIPELAGO_PODMAN_MODE", "root")
        self.rootless_user = env.get("ARCHIPELAGO_ROOTLESS_USER", "archipelago")
        self.tor_dir = env.get("ARCHIPELAGO_TOR_DIR", "/var/lib/tor")
        self.sync_interval = float(env.get("ARCHIPELAGO_SYNC_INTERVAL", "300"))
        self.fault = env.get("ARCHIPELAGO_LAB_FAULT", "")
        # Federation transport: "direct" (the peer's address) or "tor" (the peer's onion address
        # through the SOCKS port of the node's Tor), as the real backend federates over Tor.
        self.federate_via = env.get("ARCHIPELAGO_FEDERATE_VIA", "direct")
        self.tor_socks = env.get("ARCHIPELAGO_TOR_SOCKS", "127.0.0.1:9050")
        # The Nostr relays node.nostr-discover asks (space-separated ws:// URLs).
        self.nostr_relays = env.get("ARCHIPELAGO_NOSTR_RELAYS", "").split()


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
    while usec:
        sd_notify("WATCHDOG=1")
        time.sleep(usec / 2e6)


class Api:
    """The method table. Each handler takes (params, ctx) and returns the result value."""

    UNAUTHENTICATED = {"health", "auth.login", "auth.login.totp", "auth.login.backup", "auth.isOnboardingComplete",
                       "auth.isSetup", "auth.setup", "federation.peer-join", "federation.peer-confirm",
                       "federation.peer-state", "content.peer-list", "content.peer-get",
                       "dwn.peer-records"}

    def __init__(self, cfg):
        self.cfg = cfg
        self.started = time.monotonic()
        self.auth = Auth(cfg.data_dir)
        self.node = Node(cfg)
        self.fed = Federation(cfg, self.node)
        self.backups = Backups(cfg)
        self.dwn = Dwn(cfg, self.node, self.fed)
        self.content = Content(cfg, self.node, self.fed)
        self.limits = {"auth.login": RateLimiter(5, 60), "federation.join": RateLimiter(5, 60),
                       "federation.invite": RateLimiter(10, 300)}
        self.methods = {
            "health": lambda p, c: self.health(),
            "auth.isSetup": lambda p, c: self.auth.is_setup(),
            "auth.isOnboardingComplete": lambda p, c: self.auth.is_setup(),
            "auth.setup": self.setup,
            "auth.login": self.login,
            "auth.login.totp": self.login_totp,
            "auth.login.backup": lambda p, c: self._raise(RpcError("backup codes are not enabled on this node")),
            "auth.logout": self.logout,
            "auth.totp.enable": lambda p, c: {"secret": self.auth.enable_totp()},
            "auth.totp.disable": lambda p, c: self.auth.disable_totp() or {"enabled": False},
            "node.did": lambda p, c: self.node.did_info(),
            "node.nostr-pubkey": lambda p, c: self.node.nostr_info(),
            "identity.create-nostr-key": lambda p, c: self.node.create_nostr_key(),
            "identity.clear-nostr-revocation": lambda p, c: self.node.clear_revocation_marker(),
            "identity.nostr-sign": self.nostr_sign,
            "identity.nostr-encrypt": lambda p, c: {"ciphertext": nostr.nip04_encrypt(
                self._nostr_secret(), param(p, "pubkey", str), param(p, "plaintext", str))},
            "identity.nostr-decrypt": lambda p, c: {"plaintext": nostr.nip04_decrypt(
                self._nostr_secret(), param(p, "pubkey", str), param(p, "ciphertext", str))},
            "node.nostr-discover": self.nostr_discover,
            "content.add": lambda p, c: self.content.add(param(p, "name", str), param(p, "data", str),
                                                         param(p, "access", str, False, "free"),
                                                         param(p, "price_sats", int, False)),
            "content.list": lambda p, c: self.content.list(),
            "content.remove": lambda p, c: self.content.remove(param(p, "id", str)),
            "content.browse-peer": lambda p, c: self.content.browse_peer(
                param(p, "onion", str, False), param(p, "did", str, False), param(p, "anonymous", bool, False, False)),
            "content.download-peer": lambda p, c: self.content.download_peer(
                param(p, "onion", str, False), param(p, "did", str, False), param(p, "id", str),
                param(p, "anonymous", bool, False, False)),
            "content.peer-list": lambda p, c: self.content.peer_list(p),
            "content.peer-get": lambda p, c: self.content.peer_get(p),
            "federation.invite": lambda p, c: self.fed.invite(param(p, "expires_in", int, False, 3600),
                                                              param(p, "trust_level", str, False, "trusted")),
            "federation.join": lambda p, c: self.fed.join(param(p, "code", str)),
            "federation.peer-join": lambda p, c: self.fed.peer_join(p),
            "federation.peer-confirm": lambda p, c: self.fed.peer_confirm(p),
            "federation.peer-state": lambda p, c: self.fed.peer_state(p),
            "federation.list-nodes": lambda p, c: self.fed.nodes(),
            "federation.get-state": lambda p, c: self.fed.get_state(),
            "federation.sync-state": lambda p, c: self.fed.sync(param(p, "did", str, False)),
            "container.list": lambda p, c: self.node.containers(),
            "system.stats": lambda p, c: self.node.stats(),
            "tor.list-services": lambda p, c: self.node.tor_services(),
            "backup.create": lambda p, c: self.backups.create(param(p, "passphrase", str), param(p, "label", str, False)),
            "backup.list": lambda p, c: self.backups.list(),
            "backup.verify": lambda p, c: self.backups.verify(param(p, "id", str), param(p, "passphrase", str)),
            "backup.delete": lambda p, c: self.backups.delete(param(p, "id", str)),
            "backup.restore": self.restore,
            "dwn.register-protocol": lambda p, c: self.dwn.register(param(p, "definition", dict)),
            "dwn.list-protocols": lambda p, c: self.dwn.list_protocols(),
            "dwn.status": lambda p, c: self.dwn.status(),
            "dwn.write-record": lambda p, c: self.dwn.write_record(param(p, "protocol", str), param(p, "data", dict)),
            "dwn.query-records": lambda p, c: self.dwn.query_records(param(p, "protocol", str, False),
                                                                     param(p, "author", str, False)),
            "dwn.sync": lambda p, c: self.dwn.sync(param(p, "did", str, False)),
            "dwn.peer-records": lambda p, c: self.dwn.peer_records(p),
        }

    @staticmethod
    def _raise(exc):
        raise exc

    def health(self):
        if self.cfg.fault == "unhealthy":
            raise RpcError("lab fault: health reports an error")
        return {"status": "ok", "crash_recovery_complete": True,
                "uptime_seconds": int(time.monotonic() - self.started), "version": VERSION}

    def setup(self, p, ctx):
        if self.auth.is_setup():
            raise RpcError("the node is already set up")
        self.auth.set_password(param(p, "password", str))
        return {"setup": True}

    def login(self, p, ctx):
        (token, csrf), pending = self.auth.login(param(p, "password", str))
        ctx["cookies"] = {"session": token, "csrf_token": csrf, "remember": "1"}
        return {"requires_totp": True, "signer": False} if pending else {"ok": True}

    def login_totp(self, p, ctx):
        token, csrf = self.auth.login_totp(ctx["cookies_in"].get("session"), param(p, "code", str))
        ctx["cookies"] = {"session": token, "csrf_token": csrf, "remember": "1"}
        return {"ok": True}

    def logout(self, p, ctx):
        self.auth.logout(ctx["cookies_in"].get("session"))
        return {"ok": True}

    def nostr_sign(self, p, ctx):
        origin = ctx["headers"].get("Origin", "") + " " + ctx["headers"].get("Referer", "")
        if "/app/" in origin:
            raise RpcError("signing is refused from app origins")
        event = param(p, "event", dict)
        if p.get("id") is not None and not isinstance(p.get("id"), (str, int)):
            raise BadParams("parameter 'id' must be a string or integer")
        return self.node.nostr_sign(event)

    def restore(self, p, ctx):
        done = self.backups.restore(param(p, "id", str), param(p, "passphrase", str))
        self.node.load_identity()
        return dict(done, did=self.node.did, nostr_pubkey=self.node.nostr_info()["nostr_pubkey"])

    def _nostr_secret(self):
        secret = self.node.nostr_secret()
        if secret is None or self.node.nostr_info()["revoked"]:
            raise RpcError("the node's Nostr key is missing or revoked")
        return secret

    def nostr_discover(self, p, ctx):
        relays = param(p, "relays", list, False, self.cfg.nostr_relays)
        if not relays or not all(isinstance(u, str) and u.startswith(("ws://", "wss://")) for u in relays):
            raise RpcError("no Nostr relays to ask: give relays (ws:// URLs) or set ARCHIPELAGO_NOSTR_RELAYS",
                           code=-32602)
        return nostr.discover(relays, self.node.nostr_info()["nostr_pubkey"], param(p, "topic", str, False, "archipelago"))

    def dispatch(self, method, params, ctx):
        fn = self.methods.get(method)
        if fn is None:
            raise RpcError(f"unknown method: {str(method)[:64]}", code=-32601)
        if method not in self.UNAUTHENTICATED:
            self.auth.require(ctx["cookies_in"], ctx["headers"])
        limiter = self.limits.get(method)
        if limiter and not limiter.allow(ctx["client"] if method == "auth.login" else method):
            raise RateLimited(f"rate limit for {method} exceeded, retry later", code=429)
        return fn(params, ctx)


class Handler(BaseHTTPRequestHandler):
    server_version = "archipelago-lab"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, code, body, cookies=None):
        data = json.dumps(body).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (cookies or {}).items():
            flags = "; Path=/; SameSite=Strict" + ("" if name == "csrf_token" else "; HttpOnly")
            self.send_header("Set-Cookie", f"{name}={value}{flags}")
        self.end_headers()
        self.wfile.write(data)

    def error(self, status, message, code=-1):
        self.send_json(status, {"result": None, "error": {"code": code, "message": message, "data": None}})

    def do_GET(self):
        if self.path == "/health":
            try:
                return self.send_json(200, self.server.api.health())
            except RpcError as exc:
                return self.error(503, exc.message)
        self.error(404, "not found", -32601)

    def do_POST(self):
        if self.path != "/rpc/v1":
            return self.error(404, "not found", -32601)
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if length < 0 or length > MAX_BODY:
            self.close_connection = True
            return self.error(413, f"request body must be between 0 and {MAX_BODY} bytes", -32600)
        raw = self.rfile.read(length)
        try:
            req = json.loads(raw or b"null")
            if not isinstance(req, dict):
                raise ValueError
            method = req.get("method")
            params = req.get("params")
            params = {} if params is None else params
            if not isinstance(method, str) or not isinstance(params, dict):
                return self.error(200, "invalid request: 'method' must be a string and 'params' an object", -32600)
        except ValueError:
            return self.error(200, "invalid JSON-RPC request", -32700)
        cookies = http.cookies.SimpleCookie()
        try:
            cookies.load(self.headers.get("Cookie", ""))
        except http.cookies.CookieError:
            pass
        client = self.client_address[0]
        if client == "127.0.0.1" and self.headers.get("X-Real-IP"):
            client = self.headers["X-Real-IP"]
        ctx = {"cookies_in": {k: v.value for k, v in cookies.items()}, "headers": self.headers, "client": client}
        try:
            result = self.server.api.dispatch(method, params, ctx)
        except RpcError as exc:
            return self.error(exc.http_status, exc.message, exc.code)
        except Exception:  # a bug in the lab API: log it, never show a traceback to the client
            traceback.print_exc()
            return self.error(200, f"internal error in {method}")
        self.send_json(200, {"result": result, "error": None}, ctx.get("cookies"))


def serve(cfg):
    api = Api(cfg)
    if cfg.fault == "crash":
        sys.exit("lab fault: crashing at start")
    host, _, port = cfg.bind.rpartition(":")
    server = ThreadingHTTPServer((host, int(port)), Handler)
    server.daemon_threads = True
    server.api = api
    if cfg.fault != "hang":
        threading.Thread(target=watchdog_loop, daemon=True).start()
    if cfg.sync_interval > 0:
        threading.Thread(target=api.fed.sync_loop, args=(cfg.sync_interval,), daemon=True).start()
    sd_notify("READY=1")
    print(f"archipelago (lab) {VERSION} listening on {cfg.bind} as {api.node.did}", flush=True)
    server.serve_forever()


def main(argv=None):
    parser = argparse.ArgumentParser(prog="archipelago", description="Lab stand-in for the Archipelago backend")
    sub = parser.add_subparsers(dest="cmd")
    sub.add_parser("serve", help="run the API (default)")
    sub.add_parser("set-password", help="set the admin password from standard input")
    args = parser.parse_args(argv)
    cfg = Config()
    if args.cmd == "set-password":
        password = sys.stdin.readline().rstrip("\n")
        try:
            Auth(cfg.data_dir).set_password(password)
        except RpcError as exc:
            sys.exit(f"set-password: {exc.message}")
        return
    serve(cfg)


if __name__ == "__main__":
    main()
