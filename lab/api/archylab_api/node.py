"""The node's own state: identity keys, Nostr key, containers, system stats, Tor services."""
import hashlib
import json
import os
import shutil
import socket
import subprocess
import time

from . import crypto
from .errors import RpcError


class Node:
    def __init__(self, cfg):
        self.cfg = cfg
        self.identity_dir = os.path.join(cfg.data_dir, "identity")
        self.load_identity()
        self._cpu_prev = None

    def load_identity(self):
        """The node's Ed25519 identity from identity/ (made when missing); again after a restore."""
        os.makedirs(self.identity_dir, mode=0o700, exist_ok=True)
        self.ed_key = crypto.ed25519_load_or_create(os.path.join(self.identity_dir, "ed25519.pem"))
        self.pub = crypto.ed25519_public_bytes(self.ed_key)
        self.did = crypto.did_key_from_public(self.pub)

    # --- identity ---
    def sign(self, msg: bytes) -> bytes:
        return self.ed_key.sign(msg)

    def did_info(self):
        return {"did": self.did, "pubkey": self.pub.hex()}

    def _id_path(self, name):
        return os.path.join(self.identity_dir, name)

    def nostr_secret(self):
        try:
            with open(self._id_path("nostr_secret")) as fh:
                return bytes.fromhex(fh.read().strip())
        except (FileNotFoundError, ValueError):
            return None

    def nostr_info(self):
        """{nostr_pubkey, nostr_npub, revoked, revocation_marker}: the lab reports the marker as the
        seed left it (present/empty) so a client can tell a revoked key from a stray marker."""
        secret = self.nostr_secret()
        marker_path = self._id_path("nostr_revoked")
        marker = None
        if os.path.exists(marker_path):
            with open(marker_path) as fh:
                content = fh.read().strip()
            marker = {"present": True, "empty": content == "", "revoked_pubkey": content or None}
        if secret is None:
            return {"nostr_pubkey": None, "nostr_npub": None, "revoked": marker is not None,
                    "revocation_marker": marker}
        pub = crypto.schnorr_pubkey(secret).hex()
        revoked = marker is not None and (marker["empty"] or marker["revoked_pubkey"] == pub)
        return {"nostr_pubkey": pub, "nostr_npub": crypto.npub(pub), "revoked": revoked,
                "revocation_marker": marker}

    def create_nostr_key(self):
        secret = os.urandom(32)
        while not 1 <= int.from_bytes(secret, "big") < crypto.N:
            secret = os.urandom(32)
        pub = crypto.schnorr_pubkey(secret).hex()
        crypto.write_secret(self._id_path("nostr_secret"), secret.hex().encode())
        crypto.write_secret(self._id_path("nostr_pub"), pub.encode())
        try:
            os.unlink(self._id_path("nostr_revoked"))
        except FileNotFoundError:
            pass
        return {"nostr_pubkey": pub, "nostr_npub": crypto.npub(pub), "revoked": False, "revocation_marker": None}

    def clear_revocation_marker(self):
        """Remove an empty revocation marker (a stray one); a marker naming a key stays."""
        info = self.nostr_info()
        marker = info["revocation_marker"]
        if marker is None:
            return {"removed": False, **info}
        if not marker["empty"] or info["nostr_pubkey"] is None:
            raise RpcError("the revocation marker names a revoked key or no key exists: create a new key instead")
        os.unlink(self._id_path("nostr_revoked"))
        return {"removed": True, **self.nostr_info()}

    def nostr_sign(self, event):
        info = self.nostr_info()
        secret = self.nostr_secret()
        if secret is None or info["revoked"]:
            raise RpcError("the node's Nostr key is missing or revoked")
        pub = info["nostr_pubkey"]
        created_at = event.get("created_at", int(time.time()))
        kind, content, tags = event.get("kind"), event.get("content", ""), event.get("tags", [])
        if not isinstance(kind, int) or isinstance(kind, bool) or not isinstance(content, str) \
                or not isinstance(tags, list) or not isinstance(created_at, int):
            raise RpcError("event needs an integer kind and created_at, string content and list tags", code=-32602)
        if event.get("pubkey") not in (None, pub):
            raise RpcError("event pubkey is not the node's Nostr key", code=-32602)
        ser = json.dumps([0, pub, created_at, kind, tags, content], separators=(",", ":"), ensure_ascii=False)
        event_id = hashlib.sha256(ser.encode()).hexdigest()
        sig = crypto.schnorr_sign(bytes.fromhex(event_id), secret).hex()
        return {"id": event_id, "pubkey": pub, "created_at": created_at, "kind": kind,
                "tags": tags, "content": content, "sig": sig}

    # --- containers (root or rootless Podman, as the node's setting says) ---
    def podman(self, *args):
        cmd = ["podman", *args]
        if self.cfg.podman_mode == "rootless" and os.geteuid() == 0:
            cmd = ["runuser", "-u", self.cfg.rootless_user, "--", *cmd]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=30, stdin=subprocess.DEVNULL)
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise RpcError(f"podman is not available: {exc}")
        return res

    def containers(self):
        res = self.podman("ps", "-a", "--format", "json")
        if res.returncode != 0:
            return []
        out = []
        for c in json.loads(res.stdout or "[]"):
            out.append({"name": c["Names"][0], "image": c.get("Image"), "state": c.get("State"),
                        "status": c.get("Status"), "networks": c.get("Networks") or [],
                        "exit_code": c.get("ExitCode"), "started_at": c.get("StartedAt")})
        return out

    # --- system ---
    def _cpu_percent(self):
        with open("/proc/stat") as fh:
            vals = [int(v) for v in fh.readline().split()[1:]]
        idle, total = vals[3] + vals[4], sum(vals)
        prev, self._cpu_prev = self._cpu_prev, (idle, total)
        if prev is None or total == prev[1]:
            with open("/proc/loadavg") as fh:
                load = float(fh.read().split()[0])
            return round(min(100.0, 100.0 * load / (os.cpu_count() or 1)), 1)
        return round(100.0 * (1 - (idle - prev[0]) / (total - prev[1])), 1)

    def stats(self):
        mem = {}
        with open("/proc/meminfo") as fh:
            for line in fh:
                key, val = line.split(":")
                mem[key] = int(val.split()[0]) * 1024
        with open("/proc/loadavg") as fh:
            load = [float(x) for x in fh.read().split()[:3]]
        with open("/proc/uptime") as fh:
            uptime = int(float(fh.read().split()[0]))
        disk = shutil.disk_usage(self.cfg.data_dir)
        return {"cpu_usage_percent": self._cpu_percent(), "load_avg": load, "cpu_count": os.cpu_count(),
                "mem_total_bytes": mem["MemTotal"], "mem_available_bytes": mem["MemAvailable"],
                "mem_used_bytes": mem["MemTotal"] - mem["MemAvailable"],
                "swap_total_bytes": mem.get("SwapTotal", 0), "swap_used_bytes": mem.get("SwapTotal", 0) - mem.get("SwapFree", 0),
                "disk_total_bytes": disk.total, "disk_used_bytes": disk.used, "uptime_secs": uptime}

    # --- Tor ---
    def tor_services(self):
        out = []
        base = self.cfg.tor_dir
        if os.path.isdir(base):
            for name in sorted(os.listdir(base)):
                host_file = os.path.join(base, name, "hostname")
                if name.startswith("hidden_service_") and os.path.isfile(host_file):
                    with open(host_file) as fh:
                        out.append({"name": name[len("hidden_service_"):], "onion": fh.read().strip(),
                                    "dir": os.path.join(base, name)})
        return out

    def onion(self):
        for svc in self.tor_services():
            if svc["name"] == "archipelago":
                return svc["onion"]
        return None

    def tor_active(self):
        try:
            with socket.create_connection(("127.0.0.1", 9050), timeout=1):
                return True
        except OSError:
            return False

    def snapshot(self, peers):
        stats = self.stats()
        apps = [{"id": c["name"], "state": c["state"], "image": c["image"]} for c in self.containers()]
        return {"timestamp": int(time.time()), "node_name": self.cfg.node_name, "did": self.did, "apps": apps,
                "cpu_usage_percent": stats["cpu_usage_percent"], "mem_used_bytes": stats["mem_used_bytes"],
                "mem_total_bytes": stats["mem_total_bytes"], "disk_used_bytes": stats["disk_used_bytes"],
                "disk_total_bytes": stats["disk_total_bytes"], "uptime_secs": stats["uptime_secs"],
                "tor_active": self.tor_active(), "federated_peers": peers}
