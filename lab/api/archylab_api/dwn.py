"""The node's DWN as far as the lab needs it: protocol configurations (dwn.register-protocol,
dwn.list-protocols), records written under a registered protocol (dwn.write-record,
dwn.query-records), their replication between trusted federated peers (dwn.sync: this node
pulls every peer's records of the protocols it has registered; dwn.peer-records answers a
peer's signed request) and the status counts (dwn.status).

A record is {record_id, protocol, author (did:key), data (an object), date_created, signature}:
the author's Ed25519 signature over the canonical JSON of the other fields, record_id the
sha256 of that JSON. A pulled record is kept only when its id and signature verify."""
import hashlib
import json
import os
import threading
import time

from . import crypto
from .crypto import write_secret
from .errors import BadParams, RpcError
from .federation import b64u, signature_bytes

MAX_RECORD = 16 * 1024
MAX_RECORDS = 10000

MAX_DEFINITION = 64 * 1024


def record_body(rec):
    return json.dumps({k: rec[k] for k in ("protocol", "author", "data", "date_created")},
                      sort_keys=True, separators=(",", ":")).encode()


def record_ok(rec):
    """Is rec a record whose id and author's signature verify?"""
    try:
        body = record_body(rec)
        return (len(body) <= MAX_RECORD and hashlib.sha256(body).hexdigest() == rec["record_id"]
                and crypto.ed25519_verify(crypto.public_from_did_key(rec["author"]), signature_bytes(rec["signature"]),
                                          body))
    except (KeyError, TypeError, ValueError, AttributeError):
        return False


class Dwn:
    def __init__(self, cfg, node=None, fed=None):
        self.dir = os.path.join(cfg.data_dir, "dwn")
        self.lock = threading.Lock()
        self.node, self.fed = node, fed

    def _records(self):
        return crypto.read_json(os.path.join(self.dir, "records.json"), [])

    def _keep(self, new):
        """Add the records not kept yet; how many were new."""
        with self.lock:
            records = self._records()
            have = {r["record_id"] for r in records}
            added = [r for r in new if r["record_id"] not in have]
            if added:
                if len(records) + len(added) > MAX_RECORDS:
                    raise RpcError("this node keeps at most %d DWN records" % MAX_RECORDS)
                os.makedirs(self.dir, mode=0o700, exist_ok=True)
                write_secret(os.path.join(self.dir, "records.json"), json.dumps(records + added).encode())
        return len(added)

    def _registered(self, protocol):
        return any(e["protocol"] == protocol for e in self._protocols())

    def write_record(self, protocol, data):
        if not isinstance(protocol, str) or not self._registered(protocol):
            raise BadParams("protocol %r is not registered on this node (dwn.register-protocol)" % (protocol,))
        if not isinstance(data, dict):
            raise BadParams("data must be an object")
        rec = {"protocol": protocol, "author": self.node.did, "data": data,
               "date_created": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime()) + ".%06dZ" % (time.time() % 1 * 1e6)}
        body = record_body(rec)
        if len(body) > MAX_RECORD:
            raise BadParams("a record is at most %d bytes" % MAX_RECORD)
        rec.update(record_id=hashlib.sha256(body).hexdigest(), signature=b64u(self.node.sign(body)))
        self._keep([rec])
        return rec

    def query_records(self, protocol=None, author=None):
        return [r for r in self._records() if (protocol is None or r["protocol"] == protocol)
                and (author is None or r["author"] == author)]

    def peer_records(self, params):
        """A trusted peer's signed request: the records of the protocols it names."""
        self.fed.requesting_peer(params, "dwn")
        protocols = params.get("protocols")
        if not isinstance(protocols, list):
            raise BadParams("protocols must be a list")
        return {"records": [r for r in self._records() if r["protocol"] in protocols]}

    def sync(self, only_did=None):
        """Pull each trusted peer's records of this node's protocols; keep those that verify."""
        protocols = [e["protocol"] for e in self._protocols()]
        synced, failed = [], []
        for peer in self.fed.nodes():
            if peer["trust_level"] != "trusted" or (only_did and peer["did"] != only_did):
                continue
            request = dict(self.fed.signed_request("dwn"), protocols=protocols)
            try:
                got = self.fed.call_peer(self.fed.peer_url(peer), "dwn.peer-records", request, timeout=60)
            except RpcError as exc:
                failed.append({"did": peer["did"], "name": peer.get("name"), "error": exc.message})
                continue
            records = got.get("records") if isinstance(got.get("records"), list) else []
            good = [r for r in records if isinstance(r, dict) and r.get("protocol") in protocols and record_ok(r)]
            synced.append({"did": peer["did"], "name": peer.get("name"), "received": len(records),
                           "kept": self._keep(good), "refused": len(records) - len(good)})
        return {"synced": synced, "failed": failed}

    def _protocols(self):
        return crypto.read_json(os.path.join(self.dir, "protocols.json"), [])

    def list_protocols(self):
        return self._protocols()

    def register(self, definition):
        """Configure a protocol; the same definition again changes nothing."""
        if not isinstance(definition, dict):
            raise BadParams("definition must be an object")
        protocol = definition.get("protocol")
        if not isinstance(protocol, str) or not protocol.startswith(("http://", "https://")):
            raise BadParams("definition.protocol must be an http(s) URI")
        if not isinstance(definition.get("published"), bool) or not isinstance(definition.get("types"), dict) \
                or not isinstance(definition.get("structure"), dict):
            raise BadParams("definition needs published (bool), types and structure (objects)")
        if len(json.dumps(definition)) > MAX_DEFINITION:
            raise BadParams("definition is larger than %d bytes" % MAX_DEFINITION)
        with self.lock:
            entries = self._protocols()
            old = next((e for e in entries if e["protocol"] == protocol), None)
            if old and old["definition"] == definition:
                return {"protocol": protocol, "registered": True, "updated": False}
            entries = [e for e in entries if e["protocol"] != protocol]
            entries.append({"protocol": protocol, "published": definition["published"], "definition": definition,
                            "registered_at": int(time.time())})
            os.makedirs(self.dir, mode=0o700, exist_ok=True)
            write_secret(os.path.join(self.dir, "protocols.json"), json.dumps(entries, indent=2).encode())
        return {"protocol": protocol, "registered": True, "updated": old is not None}

    def status(self):
        return {"protocols": len(self._protocols()), "messages": len(self._records())}
