#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: federation_invite
short_description: Create a single-use federation invite on an Archipelago node
version_added: 0.1.0
description:
  - Calls C(federation.invite) on the inviting node and returns the invite code for
    M(archipelago.node.federation_join) on the other node.
  - Each run creates a new invite (invites are single-use), so it always reports a change.
  - The code is a secret until used; set C(no_log=true) on the task that registers it.
extends_documentation_fragment:
  - archipelago.node.rpc
options:
  expires_in:
    description: Seconds the invite stays valid.
    type: int
    default: 3600
  trust_level:
    description: The trust the inviting node gives the node that joins with the code.
    type: str
    choices: [trusted, observer, untrusted]
    default: trusted
attributes:
  check_mode:
    support: full
    description: Reports that an invite would be created and returns no code.
  diff_mode:
    support: none
    description: Nothing to compare; an invite is always new.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: Invite arch2 from arch1
  archipelago.node.federation_invite:
    password_file: /etc/archipelago/admin-password
    expires_in: 600
  register: invite
  no_log: true
"""

RETURN = r"""
code:
  description: The invite code (a secret until used). Absent in check mode.
  returned: success and not check mode
  type: str
invite_id:
  description: The invite's id (not secret).
  returned: success and not check mode
  type: str
expires_at:
  description: Unix time the invite expires.
  returned: success and not check mode
  type: int
inviter_did:
  description: The inviting node's DID.
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
from ansible_collections.archipelago.node.plugins.module_utils.rpc import rpc_argument_spec


def work(module, client):
    p = module.params
    if p["expires_in"] < 1:
        module.fail_json(msg="expires_in must be at least 1 second, got %d" % p["expires_in"])
    did = client.call_dict("node.did").get("did")
    if module.check_mode:
        return {"changed": True, "inviter_did": did}
    res = client.call_dict("federation.invite", {"expires_in": p["expires_in"], "trust_level": p["trust_level"]},
                           keys=("code",))
    return {"changed": True, "code": res["code"], "invite_id": res.get("invite_id"),
            "expires_at": res.get("expires_at"), "inviter_did": did}


def main():
    spec = rpc_argument_spec()
    spec.update(expires_in=dict(type="int", default=3600),
                trust_level=dict(type="str", default="trusted", choices=["trusted", "observer", "untrusted"]))
    module = NodeModule(argument_spec=spec, supports_check_mode=True)
    run(module, work)


if __name__ == "__main__":
    main()
