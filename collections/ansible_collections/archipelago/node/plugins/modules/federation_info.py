#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: federation_info
short_description: Read an Archipelago node's federation peers and its own state snapshot
version_added: 0.1.0
description:
  - Returns the peers of C(federation.list-nodes) (DID, trust level, address, onion, added and
    last seen times, the last state received) and the node's own C(federation.get-state).
  - Changes nothing; what the acceptance checks TEST-04/05 assert.
extends_documentation_fragment:
  - archipelago.node.rpc
attributes:
  check_mode:
    support: full
    description: Reads only.
  diff_mode:
    support: none
    description: Reads only.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: Read federation state
  archipelago.node.federation_info:
    password_file: /etc/archipelago/admin-password
  register: fed

- name: Every peer is trusted
  ansible.builtin.assert:
    that: fed.peers | rejectattr('trust_level', 'equalto', 'trusted') | list | length == 0
"""

RETURN = r"""
peers:
  description: The node's federation peers.
  returned: success
  type: list
  elements: dict
  contains:
    did: {description: The peer's DID., type: str}
    trust_level: {description: "trusted, observer or untrusted.", type: str}
    last_seen: {description: Unix time of the last contact., type: int}
    last_seen_age: {description: Seconds since last_seen., type: int}
trusted_dids:
  description: DIDs of the trusted peers.
  returned: success
  type: list
  elements: str
state:
  description: The node's own NodeStateSnapshot.
  returned: success
  type: dict
rpc_calls:
  description: The RPC methods called and their HTTP status.
  returned: always
  type: list
  elements: dict
"""

import time

from ansible_collections.archipelago.node.plugins.module_utils.node_module import NodeModule
from ansible_collections.archipelago.node.plugins.module_utils.common import run
from ansible_collections.archipelago.node.plugins.module_utils.rpc import rpc_argument_spec


def work(module, client):
    now = int(time.time())
    peers = []
    for n in client.call_list("federation.list-nodes", keys=("did",), numbers=("last_seen",)):
        peer = dict(n)
        if isinstance(n.get("last_seen"), int):
            peer["last_seen_age"] = now - n["last_seen"]
        peers.append(peer)
    return {"peers": peers, "trusted_dids": sorted(p["did"] for p in peers if p.get("trust_level") == "trusted"),
            "state": client.call_dict("federation.get-state")}


def main():
    module = NodeModule(argument_spec=rpc_argument_spec(), supports_check_mode=True)
    run(module, work)


if __name__ == "__main__":
    main()
