# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""The Archipelago DWN protocol definitions (SCHEMA-01) as data, in the DWN protocol definition
format (protocol, published, types, structure), with a JSON Schema for each record type, and the
pure logic of registering them (what differs between a node's list and the wanted definitions).

The protocol URIs are identifiers: nothing is ever fetched from them. docs/dwn-protocols.md is
generated from this file (scripts/dwn_docs.py) and checked against it."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import json

BASE = "https://archipelago.example/dwn"
JSON_FORMAT = ["application/json"]
READ = ["read", "query", "subscribe"]


def _schema(protocol, name):
    return "%s/%s/v1/schemas/%s" % (BASE, protocol, name)


def _type(protocol, name):
    return {"schema": _schema(protocol, name), "dataFormats": JSON_FORMAT}


DID = {"type": "string", "pattern": "^did:(dht|key):[A-Za-z0-9._:-]+$", "maxLength": 200}
DATE = {"type": "string", "format": "date-time", "maxLength": 40}
ONION = {"type": "string", "pattern": "^[a-z2-7]{56}\\.onion$"}

# name: (what it is for, definition, {record type: JSON Schema})
PROTOCOLS = {
    "node-identity": (
        "Node identity announcements: a node says who it is (its DIDs, Nostr key, onion address), "
        "for anyone to read.",
        {"protocol": "%s/node-identity/v1" % BASE, "published": True,
         "types": {"announcement": _type("node-identity", "announcement")},
         "structure": {"announcement": {"$actions": [{"who": "anyone", "can": ["read"]}]}}},
        {"announcement": {
            "type": "object", "additionalProperties": False, "required": ["did", "name", "announced"],
            "properties": {"did": DID, "didDht": DID, "name": {"type": "string", "maxLength": 64},
                           "nostrPubkey": {"type": "string", "pattern": "^[0-9a-f]{64}$"}, "onion": ONION,
                           "version": {"type": "string", "maxLength": 32}, "announced": DATE}}}),
    "file-catalog": (
        "File sharing catalogs: a catalog of the files a node shares, each entry with its access "
        "(free, peers only, paid); anyone may read a published catalog, only its author writes.",
        {"protocol": "%s/file-catalog/v1" % BASE, "published": True,
         "types": {"catalog": _type("file-catalog", "catalog"), "entry": _type("file-catalog", "entry")},
         "structure": {"catalog": {"$actions": [{"who": "anyone", "can": ["read"]}],
                                   "entry": {"$actions": [{"who": "anyone", "can": ["read"]}]}}}},
        {"catalog": {"type": "object", "additionalProperties": False, "required": ["title"],
                     "properties": {"title": {"type": "string", "maxLength": 200},
                                    "description": {"type": "string", "maxLength": 2000}}},
         "entry": {"type": "object", "additionalProperties": False, "required": ["name", "size", "sha256", "access"],
                   "properties": {"name": {"type": "string", "maxLength": 255},
                                  "size": {"type": "integer", "minimum": 0},
                                  "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"},
                                  "mimeType": {"type": "string", "maxLength": 100},
                                  "access": {"enum": ["free", "peers_only", "paid"]},
                                  "priceSats": {"type": "integer", "minimum": 0}}}}),
    "federation-state": (
        "Federation state: a node's state snapshot (its apps and their health), readable by the "
        "nodes it gave the peer role (its trusted peers).",
        {"protocol": "%s/federation-state/v1" % BASE, "published": False,
         "types": {"peer": _type("federation-state", "peer"), "snapshot": _type("federation-state", "snapshot")},
         "structure": {"peer": {"$role": True},
                       "snapshot": {"$actions": [{"role": "peer", "can": list(READ)}]}}},
        {"peer": {"type": "object", "additionalProperties": False, "required": ["did", "trustLevel"],
                  "properties": {"did": DID, "trustLevel": {"enum": ["trusted", "observer"]}, "since": DATE}},
         "snapshot": {"type": "object", "additionalProperties": False, "required": ["did", "taken", "apps"],
                      "properties": {"did": DID, "taken": DATE,
                                     "apps": {"type": "array", "maxItems": 200, "items": {
                                         "type": "object", "additionalProperties": False, "required": ["id", "status"],
                                         "properties": {"id": {"type": "string", "maxLength": 64},
                                                        "status": {"type": "string", "maxLength": 32},
                                                        "version": {"type": "string", "maxLength": 64}}}}}}}),
    "app-deployment": (
        "App deployment requests: a peer asks a node to install or remove an app; the node answers "
        "each request with its status, which the requester may read.",
        {"protocol": "%s/app-deployment/v1" % BASE, "published": False,
         "types": {"peer": _type("app-deployment", "peer"), "request": _type("app-deployment", "request"),
                   "status": _type("app-deployment", "status")},
         "structure": {"peer": {"$role": True},
                       "request": {"$actions": [{"role": "peer", "can": ["create"]}],
                                   "status": {"$actions": [{"who": "author", "of": "request", "can": ["read"]}]}}}},
        {"peer": {"type": "object", "additionalProperties": False, "required": ["did"], "properties": {"did": DID}},
         "request": {"type": "object", "additionalProperties": False, "required": ["app", "action"],
                     "properties": {"app": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]{0,63}$"},
                                    "action": {"enum": ["install", "remove", "restart"]},
                                    "version": {"type": "string", "maxLength": 64}, "reason": {"type": "string",
                                                                                               "maxLength": 500}}},
         "status": {"type": "object", "additionalProperties": False, "required": ["state"],
                    "properties": {"state": {"enum": ["accepted", "refused", "done", "failed"]},
                                   "detail": {"type": "string", "maxLength": 500}}}}),
}


def definitions():
    """The four definitions, a fresh copy each call."""
    return [copy.deepcopy(PROTOCOLS[n][1]) for n in PROTOCOLS]


def schemas():
    """{schema URI: JSON Schema} of every record type."""
    out = {}
    for _name, (_what, definition, types) in PROTOCOLS.items():
        for rtype, schema in types.items():
            out[definition["types"][rtype]["schema"]] = dict(schema, **{"$id": definition["types"][rtype]["schema"]})
    return out


def canonical(definition):
    return json.dumps(definition, sort_keys=True, separators=(",", ":"))


def check_definition(definition):
    """A message naming what is wrong with a definition's shape, or None. The full rules are the
    DWN's; this catches what would otherwise reach the node as garbage."""
    if not isinstance(definition, dict):
        return "a protocol definition is a mapping"
    protocol = definition.get("protocol")
    if not isinstance(protocol, str) or not protocol.startswith(("https://", "http://")) or len(protocol) > 500:
        return "protocol must be an http(s) URI naming the protocol, got %.80r" % (protocol,)
    if not isinstance(definition.get("published"), bool):
        return "%s: published must be true or false" % protocol
    for key in ("types", "structure"):
        if not isinstance(definition.get(key), dict) or not definition[key]:
            return "%s: %s must be a non-empty mapping" % (protocol, key)
    extra = set(definition) - {"protocol", "published", "types", "structure", "uses"}
    if extra:
        return "%s: unknown keys %s" % (protocol, ", ".join(sorted(extra)))
    try:
        size = len(canonical(definition))
    except (TypeError, ValueError):
        return "%s: the definition holds values that are not JSON" % protocol
    if size > 65536:
        return "%s: the definition is %d bytes as JSON; at most 65536" % (protocol, size)
    return None


def plan(wanted, registered):
    """(to register [(definition, reason)], kept [protocol]) from the wanted definitions and the
    node's list [{protocol, definition}]."""
    have = {}
    for entry in registered:
        if isinstance(entry, dict) and isinstance(entry.get("protocol"), str):
            have[entry["protocol"]] = entry.get("definition")
    todo, kept = [], []
    for definition in wanted:
        current = have.get(definition["protocol"])
        if current is None:
            todo.append((definition, "not registered"))
        elif not isinstance(current, dict) or canonical(current) != canonical(definition):
            todo.append((definition, "registered with another definition"))
        else:
            kept.append(definition["protocol"])
    return todo, kept
