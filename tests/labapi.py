"""Run the lab node API for real on loopback, each instance with its own data (fixture: spawn_api)."""
import http.cookiejar
import json
import os
import socket
import subprocess
import sys
import urllib.error
import urllib.request


from labhosts import ROOT, free_port, wait_until

from labhosts import LAB_API as API  # noqa: E402
PASSWORD = "lab-password-1"



class Client:
    """A minimal HTTP client of the contract: cookies, CSRF header, the envelope."""

    def __init__(self, url, client_ip="10.0.0.1"):
        self.url, self.client_ip = url, client_ip
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar),
                                                  urllib.request.ProxyHandler({}))

    def csrf(self):
        return next((c.value for c in self.jar if c.name == "csrf_token"), None)

    def raw(self, body: bytes, csrf=True, headers=None):
        hdrs = {"Content-Type": "application/json", "X-Real-IP": self.client_ip, **(headers or {})}
        if csrf and self.csrf():
            hdrs["X-CSRF-Token"] = self.csrf()
        req = urllib.request.Request(self.url + "/rpc/v1", data=body, headers=hdrs)
        try:
            with self.opener.open(req, timeout=30) as resp:
                return resp.status, resp.read().decode()
        except urllib.error.HTTPError as exc:
            return exc.code, exc.read().decode()

    def call(self, method, params=None, **kw):
        status, text = self.raw(json.dumps({"method": method, "params": params or {}}).encode(), **kw)
        return status, json.loads(text)

    def ok(self, method, params=None):
        status, body = self.call(method, params)
        assert status == 200 and body["error"] is None, (method, status, body)
        return body["result"]

    def login(self, password=PASSWORD):
        return self.ok("auth.login", {"password": password})


class Instance:
    def __init__(self, tmp_path, name, env=None):
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.data = tmp_path / name
        self.data.mkdir()
        self.env = {**os.environ, "ARCHIPELAGO_BIND": f"127.0.0.1:{self.port}", "ARCHIPELAGO_DATA": str(self.data),
                    "ARCHIPELAGO_CONFIG_DIR": str(self.data / "etc"), "ARCHIPELAGO_NODE_NAME": name,
                    "ARCHIPELAGO_ADDRESS": self.url, "ARCHIPELAGO_SYNC_INTERVAL": "0",
                    "ARCHIPELAGO_TOR_DIR": str(self.data / "tor"), "ARCHYLAB_API_PATH": str(ROOT / "lab" / "api"),
                    **(env or {})}
        subprocess.run([sys.executable, str(API), "set-password"], input=PASSWORD + "\n", text=True,
                       env=self.env, check=True)
        self.log = open(self.data / "api.log", "w")
        self.proc = subprocess.Popen([sys.executable, str(API)], env=self.env, stdout=self.log, stderr=subprocess.STDOUT)
        wait_until(self.listening, 20, f"the lab API on port {self.port}")

    def listening(self):
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                return True
        except OSError:
            return False

    def client(self, login=True, ip="10.0.0.1"):
        c = Client(self.url, ip)
        if login:
            c.login()
        return c

    def nodes_file(self):
        p = self.data / "federation" / "nodes.json"
        return json.loads(p.read_text()) if p.exists() else []

    def stop(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()
