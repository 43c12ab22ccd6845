# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""Pure decisions about a node's identity (no I/O): what to do with its Nostr key."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

HEX64 = re.compile(r"^[0-9a-f]{64}$")


def nostr_state(info):
    """Normalise a node.nostr-pubkey answer. Tolerates the bare contract shape
    {nostr_pubkey, nostr_npub} as well as the lab's {.., revoked, revocation_marker}."""
    info = info if isinstance(info, dict) else {}
    pub = info.get("nostr_pubkey")
    marker = info.get("revocation_marker")
    if marker is not None and not isinstance(marker, dict):
        marker = {"present": True}   # a marker of a shape not known here: present, naming no key
    npub = info.get("nostr_npub")
    return {
        "nostr_pubkey": pub if isinstance(pub, str) and HEX64.match(pub) else None,
        "nostr_npub": npub if isinstance(npub, str) else None,
        "marker_present": bool(marker and marker.get("present", True)),
        "marker_empty": bool(marker and marker.get("empty")),
        "marker_pubkey": (marker or {}).get("revoked_pubkey"),
    }


def plan_nostr(state, rotate=False):
    """(action, reason) for STAB-05. action is one of: none, clear_marker, create."""
    if rotate:
        return "create", "rotation requested"
    if state["nostr_pubkey"] is None:
        return "create", "the node has no valid Nostr key"
    if not state["marker_present"]:
        return "none", "valid key, no revocation marker"
    if state["marker_empty"]:
        return "clear_marker", "valid key with an empty revocation marker: the marker is stray"
    if state["marker_pubkey"] == state["nostr_pubkey"]:
        return "create", "the current key is revoked"
    return "none", "the revocation marker names an older key; the current key is valid"


def nostr_view(state):
    """What an operator sees in the diff: no secret here, only public facts."""
    return {"nostr_pubkey": state["nostr_pubkey"], "revocation_marker": state["marker_present"]}
