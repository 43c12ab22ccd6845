#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: node_identity_info
short_description: Read an Archipelago node's DID and Nostr identity
version_added: 0.1.0
description:
  - Reads the node's DID (C(node.did)) and Nostr key (C(node.nostr-pubkey)) over the backend's
    RPC API, with the state of the Nostr revocation marker where the backend reports it.
  - Changes nothing.
extends_documentation_fragment:
  - archipelago.node.rpc
attributes:
  check_mode:
    support: full
    description: Runs normally in check mode; it only reads.
  diff_mode:
    support: none
    description: Reads only.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: Read the node's identity
  archipelago.node.node_identity_info:
    password_file: /etc/archipelago/admin-password
  register: identity

- name: Show the DID
  ansible.builtin.debug:
    msg: "{{ identity.did }} / {{ identity.nostr_npub }}"
"""

RETURN = r"""
did:
  description: The node's did:key.
  returned: success
  type: str
  sample: did:key:z6MkwY2CFWaF4uTwE3JEjkBZxqedMA92PpY6KU5jxA8V4VfG
pubkey:
  description: The Ed25519 public key, hex.
  returned: success
  type: str
nostr_pubkey:
  description: The Nostr public key (x-only, 64 hex), or null when the node has none.
  returned: success
  type: str
nostr_npub:
  description: The same key in NIP-19 form.
  returned: success
  type: str
nostr_revoked:
  description: Whether the node considers its Nostr key revoked (a revocation marker is present).
  returned: success
  type: bool
revocation_marker:
  description: Whether a revocation marker is present, and whether it is empty.
  returned: success
  type: dict
rpc_calls:
  description: The RPC methods called and their HTTP status (no parameters).
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.archipelago.node.plugins.module_utils.node_module import NodeModule
from ansible_collections.archipelago.node.plugins.module_utils.common import run
from ansible_collections.archipelago.node.plugins.module_utils.identity import nostr_state
from ansible_collections.archipelago.node.plugins.module_utils.rpc import rpc_argument_spec


def work(module, client):
    did = client.call_dict("node.did")
    nostr = client.call_dict("node.nostr-pubkey")
    state = nostr_state(nostr)
    return {
        "did": did.get("did"),
        "pubkey": did.get("pubkey"),
        "nostr_pubkey": state["nostr_pubkey"],
        "nostr_npub": state["nostr_npub"],
        "nostr_revoked": bool(nostr.get("revoked", state["marker_present"])),
        "revocation_marker": {"present": state["marker_present"], "empty": state["marker_empty"]},
    }


def main():
    module = NodeModule(argument_spec=rpc_argument_spec(), supports_check_mode=True)
    run(module, work)


if __name__ == "__main__":
    main()
