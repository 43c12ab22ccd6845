"""The stand-in's Nostr: node.nostr-discover (find other Archipelago nodes by their presence
records on the node's relays) and NIP-04 (identity.nostr-encrypt / identity.nostr-decrypt with
the node's key). Relays are spoken to with Debian's python3-websockets."""
import asyncio
import base64
import hashlib
import json
import os
import re

from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from . import crypto
from .errors import BadParams, RpcError

PRESENCE_KIND = 30078
HEX64 = re.compile(r"^[0-9a-f]{64}$")
NIP04 = re.compile(r"^([A-Za-z0-9+/=]{1,87384})\?iv=([A-Za-z0-9+/=]{24})$")


def verified(ev):
    """Is ev a well-formed event whose id and signature verify?"""
    try:
        ser = json.dumps([0, ev["pubkey"], ev["created_at"], ev["kind"], ev["tags"], ev["content"]],
                         separators=(",", ":"), ensure_ascii=False)
        return (HEX64.match(ev["pubkey"]) and hashlib.sha256(ser.encode()).hexdigest() == ev["id"]
                and crypto.schnorr_verify(bytes.fromhex(ev["id"]), bytes.fromhex(ev["pubkey"]), bytes.fromhex(ev["sig"])))
    except (KeyError, TypeError, ValueError):
        return False


async def _query(url, filt, timeout):
    import websockets   # python3-websockets (Debian)
    events = []
    async with websockets.connect(url, open_timeout=timeout, close_timeout=2) as ws:
        await ws.send(json.dumps(["REQ", "discover", filt]))
        while True:
            msg = json.loads(await asyncio.wait_for(ws.recv(), timeout))
            if msg[0] == "EVENT" and msg[1] == "discover":
                events.append(msg[2])
            elif msg[0] in ("EOSE", "CLOSED"):
                return events


def discover(relays, own_pubkey, topic, timeout=5.0):
    """Every other node's latest verified presence record on the relays, merged by key."""
    found, report = {}, []
    for url in relays:
        try:
            events = asyncio.run(_query(url, {"kinds": [PRESENCE_KIND], "#t": [topic]}, timeout))
        except Exception as exc:   # a relay that fails is reported, never fatal
            report.append({"url": url, "ok": False, "error": str(exc)[:200]})
            continue
        good = [ev for ev in events if verified(ev)]
        report.append({"url": url, "ok": True, "events": len(events), "verified": len(good)})
        for ev in good:
            if ev["pubkey"] == own_pubkey or ["d", "archipelago-node"] not in ev["tags"]:
                continue
            try:
                content = json.loads(ev["content"])
            except ValueError:
                continue
            if not isinstance(content, dict):
                continue
            have = found.get(ev["pubkey"])
            if have is None or ev["created_at"] > have["created_at"]:
                found[ev["pubkey"]] = {"nostr_pubkey": ev["pubkey"], "nostr_npub": crypto.npub(ev["pubkey"]),
                                       "did": content.get("did"), "node_address": content.get("node_address"),
                                       "version": content.get("version"), "created_at": ev["created_at"],
                                       "event_id": ev["id"], "relays": []}
            if url not in found[ev["pubkey"]]["relays"]:
                found[ev["pubkey"]]["relays"].append(url)
    return {"nodes": sorted(found.values(), key=lambda n: n["nostr_pubkey"]), "relays": report, "topic": topic}


def _shared_key(secret, peer_hex):
    if not isinstance(peer_hex, str) or not HEX64.match(peer_hex):
        raise BadParams("parameter 'pubkey' must be a 64-hex x-only Nostr public key")
    point = crypto._lift_x(int(peer_hex, 16))
    if point is None:
        raise BadParams("parameter 'pubkey' is not a point of secp256k1")
    return crypto._mul(point, int.from_bytes(secret, "big"))[0].to_bytes(32, "big")


def nip04_encrypt(secret, peer_hex, plaintext):
    if not isinstance(plaintext, str) or len(plaintext) > 65536:
        raise BadParams("parameter 'plaintext' must be a string of at most 65536 characters")
    iv = os.urandom(16)
    padder = padding.PKCS7(128).padder()
    data = padder.update(plaintext.encode()) + padder.finalize()
    enc = Cipher(algorithms.AES(_shared_key(secret, peer_hex)), modes.CBC(iv)).encryptor()
    ct = enc.update(data) + enc.finalize()
    return base64.b64encode(ct).decode() + "?iv=" + base64.b64encode(iv).decode()


def nip04_decrypt(secret, peer_hex, payload):
    m = NIP04.match(payload) if isinstance(payload, str) else None
    if not m:
        raise BadParams("parameter 'ciphertext' must be NIP-04's base64(ciphertext)?iv=base64(iv)")
    key = _shared_key(secret, peer_hex)
    try:
        ct, iv = base64.b64decode(m.group(1), validate=True), base64.b64decode(m.group(2), validate=True)
        dec = Cipher(algorithms.AES(key), modes.CBC(iv)).decryptor()
        data = dec.update(ct) + dec.finalize()
        unpadder = padding.PKCS7(128).unpadder()
        return (unpadder.update(data) + unpadder.finalize()).decode()
    except ValueError:
        raise RpcError("the ciphertext does not decrypt with this key (wrong key or damaged)", code=-32602)
