#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: nostr_identity
short_description: Make sure an Archipelago node has a valid, unrevoked Nostr key (STAB-05)
version_added: 0.1.0
description:
  - Reads the node's Nostr key and revocation marker and repairs what is wrong.
  - A valid key with an empty revocation marker (a stray marker) -> the marker is removed
    (C(identity.clear-nostr-revocation)).
  - A missing key, or a key the marker names as revoked -> a new key is created
    (C(identity.create-nostr-key)).
  - A valid key without a marker -> nothing changes.
extends_documentation_fragment:
  - archipelago.node.rpc
options:
  rotate:
    description: Create a new key even when the current one is valid.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Reads the state and reports what it would do; writes nothing.
  diff_mode:
    support: full
    description: Shows the public key and marker before and after.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: Repair the node's Nostr identity
  archipelago.node.nostr_identity:
    password_file: /etc/archipelago/admin-password
  register: nostr

- name: Rotate the key
  archipelago.node.nostr_identity:
    password_file: /etc/archipelago/admin-password
    rotate: true
"""

RETURN = r"""
repair:
  description: What was done (or would be, in check mode).
  returned: success
  type: str
  choices: [none, clear_marker, create]
reason:
  description: Why.
  returned: success
  type: str
  sample: valid key with an empty revocation marker, the marker is stray
nostr_pubkey:
  description: The node's Nostr public key after the run (null in check mode when a key would be created).
  returned: success
  type: str
nostr_npub:
  description: The same key in NIP-19 form.
  returned: success
  type: str
rpc_calls:
  description: The RPC methods called and their HTTP status.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.archipelago.node.plugins.module_utils.node_module import NodeModule
from ansible_collections.archipelago.node.plugins.module_utils.common import run
from ansible_collections.archipelago.node.plugins.module_utils.identity import nostr_state, nostr_view, plan_nostr
from ansible_collections.archipelago.node.plugins.module_utils.rpc import rpc_argument_spec


def work(module, client):
    before = nostr_state(client.call_dict("node.nostr-pubkey"))
    action, reason = plan_nostr(before, module.params["rotate"])
    after = dict(before)
    if action == "clear_marker":
        after.update(marker_present=False, marker_empty=False, marker_pubkey=None)
    elif action == "create":
        after.update(nostr_pubkey=None, nostr_npub=None, marker_present=False, marker_empty=False, marker_pubkey=None)
    if action != "none" and not module.check_mode:
        method = "identity.clear-nostr-revocation" if action == "clear_marker" else "identity.create-nostr-key"
        client.call(method)
        after = nostr_state(client.call_dict("node.nostr-pubkey"))
        if plan_nostr(after)[0] != "none":
            module.fail_json(msg="%s did not repair the Nostr identity: %s" % (method, plan_nostr(after)[1]),
                             rpc_calls=client.calls)
    result = {"changed": action != "none", "repair": action, "reason": reason,
              "nostr_pubkey": after["nostr_pubkey"], "nostr_npub": after["nostr_npub"]}
    if module._diff:
        result["diff"] = {"before": nostr_view(before), "after": nostr_view(after)}
    return result


def main():
    spec = rpc_argument_spec()
    spec.update(rotate=dict(type="bool", default=False))
    module = NodeModule(argument_spec=spec, supports_check_mode=True)
    run(module, work)


if __name__ == "__main__":
    main()
