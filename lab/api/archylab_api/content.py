"""File sharing as far as the lab needs it (US-07): the node shares files with an access mode,
free (anyone), peers_only (trusted federated peers, by a signed request) or paid (listed with its
price; this stand-in takes no payment, so it is never handed out); other nodes browse and
download them through federation's transport (over Tor by the node's onion address).

Files live in data_dir/content/<id>, the index in data_dir/content/index.json (0600)."""
import base64
import binascii
import hashlib
import json
import os
import re
import secrets
import threading
import time

from . import crypto
from .errors import BadParams, RpcError

ACCESS = ("free", "peers_only", "paid")
MAX_FILE = 1 << 20
ID_RE = re.compile(r"^c-[0-9a-f]{16}$")
NAME_RE = re.compile(r"^[A-Za-z0-9._ -]{1,128}$")


class Content:
    def __init__(self, cfg, node, fed):
        self.dir = os.path.join(cfg.data_dir, "content")
        self.node, self.fed = node, fed
        self.lock = threading.Lock()

    def _index(self):
        return crypto.read_json(os.path.join(self.dir, "index.json"), [])

    def _save(self, items):
        os.makedirs(self.dir, mode=0o700, exist_ok=True)
        crypto.write_secret(os.path.join(self.dir, "index.json"), json.dumps(items, indent=2).encode())

    # --- the node's own files ---
    def add(self, name, data_b64, access, price_sats):
        if not isinstance(name, str) or not NAME_RE.match(name):
            raise BadParams("name must be 1 to 128 letters, digits, spaces, '.', '_' or '-'")
        if access not in ACCESS:
            raise BadParams("access must be one of: " + ", ".join(ACCESS))
        if access == "paid" and (not isinstance(price_sats, int) or isinstance(price_sats, bool) or price_sats < 1):
            raise BadParams("a paid file needs price_sats, a whole number of satoshis above 0")
        try:
            data = base64.b64decode(data_b64, validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise BadParams("data must be base64")
        if len(data) > MAX_FILE:
            raise BadParams("a shared file is at most %d bytes here" % MAX_FILE)
        item = {"id": "c-" + secrets.token_hex(8), "name": name, "size": len(data),
                "sha256": hashlib.sha256(data).hexdigest(), "access": access,
                "price_sats": price_sats if access == "paid" else None, "added_at": int(time.time())}
        with self.lock:
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            crypto.write_secret(os.path.join(self.dir, item["id"]), data)
            self._save(self._index() + [item])
        return item

    def list(self):
        return self._index()

    def remove(self, item_id):
        with self.lock:
            items = self._index()
            if not any(i["id"] == item_id for i in items):
                raise RpcError(f"no shared file {str(item_id)[:40]}")
            self._save([i for i in items if i["id"] != item_id])
            os.unlink(os.path.join(self.dir, item_id))
        return {"id": item_id, "removed": True}

    # --- what a requester may see (peer side) ---
    def _requester(self, params, item_id=None):
        """The trusted peer's DID when the request carries a fresh, valid signature; None for an
        anonymous request or a stranger's; a stale or wrong signature of a peer is refused."""
        return self.fed.requesting_peer(params, "content", item_id or "", anonymous_ok=True)

    def peer_list(self, params):
        peer = self._requester(params)
        items = [i for i in self._index() if i["access"] != "peers_only" or peer]
        return {"node": self.node.did, "as_peer": peer is not None, "items": items}

    def peer_get(self, params):
        item_id = params.get("id")
        if not isinstance(item_id, str) or not ID_RE.match(item_id):
            raise BadParams("parameter 'id' must be a shared file's id")
        item = next((i for i in self._index() if i["id"] == item_id), None)
        peer = self._requester(params, item_id)
        if item is None or (item["access"] == "peers_only" and not peer):
            raise RpcError("no such file for this requester (peers_only files go to trusted peers only)", code=403)
        if item["access"] == "paid":
            raise RpcError(f"payment required: {item['price_sats']} sats", code=402)
        with open(os.path.join(self.dir, item_id), "rb") as fh:
            data = fh.read()
        return dict(item, data=base64.b64encode(data).decode())

    # --- this node asking another ---
    def _signed(self, item_id=None):
        return self.fed.signed_request("content", item_id or "")

    def _peer_address(self, onion, did):
        if onion:
            if not isinstance(onion, str) or not onion.endswith(".onion"):
                raise BadParams("onion must be an onion address")
            return "http://" + onion
        peer = next((n for n in self.fed.nodes() if n["did"] == did), None)
        if peer is None:
            raise RpcError(f"{str(did)[:80]} is not a peer of this node")
        return self.fed.peer_url(peer)

    def browse_peer(self, onion, did, anonymous):
        address = self._peer_address(onion, did)
        return self.fed.call_peer(address, "content.peer-list", {} if anonymous else self._signed(), timeout=60)

    def download_peer(self, onion, did, item_id, anonymous):
        address = self._peer_address(onion, did)
        params = {"id": item_id} if anonymous else dict(self._signed(item_id), id=item_id)
        got = self.fed.call_peer(address, "content.peer-get", params, timeout=60)
        try:
            data = base64.b64decode(got.get("data", ""), validate=True)
        except (binascii.Error, TypeError, ValueError):
            raise RpcError("the peer's file is not base64")
        digest = hashlib.sha256(data).hexdigest()
        if digest != got.get("sha256"):
            raise RpcError("the peer's file does not match its checksum")
        return {"id": item_id, "name": got.get("name"), "size": len(data), "sha256": digest, "access": got.get("access")}
