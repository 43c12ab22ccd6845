#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: federation_sync
short_description: Sync an Archipelago node's state with its trusted peers now
version_added: 0.1.0
description:
  - Calls C(federation.sync-state) on the node's backend, which fetches each trusted peer's
    state snapshot over the federation protocol (the backend does this about every 5 minutes
    on its own). Used after reboots and upgrades to prove that federation works again
    (REBOOT-04, US-04).
  - Fails when a peer does not answer, unless O(allow_failed=true).
  - Changes no configuration; the peers' last_seen and last state are refreshed on the node.
extends_documentation_fragment:
  - archipelago.node.rpc
options:
  did:
    description: Sync with this peer only (default every trusted peer).
    type: str
  allow_failed:
    description: Report peers that did not answer instead of failing.
    type: bool
    default: false
attributes:
  check_mode:
    support: full
    description: Lists the trusted peers it would sync with; contacts none.
  diff_mode:
    support: none
    description: No configuration changes.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: Every trusted peer answers a state sync
  archipelago.node.federation_sync:
    password_file: /etc/archipelago/admin-password
  register: sync
"""

RETURN = r"""
synced:
  description: Peers that answered (DID, name, number of apps in their snapshot).
  returned: success
  type: list
  elements: dict
not_answered:
  description: Peers that did not answer, with the reason.
  returned: success
  type: list
  elements: dict
peers:
  description: The trusted peers' DIDs (in check mode, those it would sync with).
  returned: success
  type: list
  elements: str
rpc_calls:
  description: The RPC methods called and their HTTP status.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.archipelago.node.plugins.module_utils.node_module import NodeModule
from ansible_collections.archipelago.node.plugins.module_utils.common import run
from ansible_collections.archipelago.node.plugins.module_utils.rpc import list_reply, rpc_argument_spec


def work(module, client):
    wanted = module.params["did"]
    peers = sorted(n["did"] for n in client.call_list("federation.list-nodes", keys=("did",), numbers=("last_seen",))
                   if n.get("trust_level") == "trusted" and (not wanted or n["did"] == wanted))
    if wanted and wanted not in peers:
        module.fail_json(msg="federation_sync: %s is not a trusted peer of this node" % wanted, rpc_calls=client.calls)
    if module.check_mode:
        return {"peers": peers, "synced": [], "not_answered": []}
    answer = client.call_dict("federation.sync-state", {"did": wanted} if wanted else {})
    answered = list_reply(answer.get("synced"), "federation.sync-state", client.url)
    refused = list_reply(answer.get("failed"), "federation.sync-state", client.url)
    synced = [{"did": s.get("did"), "name": s.get("name"), "apps": s.get("apps")} for s in answered]
    failed = [{"did": f.get("did"), "name": f.get("name"), "error": f.get("error")} for f in refused]
    if failed and not module.params["allow_failed"]:
        module.fail_json(msg="federation_sync: %d of %d peers did not answer: %s" % (
            len(failed), len(peers), "; ".join("%s (%s): %s" % (f["name"], f["did"], f["error"]) for f in failed)),
            synced=synced, not_answered=failed, rpc_calls=client.calls)
    return {"peers": peers, "synced": synced, "not_answered": failed}


def main():
    spec = rpc_argument_spec()
    spec.update(did=dict(type="str"), allow_failed=dict(type="bool", default=False))
    module = NodeModule(argument_spec=spec, supports_check_mode=True)
    run(module, work)


if __name__ == "__main__":
    main()
