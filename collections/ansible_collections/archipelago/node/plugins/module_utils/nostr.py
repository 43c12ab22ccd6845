# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""Nostr for the node's presence (NIP-01, NIP-78), standard library only, so it runs on any node:

- events: the id, a BIP340 Schnorr check of the signature (secp256k1 in plain integers; verifying
  needs no secret, and the node's backend does all the signing), and a strict check of the shape;
- a small WebSocket client (RFC 6455, ws:// and wss://) bounded by the run's deadline, with the
  two exchanges presence needs: publish (EVENT -> OK) and query (REQ -> EVENT... EOSE);
- the presence record: kind 30078, tag d=archipelago-node, a t tag for discovery, content
  {did, node_address, version}; which stored record is the latest and whether it says what the
  node should say.

Everything read from a relay is checked before use; a relay that answers badly is reported as
such and never stops the run.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import base64
import hashlib
import json
import os
import re
import socket
import ssl
import struct
import time

from ansible.module_utils.six.moves.urllib.parse import urlsplit
from ansible_collections.archipelago.node.plugins.module_utils.deadline import socket_timeout

PRESENCE_KIND = 30078
PRESENCE_D = "archipelago-node"
MAX_MESSAGE = 1 << 20          # one relay message at most (an event is at most a few KiB)
MAX_EVENTS = 500               # events read per query at most
MAX_CONTENT = 16 * 1024
HEX64 = re.compile(r"^[0-9a-f]{64}$")
HEX128 = re.compile(r"^[0-9a-f]{128}$")

# secp256k1
_P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F
_N = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEBAAEDCE6AF48A03BBFD25E8CD0364141
_G = (0x79BE667EF9DCBBAC55A06295CE870B07029BFCDB2DCE28D959F2815B16F81798,
      0x483ADA7726A3C4655DA4FBFC0E1108A8FD17B448A68554199C47D08FFB10D4B8)


class NostrError(Exception):
    """A relay that cannot be used: unreachable, not a WebSocket, or answering badly."""


# ---------- events ----------
def event_id(pubkey, created_at, kind, tags, content):
    serial = json.dumps([0, pubkey, created_at, kind, tags, content], separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(serial.encode("utf-8")).hexdigest()


def _double(p):
    """Point doubling in Jacobian coordinates (X, Y, Z); None is the point at infinity."""
    if p is None or p[1] == 0:
        return None
    x, y, z = p
    yy = y * y % _P
    s = 4 * x * yy % _P
    m = 3 * x * x % _P
    x3 = (m * m - 2 * s) % _P
    return x3, (m * (s - x3) - 8 * yy * yy) % _P, 2 * y * z % _P


def _add(p, q):
    if p is None:
        return q
    if q is None:
        return p
    x1, y1, z1 = p
    x2, y2, z2 = q
    z1z1, z2z2 = z1 * z1 % _P, z2 * z2 % _P
    u1, u2 = x1 * z2z2 % _P, x2 * z1z1 % _P
    s1, s2 = y1 * z2 * z2z2 % _P, y2 * z1 * z1z1 % _P
    if u1 == u2:
        return _double(p) if s1 == s2 else None
    h, r = (u2 - u1) % _P, (s2 - s1) % _P
    hh = h * h % _P
    hhh, v = h * hh % _P, u1 * hh % _P
    x3 = (r * r - hhh - 2 * v) % _P
    return x3, (r * (v - x3) - s1 * hhh) % _P, h * z1 * z2 % _P


def _mul(point, k):
    out = None
    for bit in bin(k)[2:]:
        out = _double(out)
        if bit == "1":
            out = _add(out, point)
    return out


def _affine(p):
    if p is None:
        return None
    zi = pow(p[2], _P - 2, _P)
    return p[0] * zi * zi % _P, p[1] * zi * zi * zi % _P


def _lift_x(x):
    if x >= _P:
        return None
    y2 = (pow(x, 3, _P) + 7) % _P
    y = pow(y2, (_P + 1) // 4, _P)
    if y * y % _P != y2:
        return None
    return x, y if y % 2 == 0 else _P - y


def _tagged_hash(tag, data):
    t = hashlib.sha256(tag.encode()).digest()
    return hashlib.sha256(t + t + data).digest()


def schnorr_verify(msg, pubkey, sig):
    """BIP340: does the 64-byte sig sign the 32-byte msg under the 32-byte x-only pubkey?"""
    if len(msg) != 32 or len(pubkey) != 32 or len(sig) != 64:
        return False
    point = _lift_x(int.from_bytes(pubkey, "big"))
    r, s = int.from_bytes(sig[:32], "big"), int.from_bytes(sig[32:], "big")
    if point is None or r >= _P or s >= _N:
        return False
    e = int.from_bytes(_tagged_hash("BIP0340/challenge", sig[:32] + pubkey + msg), "big") % _N
    R = _affine(_add(_mul(_G + (1,), s), _mul(point + (1,), _N - e)))
    return R is not None and R[1] % 2 == 0 and R[0] == r


def is_pubkey(text):
    return isinstance(text, str) and bool(HEX64.match(text)) and _lift_x(int(text, 16)) is not None


def event_problem(ev):
    """None for a well-formed event whose id and signature verify; otherwise what is wrong."""
    if not isinstance(ev, dict):
        return "not an object"
    for name, kind in (("id", str), ("pubkey", str), ("sig", str), ("content", str), ("tags", list)):
        if not isinstance(ev.get(name), kind):
            return "no %s of type %s" % (name, kind.__name__)
    for name in ("created_at", "kind"):
        if not isinstance(ev.get(name), int) or isinstance(ev.get(name), bool) or ev[name] < 0:
            return "%s is not a non-negative integer" % name
    if ev["kind"] > 65535:
        return "kind above 65535"
    if not HEX64.match(ev["id"]) or not HEX64.match(ev["pubkey"]) or not HEX128.match(ev["sig"]):
        return "id, pubkey or sig is not lowercase hex of the right length"
    if not all(isinstance(t, list) and all(isinstance(x, str) for x in t) for t in ev["tags"]):
        return "tags are not lists of strings"
    if event_id(ev["pubkey"], ev["created_at"], ev["kind"], ev["tags"], ev["content"]) != ev["id"]:
        return "the id is not the hash of the event"
    if not schnorr_verify(bytes.fromhex(ev["id"]), bytes.fromhex(ev["pubkey"]), bytes.fromhex(ev["sig"])):
        return "the signature does not verify"
    return None


# ---------- presence ----------
def presence_content(did, node_address, version):
    """The record's content, canonical (sorted keys, no spaces) so the same facts give the same text."""
    return json.dumps({"did": did, "node_address": node_address, "version": version},
                      sort_keys=True, separators=(",", ":"))


def presence_tags(topic):
    return [["d", PRESENCE_D], ["t", topic]]


def presence_unsigned(pubkey, content, topic, now):
    return {"kind": PRESENCE_KIND, "created_at": int(now), "pubkey": pubkey, "tags": presence_tags(topic),
            "content": content}


def _d_tag(ev):
    for tag in ev.get("tags", []):
        if tag and tag[0] == "d":
            return tag[1] if len(tag) > 1 else ""
    return ""


def latest_presence(events, pubkey):
    """The relay's current presence record of pubkey among events (checked ones only): the
    highest created_at, the lowest id on a tie (NIP-01's rule). (event or None, problems)."""
    good, problems = [], []
    for ev in events:
        problem = event_problem(ev)
        if problem:
            problems.append(problem)
        elif ev["pubkey"] == pubkey and ev["kind"] == PRESENCE_KIND and _d_tag(ev) == PRESENCE_D:
            good.append(ev)
    if not good:
        return None, problems
    return min(good, key=lambda ev: (-ev["created_at"], ev["id"])), problems


def parse_presence(ev):
    """The record's {did, node_address, version} and topics, or None when its content is not that."""
    try:
        content = json.loads(ev["content"])
    except ValueError:
        return None
    if not isinstance(content, dict) or not all(isinstance(content.get(k), str) for k in ("did", "node_address")):
        return None
    if content.get("version") is not None and not isinstance(content["version"], str):
        return None
    topics = [t[1] for t in ev["tags"] if len(t) > 1 and t[0] == "t"]
    return {"did": content["did"], "node_address": content["node_address"], "version": content.get("version"),
            "topics": topics}


def presence_current(ev, content, topic, now, max_age):
    """(True, None) when ev says content under topic and is younger than max_age seconds (0: any
    age); else (False, why)."""
    if ev is None:
        return False, "the relay holds no presence record of this key"
    have, want = parse_presence(ev), json.loads(content)
    if have is None or any(have[k] != want.get(k) for k in ("did", "node_address", "version")):
        return False, "the relay's record says something else"
    if topic not in have["topics"]:
        return False, "the relay's record lacks the topic %s" % topic
    if max_age and now - ev["created_at"] > max_age:
        return False, "the relay's record is older than %d s" % max_age
    return True, None


# ---------- relays ----------
def check_relay_url(url):
    """None when url is a ws:// or wss:// URL with a host and nothing else; else why not."""
    if not isinstance(url, str) or not url or len(url) > 2048 or any(c.isspace() for c in url):
        return "%r is not a relay URL" % (url,)
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        return "%s is not a relay URL (%s)" % (url, exc)
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        return "%s is not a ws:// or wss:// URL" % url
    if parts.username or parts.password or parts.query or parts.fragment:
        return "%s: a relay URL carries no user, password, query or fragment" % url
    del port
    return None


class Relay(object):
    """One WebSocket connection to a Nostr relay, every read and write bounded by `timeout` and
    by `deadline` (time.monotonic())."""

    def __init__(self, url, timeout, deadline=None):
        problem = check_relay_url(url)
        if problem:
            raise NostrError(problem)
        self.url, self.timeout, self.deadline = url, timeout, deadline
        self.sock, self.buf = None, b""

    def _t(self):
        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise NostrError("%s: this run's time is up" % self.url)
        return socket_timeout(self.timeout, self.deadline)

    def __enter__(self):
        parts = urlsplit(self.url)
        port = parts.port or (443 if parts.scheme == "wss" else 80)
        try:
            sock = socket.create_connection((parts.hostname, port), timeout=self._t())
            if parts.scheme == "wss":
                sock = ssl.create_default_context().wrap_socket(sock, server_hostname=parts.hostname)
        except (OSError, ssl.SSLError) as exc:
            raise NostrError("%s: cannot connect (%s)" % (self.url, exc))
        self.sock = sock
        key = base64.b64encode(os.urandom(16)).decode()
        host = parts.hostname if parts.port is None else "%s:%d" % (parts.hostname, parts.port)
        if ":" in parts.hostname:
            host = "[%s]" % parts.hostname if parts.port is None else "[%s]:%d" % (parts.hostname, parts.port)
        request = ("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   "Sec-WebSocket-Key: %s\r\nSec-WebSocket-Version: 13\r\n\r\n") % (parts.path or "/", host, key)
        self._send(request.encode())
        head = self._read_until(b"\r\n\r\n", 16384)
        lines = head.decode("iso-8859-1").split("\r\n")
        if not re.match(r"^HTTP/1\.[01] 101 ", lines[0]):
            self.close()
            raise NostrError("%s: not a WebSocket endpoint (answered %r)" % (self.url, lines[0][:80]))
        headers = dict((p[0].strip().lower(), p[2].strip()) for p in (line.partition(":") for line in lines[1:]))
        want = base64.b64encode(hashlib.sha1((key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        if headers.get("sec-websocket-accept") != want:
            self.close()
            raise NostrError("%s: the WebSocket handshake's accept key is wrong" % self.url)
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        if self.sock is not None:
            try:
                self._frame(0x8, b"")
            except (OSError, NostrError):
                pass
            try:
                self.sock.close()
            except OSError:
                pass
            self.sock = None

    def _send(self, data):
        try:
            self.sock.settimeout(self._t())
            self.sock.sendall(data)
        except (OSError, ssl.SSLError) as exc:
            raise NostrError("%s: sending failed (%s)" % (self.url, exc))

    def _fill(self):
        try:
            self.sock.settimeout(self._t())
            chunk = self.sock.recv(65536)
        except socket.timeout:
            raise NostrError("%s: no answer within %g s" % (self.url, self.timeout))
        except (OSError, ssl.SSLError) as exc:
            raise NostrError("%s: reading failed (%s)" % (self.url, exc))
        if not chunk:
            raise NostrError("%s: the relay closed the connection" % self.url)
        self.buf += chunk

    def _read_until(self, marker, limit):
        while marker not in self.buf:
            if len(self.buf) > limit:
                raise NostrError("%s: the handshake answer is too long" % self.url)
            self._fill()
        head, dummy, self.buf = self.buf.partition(marker)
        return head

    def _read(self, n):
        while len(self.buf) < n:
            self._fill()
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _frame(self, opcode, payload):
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = struct.pack("!BB", 0x80 | opcode, 0x80 | n)
        elif n < 65536:
            head = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, n)
        else:
            head = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, n)
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self._send(head + mask + body)

    def send(self, message):
        self._frame(0x1, json.dumps(message, separators=(",", ":"), ensure_ascii=False).encode("utf-8"))

    def recv(self):
        """The next relay message: a JSON array (anything else is a NostrError)."""
        parts, size = [], 0
        while True:
            b1, b2 = self._read(2)
            opcode, n = b1 & 0x0F, b2 & 0x7F
            if b2 & 0x80:
                raise NostrError("%s: the relay masks its frames (a server must not)" % self.url)
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            if size + n > MAX_MESSAGE:
                raise NostrError("%s: a message over %d bytes" % (self.url, MAX_MESSAGE))
            payload = self._read(n)
            if opcode == 0x8:
                raise NostrError("%s: the relay closed the connection" % self.url)
            if opcode == 0x9:
                self._frame(0xA, payload)
                continue
            if opcode == 0xA:
                continue
            if opcode not in (0x0, 0x1, 0x2):
                raise NostrError("%s: a WebSocket frame of unknown opcode %d" % (self.url, opcode))
            parts.append(payload)
            size += n
            if b1 & 0x80:
                break
        try:
            message = json.loads(b"".join(parts).decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            raise NostrError("%s: a message that is not JSON" % self.url)
        if not isinstance(message, list) or not message or not isinstance(message[0], str):
            raise NostrError("%s: a message that is not a Nostr array" % self.url)
        return message

    def publish(self, event):
        """(accepted, the relay's message) for one EVENT."""
        self.send(["EVENT", event])
        while True:
            msg = self.recv()
            # (nostr-relay answers an event it cannot verify with an empty id)
            if msg[0] == "OK" and len(msg) >= 3 and msg[1] in (event["id"], ""):
                if not isinstance(msg[2], bool):
                    raise NostrError("%s: an OK whose verdict is not true or false" % self.url)
                return msg[2], str(msg[3])[:300] if len(msg) > 3 else ""
            if msg[0] == "NOTICE":
                continue

    def query(self, filters, sub="archy"):
        """The events the relay holds for filters, until its EOSE."""
        self.send(["REQ", sub] + list(filters))
        events = []
        while True:
            msg = self.recv()
            if msg[0] == "EVENT" and len(msg) >= 3 and msg[1] == sub:
                events.append(msg[2])
                if len(events) > MAX_EVENTS:
                    raise NostrError("%s: more than %d events for one query" % (self.url, MAX_EVENTS))
            elif msg[0] == "EOSE" and len(msg) >= 2 and msg[1] == sub:
                break
            elif msg[0] == "CLOSED" and len(msg) >= 2 and msg[1] == sub:
                raise NostrError("%s: the relay refused the query (%s)" % (self.url, str(msg[2:])[:200]))
        try:
            self.send(["CLOSE", sub])
        except NostrError:
            pass
        return events


def own_presence_filter(pubkey):
    return {"kinds": [PRESENCE_KIND], "authors": [pubkey], "#d": [PRESENCE_D]}


def read_presence(url, pubkey, timeout, deadline):
    """(latest presence record of pubkey on the relay or None, problems with what it sent)."""
    with Relay(url, timeout, deadline) as relay:
        return latest_presence(relay.query([own_presence_filter(pubkey)]), pubkey)


def publish_to(url, event, timeout, deadline):
    with Relay(url, timeout, deadline) as relay:
        return relay.publish(event)


# ---------- what the presence option does ----------
def check_presence_options(relays, address, private_relays, min_relays, topic="archipelago", max_age=0):
    """Refusals of the presence options before anything is read or written: None or the why."""
    if not isinstance(topic, str) or not re.match(r"^[a-z0-9][a-z0-9._-]{0,63}$", topic):
        return "presence.topic must be 1 to 64 lowercase letters, digits, '.', '_' or '-', not %r" % (topic,)
    if not isinstance(max_age, int) or max_age < 0:
        return "presence.max_age must be 0 (any age) or a number of seconds, not %r" % (max_age,)
    if not relays:
        return "presence needs at least one relay in presence.relays"
    for url in relays:
        problem = check_relay_url(url)
        if problem:
            return problem
    if len(set(relays)) != len(relays):
        return "presence.relays names a relay twice"
    if not 1 <= min_relays <= len(relays):
        return "presence.min_relays must be between 1 and the number of relays (%d), not %d" % (len(relays), min_relays)
    if address is not None and (not isinstance(address, str) or not address or len(address) > 255
                                or any(c.isspace() or ord(c) < 32 for c in address)):
        return "presence.address must be a host name or URL of at most 255 characters without spaces"
    if address and is_onion_address(address) and not private_relays:
        return ("presence.address %s is an onion address: Archipelago never publishes onion addresses to public "
                "relays; set presence.private_relays to true only when every relay in presence.relays is your own"
                % address)
    return None


def is_onion_address(address):
    host = urlsplit(address if "//" in address else "//" + address).hostname or ""
    return host.endswith(".onion")


def relay_states(reads, content, topic, now, max_age):
    """Per relay from reads {url: (event or None, problems) or NostrError}: {url, state, reason,
    created_at}. state: current, missing, stale (another or an old record), unreachable."""
    out = []
    for url, read in reads.items():
        if isinstance(read, Exception):
            out.append({"url": url, "state": "unreachable", "reason": str(read), "created_at": None})
            continue
        event, problems = read
        ok, why = presence_current(event, content, topic, now, max_age)
        state = "current" if ok else ("missing" if event is None else "stale")
        if problems and not ok:
            why = "%s; it also sent %d event(s) that do not verify (%s)" % (why, len(problems), problems[0])
        out.append({"url": url, "state": state, "reason": why, "created_at": event["created_at"] if event else None})
    return out


def next_created_at(now, states):
    """A created_at that replaces every record the relays hold (NIP-01: the highest wins)."""
    seen = [s["created_at"] for s in states if s["created_at"] is not None]
    return max([int(now)] + [c + 1 for c in seen])
