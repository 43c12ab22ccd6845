"""Federation: signed single-use invites, the two-step join with Ed25519 challenges, peers and sync.

Invite code (lab's format): "archy1." + b64url(payload JSON) + "." + b64url(Ed25519 signature of
the payload bytes by the inviter's identity key). The payload carries the inviter's DID, its
address (http://host[:port], the node's nginx or the API directly), the invite id, a one-time
secret and the expiry. The inviter stores only sha256(secret).

Join (joiner B, inviter A):
  1. B verifies the code's signature against the DID inside it and its expiry.
  2. B -> A  federation.peer-join    {invite_id, secret, joiner:{did,address,onion,name}, challenge_b}
     A checks the invite (exists, unused, unexpired, secret), answers
     {inviter:{did,...}, challenge_a, signature = Ed25519_A("archy-join-a|invite_id|challenge_b|did_B")}
  3. B verifies that signature against the DID from the code, then
     B -> A  federation.peer-confirm {invite_id, joiner_did, signature = Ed25519_B("archy-join-b|invite_id|challenge_a|did_A")}
     A verifies it against B's DID, marks the invite used and stores B; B then stores A.
Nothing is stored on either side when any check fails.
"""
import base64
import hashlib
import hmac
import json
import os
import secrets
import threading
import time
import urllib.error
import urllib.parse
import urllib.request

from . import crypto, torsocks
from .errors import RpcError

TRUST_LEVELS = ("trusted", "observer", "untrusted")


class RateLimitedByPeer(Exception):
    """The peer's nginx answered 429."""


def b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def unb64u(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def signature_bytes(text) -> bytes:
    """A base64url signature from a peer; empty (never verifies) when it is not decodable."""
    try:
        return unb64u(text or "")
    except (ValueError, TypeError):
        return b""


def encode_invite(payload: dict, sign) -> str:
    raw = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    return "archy1." + b64u(raw) + "." + b64u(sign(raw))


def decode_invite(code) -> dict:
    """The verified payload of an invite code; RpcError on anything malformed, forged or expired."""
    if not isinstance(code, str) or code.count(".") != 2 or not code.startswith("archy1."):
        raise RpcError("malformed invite code (expected archy1.<payload>.<signature>)", code=-32602)
    _, body, sig = code.split(".")
    try:
        raw, sig = unb64u(body), unb64u(sig)
        payload = json.loads(raw)
        pub = crypto.public_from_did_key(payload["did"])
        for key in ("address", "invite_id", "secret", "expires_at"):
            payload[key]  # noqa: B018 - presence check
    except (ValueError, KeyError, TypeError):
        raise RpcError("malformed invite code", code=-32602)
    if not crypto.ed25519_verify(pub, sig, raw):
        raise RpcError("invite signature does not match the inviter's DID (forged or tampered code)")
    if payload["expires_at"] < time.time():
        raise RpcError("invite has expired (ask the inviter for a new code)")
    return payload


class Federation:
    def __init__(self, cfg, node):
        self.cfg, self.node = cfg, node
        self.dir = os.path.join(cfg.data_dir, "federation")
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        self.lock = threading.RLock()
        self.pending = {}   # invite_id -> {"challenge_a", "joiner"} between peer-join and peer-confirm

    # --- storage ---
    def _read(self, name, default):
        try:
            with open(os.path.join(self.dir, name)) as fh:
                return json.load(fh)
        except FileNotFoundError:
            return default

    def _write(self, name, data):
        crypto.write_secret(os.path.join(self.dir, name), json.dumps(data, indent=2).encode())

    def nodes(self):
        return self._read("nodes.json", [])

    def me(self):
        return {"did": self.node.did, "pubkey": self.node.pub.hex(), "address": self.cfg.address,
                "onion": self.node.onion(), "name": self.cfg.node_name}

    def _store_peer(self, peer, trust_level):
        with self.lock:
            nodes = [n for n in self.nodes() if n["did"] != peer["did"]]
            now = int(time.time())
            nodes.append({"did": peer["did"], "pubkey": crypto.public_from_did_key(peer["did"]).hex(),
                          "onion": peer.get("onion"), "address": peer.get("address"), "name": peer.get("name"),
                          "trust_level": trust_level, "added_at": now, "last_seen": now, "last_state": None})
            self._write("nodes.json", nodes)

    # --- inviter side ---
    def invite(self, ttl, trust_level):
        if trust_level not in TRUST_LEVELS:
            raise RpcError(f"trust_level must be one of {', '.join(TRUST_LEVELS)}", code=-32602)
        if not 1 <= ttl <= 7 * 86400:
            raise RpcError("expires_in must be between 1 and 604800 seconds", code=-32602)
        invite_id, secret = secrets.token_hex(8), secrets.token_urlsafe(24)
        expires = int(time.time()) + ttl
        with self.lock:
            invites = self._read("invites.json", [])
            invites = [i for i in invites if i["expires_at"] > time.time() and not i["used"]]
            invites.append({"invite_id": invite_id, "secret_sha256": hashlib.sha256(secret.encode()).hexdigest(),
                            "expires_at": expires, "trust_level": trust_level, "used": False})
            self._write("invites.json", invites)
        code = encode_invite({"v": 1, "did": self.node.did, "address": self.cfg.address, "onion": self.node.onion(),
                              "invite_id": invite_id, "secret": secret, "expires_at": expires}, self.node.sign)
        return {"code": code, "invite_id": invite_id, "expires_at": expires}

    def _find_invite(self, invite_id, secret=None):
        for inv in self._read("invites.json", []):
            if inv["invite_id"] == invite_id:
                if inv["used"]:
                    raise RpcError("invite already used (ask the inviter for a new code)")
                if inv["expires_at"] < time.time():
                    raise RpcError("invite has expired (ask the inviter for a new code)")
                if secret is not None and not hmac.compare_digest(
                        hashlib.sha256(str(secret).encode()).hexdigest(), inv["secret_sha256"]):
                    raise RpcError("invite secret does not match")
                return inv
        raise RpcError("unknown invite")

    def peer_join(self, params):
        joiner = params.get("joiner") or {}
        try:
            crypto.public_from_did_key(joiner.get("did"))
        except ValueError as exc:
            raise RpcError(f"joiner DID: {exc}", code=-32602)
        challenge_b = params.get("challenge_b")
        if not isinstance(challenge_b, str) or len(challenge_b) < 16:
            raise RpcError("challenge_b missing", code=-32602)
        with self.lock:
            self._find_invite(params.get("invite_id"), params.get("secret"))
            challenge_a = secrets.token_hex(16)
            self.pending[params["invite_id"]] = {"challenge_a": challenge_a, "joiner": joiner, "at": time.time()}
        msg = f"archy-join-a|{params['invite_id']}|{challenge_b}|{joiner['did']}".encode()
        return {"inviter": self.me(), "challenge_a": challenge_a, "signature": b64u(self.node.sign(msg))}

    def peer_confirm(self, params):
        invite_id = params.get("invite_id")
        with self.lock:
            pend = self.pending.get(invite_id)
            if not pend or time.time() - pend["at"] > 120:
                raise RpcError("no join in progress for this invite")
            inv = self._find_invite(invite_id)
            joiner = pend["joiner"]
            msg = f"archy-join-b|{invite_id}|{pend['challenge_a']}|{self.node.did}".encode()
            sig = signature_bytes(params.get("signature"))
            if params.get("joiner_did") != joiner["did"] or not crypto.ed25519_verify(
                    crypto.public_from_did_key(joiner["did"]), sig, msg):
                self.pending.pop(invite_id, None)
                raise RpcError("joiner's challenge signature does not verify")
            invites = self._read("invites.json", [])
            for i in invites:
                if i["invite_id"] == invite_id:
                    i["used"] = True
            self._write("invites.json", invites)
            self.pending.pop(invite_id, None)
            self._store_peer(joiner, inv["trust_level"])
        return {"stored": True, "trust_level": inv["trust_level"]}

    # --- joiner side ---
    def join(self, code):
        payload = decode_invite(code)
        if payload["did"] == self.node.did:
            raise RpcError("this invite was created by this node")
        challenge_b = secrets.token_hex(16)
        target = self.peer_url(payload)
        answer = self.call_peer(target, "federation.peer-join", {
            "invite_id": payload["invite_id"], "secret": payload["secret"], "joiner": self.me(),
            "challenge_b": challenge_b})
        inviter = answer.get("inviter") or {}
        msg = f"archy-join-a|{payload['invite_id']}|{challenge_b}|{self.node.did}".encode()
        sig = signature_bytes(answer.get("signature"))
        if inviter.get("did") != payload["did"] or not crypto.ed25519_verify(
                crypto.public_from_did_key(payload["did"]), sig, msg):
            raise RpcError("the inviter's challenge signature does not verify against the invite's DID")
        confirm_msg = f"archy-join-b|{payload['invite_id']}|{answer['challenge_a']}|{payload['did']}".encode()
        result = self.call_peer(target, "federation.peer-confirm", {
            "invite_id": payload["invite_id"], "joiner_did": self.node.did,
            "signature": b64u(self.node.sign(confirm_msg))})
        inviter.setdefault("address", payload["address"])
        self._store_peer(inviter, "trusted")
        return {"joined": True, "peer": {"did": inviter["did"], "name": inviter.get("name"),
                                          "address": inviter.get("address")},
                "trust_level": "trusted", "inviter_trust_level": result.get("trust_level")}

    # --- peer transport ---
    def peer_url(self, peer):
        """Where a peer is reached: its address, or over Tor its onion address."""
        if self.cfg.federate_via == "tor":
            if not peer.get("onion"):
                raise RpcError(f"peer {peer.get('name') or peer.get('did')} has no onion address; cannot federate over Tor")
            return "http://" + peer["onion"]
        return peer.get("address")

    def call_peer(self, address, method, params, timeout=10):
        """One request to a peer's /rpc/v1. A 429 from the peer's nginx (its limit for requests
        without a session; every peer reaching it over Tor arrives from the same address) is
        retried after 3, 6 and 12 s."""
        for delay in (3, 6, 12, None):
            try:
                return self._call_peer_once(address, method, params, timeout)
            except RateLimitedByPeer:
                if delay is None:
                    raise RpcError(f"peer {address} kept answering HTTP 429 to {method} (its request limit)")
                time.sleep(delay)

    def _call_peer_once(self, address, method, params, timeout):
        if not isinstance(address, str) or not address.startswith(("http://", "https://")):
            raise RpcError(f"peer address {address!r} is not an http(s) URL")
        body = json.dumps({"method": method, "params": params}).encode()
        url = address.rstrip("/") + "/rpc/v1"
        headers = {"Content-Type": "application/json"}
        try:
            if urllib.parse.urlsplit(url).hostname.endswith(".onion"):
                print(f"federation: {method} -> {address} through Tor (SOCKS {self.cfg.tor_socks})", flush=True)
                status, raw = torsocks.post(self.cfg.tor_socks, url, body, headers, max(timeout, 60))
                if status == 429:
                    raise RateLimitedByPeer()
                if status != 200:
                    raise RpcError(f"peer {address} answered HTTP {status} to {method}")
                reply = json.loads(raw)
            else:
                req = urllib.request.Request(url, data=body, headers=headers)
                opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
                with opener.open(req, timeout=timeout) as resp:
                    reply = json.loads(resp.read())
        except urllib.error.HTTPError as exc:
            if exc.code == 429:
                raise RateLimitedByPeer()
            raise RpcError(f"peer {address} answered HTTP {exc.code} to {method}")
        except (OSError, ValueError) as exc:
            raise RpcError(f"peer {address} unreachable for {method}: {exc}")
        if reply.get("error"):
            raise RpcError(f"peer refused {method}: {reply['error'].get('message')}")
        return reply.get("result") or {}

    # --- requests between trusted peers (state, content, DWN) ---
    def signed_request(self, purpose, subject=""):
        """This node's fresh request to a peer: {from_did, ts, signature} over
        "archy-<purpose>|ts|did|subject"."""
        ts = int(time.time())
        text = f"archy-{purpose}|{ts}|{self.node.did}|{subject}"
        return {"from_did": self.node.did, "ts": ts, "signature": b64u(self.node.sign(text.encode()))}

    def requesting_peer(self, params, purpose, subject="", anonymous_ok=False):
        """The trusted peer that signed params for purpose (fresh, valid signature). Without
        from_did and signature: None when anonymous_ok, else refused; a stranger: None when
        anonymous_ok, else refused; a stale or wrong signature: always refused."""
        did, ts = params.get("from_did"), params.get("ts")
        peer = next((n for n in self.nodes() if n["did"] == did and n["trust_level"] == "trusted"), None)
        if peer is None:
            if anonymous_ok:
                return None
            raise RpcError("not a trusted peer of this node")
        if not isinstance(ts, int) or abs(time.time() - ts) > 300:
            raise RpcError(f"stale {purpose} request")
        text = f"archy-{purpose}|{ts}|{did}|{subject}"
        if not crypto.ed25519_verify(bytes.fromhex(peer["pubkey"]), signature_bytes(params.get("signature")),
                                     text.encode()):
            raise RpcError(f"{purpose} request signature does not verify")
        return did

    # --- state sync ---
    def peer_state(self, params):
        """A peer asks for this node's state: only a trusted peer, with a fresh signature."""
        self._touch(self.requesting_peer(params, "state"), None)
        return self.get_state()

    def _touch(self, did, state):
        with self.lock:
            nodes = self.nodes()
            for n in nodes:
                if n["did"] == did:
                    n["last_seen"] = int(time.time())
                    if state is not None:
                        n["last_state"] = state
            self._write("nodes.json", nodes)

    def get_state(self):
        return self.node.snapshot(len(self.nodes()))

    def sync(self, only_did=None):
        synced, failed = [], []
        for peer in self.nodes():
            if peer["trust_level"] != "trusted" or (only_did and peer["did"] != only_did):
                continue
            try:
                state = self.call_peer(self.peer_url(peer), "federation.peer-state", self.signed_request("state"))
                self._touch(peer["did"], state)
                synced.append({"did": peer["did"], "name": peer.get("name"), "apps": len(state.get("apps", [])),
                               "state": state})
            except RpcError as exc:
                failed.append({"did": peer["did"], "name": peer.get("name"), "error": exc.message})
        if only_did and not synced and not failed:
            raise RpcError("no trusted peer with that DID")
        return {"synced": synced, "failed": failed}

    def sync_loop(self, interval):
        while True:
            time.sleep(interval)
            try:
                self.sync()
            except Exception as exc:  # keep the loop alive; the next round retries
                print(f"periodic sync failed: {exc}", flush=True)
