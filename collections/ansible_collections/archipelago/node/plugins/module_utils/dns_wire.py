# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""The RFC 1035 packet of a did:dht (name compression, TXT strings split at 255 bytes).

Pure functions, part of did:dht (module_utils/did_dht.py); tested against the did:dht spec vectors,
the BEP44 vectors and dnspython's encoder."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import struct

from ansible_collections.archipelago.node.plugins.module_utils.did_dht_errors import DidDhtError

TTL = 7200
MAX_PACKET = 976          # keeps len(signable) <= 1000 at a 10-digit seq (some clients refuse more)
TYPE_NS, TYPE_TXT, CLASS_IN = 2, 16, 1


def _labels(name):
    name = name.rstrip(".")
    try:
        return [l.encode("ascii") for l in name.split(".")] if name else []
    except UnicodeEncodeError:
        raise DidDhtError("DNS name %r is not ASCII (write an internationalized name in its xn-- form)" % name[:80])


def _write_name(out, name, compress):
    """Write name at the end of out, pointing at an earlier copy of any suffix (the same choice
    as dnspython, so the bytes are comparable)."""
    labels = _labels(name)
    for i in range(len(labels)):
        key = tuple(l.lower() for l in labels[i:])
        if key in compress:
            out.extend(struct.pack(">H", 0xC000 | compress[key]))
            return
        if len(out) <= 0x3FFF:
            compress[key] = len(out)
        if len(labels[i]) > 63:
            raise DidDhtError("DNS label longer than 63 bytes in %r" % name)
        out.append(len(labels[i]))
        out.extend(labels[i])
    out.append(0)


def txt_strings(value):
    """A TXT value split into character-strings of at most 255 bytes."""
    data = value.encode("utf-8")
    return [data[i:i + 255] for i in range(0, len(data), 255)] or [b""]


def encode_packet(records):
    """records: [(name, type 'TXT'|'NS', text)] -> the DNS response packet (id 0, QR+AA)."""
    out = bytearray(struct.pack(">HHHHHH", 0, 0x8400, 0, len(records), 0, 0))
    compress = {}
    for name, rtype, text in records:
        _write_name(out, name, compress)
        code = TYPE_TXT if rtype == "TXT" else TYPE_NS
        out.extend(struct.pack(">HHIH", code, CLASS_IN, TTL, 0))
        start = len(out)
        if rtype == "TXT":
            for chunk in txt_strings(text):
                out.append(len(chunk))
                out.extend(chunk)
        else:
            _write_name(out, text, compress)
        if len(out) - start > 0xFFFF:
            raise DidDhtError("the record %s is %d bytes; a DNS record holds at most 65535 (and a did:dht packet %d)"
                              % (name, len(out) - start, MAX_PACKET))
        struct.pack_into(">H", out, start - 2, len(out) - start)
    return bytes(out)


def _read_name(data, pos):
    labels, jumps, end = [], 0, None
    while True:
        if pos >= len(data):
            raise DidDhtError("DNS packet truncated inside a name")
        length = data[pos]
        if length & 0xC0 == 0xC0:
            if pos + 1 >= len(data):
                raise DidDhtError("DNS packet truncated inside a pointer")
            if end is None:
                end = pos + 2
            jumps += 1
            if jumps > 64:
                raise DidDhtError("DNS name compression loop")
            pos = ((length & 0x3F) << 8) | data[pos + 1]
            continue
        if length == 0:
            pos += 1
            break
        labels.append(data[pos + 1:pos + 1 + length].decode("latin-1"))
        pos += 1 + length
    return ".".join(labels).lower() + ".", end if end is not None else pos


def decode_packet(data):
    """[(name, 'TXT'|'NS', text, ttl)] of a packet, compressed or not; other types are skipped."""
    data = bytearray(data)
    if len(data) < 12:
        raise DidDhtError("DNS packet shorter than its header")
    qd, an, ns, ar = struct.unpack(">HHHH", bytes(data[4:12]))
    pos = 12
    for _question in range(qd):
        pos = _read_name(data, pos)[1] + 4
    records = []
    for _record in range(an + ns + ar):
        name, pos = _read_name(data, pos)
        if pos + 10 > len(data):
            raise DidDhtError("DNS packet truncated in a record header")
        rtype, _cls, ttl, rdlen = struct.unpack(">HHIH", bytes(data[pos:pos + 10]))
        pos += 10
        rdata = data[pos:pos + rdlen]
        if len(rdata) != rdlen:
            raise DidDhtError("DNS packet truncated in record data")
        if rtype == TYPE_TXT:
            parts, i = [], 0
            while i < rdlen:
                parts.append(bytes(rdata[i + 1:i + 1 + rdata[i]]))
                i += 1 + rdata[i]
            records.append((name, "TXT", b"".join(parts).decode("utf-8", "replace"), ttl))
        elif rtype == TYPE_NS:
            try:
                target = _read_name(data, pos)[0]
            except DidDhtError:
                target = ""  # tolerated: some publishers put a URL here
            records.append((name, "NS", target, ttl))
        pos += rdlen
    return records
