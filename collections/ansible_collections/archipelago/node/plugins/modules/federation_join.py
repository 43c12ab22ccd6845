#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: federation_join
short_description: Join an Archipelago node to another node's federation with an invite code
version_added: 0.1.0
description:
  - Reads the invite code locally first (format, signature against the inviter's DID, expiry);
    a malformed, forged or expired code fails before anything is sent.
  - When the inviting node is already a trusted peer, nothing is done (the invite is not used).
  - Otherwise calls C(federation.join); both nodes verify each other's Ed25519 challenge
    signatures and store each other.
  - With O(verify), checks afterwards that the peer answers a state sync, which it only does
    for a node it trusts, so both sides list each other as trusted.
extends_documentation_fragment:
  - archipelago.node.rpc
options:
  code:
    description: The invite code from M(archipelago.node.federation_invite).
    type: str
    required: true
  verify:
    description: After joining, check mutual trust with a C(federation.sync-state) to the peer.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Reads the code and the peers and reports whether a join would happen; sends no join.
  diff_mode:
    support: full
    description: Shows the trusted peers before and after.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: Join arch1's federation from arch2
  archipelago.node.federation_join:
    password_file: /etc/archipelago/admin-password
    code: "{{ hostvars['arch1'].invite.code }}"
  no_log: true
"""

RETURN = r"""
peer_did:
  description: The inviting node's DID.
  returned: success
  type: str
already_trusted:
  description: Whether the peer was trusted before the run (then nothing was sent).
  returned: success
  type: bool
peers:
  description: The DIDs of the trusted peers after the run.
  returned: success
  type: list
  elements: str
verified:
  description: Whether the peer answered a state sync after the join.
  returned: success
  type: bool
rpc_calls:
  description: The RPC methods called and their HTTP status.
  returned: always
  type: list
  elements: dict
"""

from ansible.module_utils.basic import missing_required_lib
from ansible_collections.archipelago.node.plugins.module_utils.node_module import NodeModule
from ansible_collections.archipelago.node.plugins.module_utils.common import run
from ansible_collections.archipelago.node.plugins.module_utils.invite import InviteError, MissingCryptography, read_invite
from ansible_collections.archipelago.node.plugins.module_utils.rpc import list_reply, rpc_argument_spec


def trusted(nodes):
    return sorted(n["did"] for n in nodes if n.get("trust_level") == "trusted")


def work(module, client):
    try:
        payload = read_invite(module.params["code"])
    except MissingCryptography as exc:
        module.fail_json(msg=missing_required_lib(str(exc)) + "; the invite's signature cannot be checked without it, "
                         "so it is not used")
    except InviteError as exc:
        module.fail_json(msg="federation_join: %s; nothing was changed" % exc)
    peer = payload["did"]
    own = client.call_dict("node.did").get("did")
    if peer == own:
        module.fail_json(msg="federation_join: the invite was created by this node (%s); use it on the other node" % own)
    before = trusted(client.call_list("federation.list-nodes", keys=("did",), numbers=("last_seen",)))
    result = {"peer_did": peer, "already_trusted": peer in before, "verified": False}
    after = before if peer in before else sorted(before + [peer])
    if peer not in before and not module.check_mode:
        client.call("federation.join", {"code": module.params["code"]})
        after = trusted(client.call_list("federation.list-nodes", keys=("did",), numbers=("last_seen",)))
        if peer not in after:
            module.fail_json(msg="federation.join returned but %s is not listed as trusted" % peer, rpc_calls=client.calls)
    if module.params["verify"] and not module.check_mode:
        sync = client.call_dict("federation.sync-state", {"did": peer})
        failed = list_reply(sync.get("failed"), "federation.sync-state", client.url)
        if failed:
            module.fail_json(msg="joined, but the peer %s refused a state sync: %s (it does not trust this node)"
                             % (peer, failed[0].get("error")), rpc_calls=client.calls)
        result["verified"] = True
    result.update(changed=peer not in before, peers=after)
    if module._diff:
        result["diff"] = {"before": {"trusted_peers": before}, "after": {"trusted_peers": after}}
    return result


def main():
    spec = rpc_argument_spec()
    spec.update(code=dict(type="str", required=True, no_log=True), verify=dict(type="bool", default=True))
    module = NodeModule(argument_spec=spec, supports_check_mode=True)
    run(module, work)


if __name__ == "__main__":
    main()
