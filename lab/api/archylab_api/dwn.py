"""The node's DWN as far as the lab needs it: protocol configurations (dwn.register-protocol,
dwn.list-protocols) and the status counts (dwn.status). Messages are not kept here."""
import json
import os
import threading
import time

from .crypto import write_secret
from .errors import BadParams

MAX_DEFINITION = 64 * 1024


class Dwn:
    def __init__(self, cfg):
        self.dir = os.path.join(cfg.data_dir, "dwn")
        self.lock = threading.Lock()

    def _protocols(self):
        try:
            with open(os.path.join(self.dir, "protocols.json")) as fh:
                return json.load(fh)
        except FileNotFoundError:
            return []

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
        return {"protocols": len(self._protocols()), "messages": 0}
