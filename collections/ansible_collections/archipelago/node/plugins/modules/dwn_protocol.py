#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: dwn_protocol
short_description: Register DWN protocol definitions on an Archipelago node
version_added: 0.2.0
description:
  - Registers DWN protocol definitions in the node's DWN through the backend
    (C(dwn.register-protocol)), after reading what it holds (C(dwn.list-protocols)); a protocol
    already registered with the same definition is left alone (SCHEMA-02).
  - By default the four Archipelago protocols of SCHEMA-01 (node identity announcements, file
    sharing catalogs, federation state, app deployment requests; C(docs/dwn-protocols.md) in the
    collection), which a DWN implementation not written here accepts.
extends_documentation_fragment:
  - archipelago.node.rpc
options:
  definitions:
    description:
      - Protocol definitions in the DWN format (C(protocol), C(published), C(types),
        C(structure)). Default the Archipelago ones.
    type: list
    elements: dict
  extra_definitions:
    description: Definitions registered besides O(definitions) (for example an operator's own protocols).
    type: list
    elements: dict
    default: []
attributes:
  check_mode:
    support: full
    description: Reads the node's protocols and reports what it would register; registers nothing.
  diff_mode:
    support: full
    description: The definitions registered before and after, as JSON.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: The Archipelago protocols are registered (SCHEMA-02)
  archipelago.node.dwn_protocol:
    password_file: /etc/archipelago/admin-password
"""

RETURN = r"""
registered:
  description: The protocols registered by this run (in check mode, that it would register), with the reason.
  returned: success
  type: list
  elements: dict
kept:
  description: The protocols already registered with the wanted definition.
  returned: success
  type: list
  elements: str
protocols:
  description: Every protocol URI the node lists afterwards.
  returned: success
  type: list
  elements: str
rpc_calls:
  description: The RPC methods called and their HTTP status.
  returned: always
  type: list
  elements: dict
"""

import json

from ansible_collections.archipelago.node.plugins.module_utils.node_module import NodeModule
from ansible_collections.archipelago.node.plugins.module_utils.common import run
from ansible_collections.archipelago.node.plugins.module_utils import dwn_protocols as dp
from ansible_collections.archipelago.node.plugins.module_utils.rpc import RpcError, rpc_argument_spec


def as_text(entries):
    return "".join("%s\n" % json.dumps(e, indent=2, sort_keys=True) for e in sorted(entries, key=dp.canonical))


def work(module, client):
    p = module.params
    wanted = (dp.definitions() if p["definitions"] is None else p["definitions"]) + p["extra_definitions"]
    for definition in wanted:
        problem = dp.check_definition(definition)
        if problem:
            module.fail_json(msg="dwn_protocol: %s; nothing was registered" % problem)
    uris = [d["protocol"] for d in wanted]
    if len(set(uris)) != len(uris):
        twice = sorted(u for u in set(uris) if uris.count(u) > 1)
        module.fail_json(msg="dwn_protocol: a protocol is defined twice: %s" % twice)
    registered = client.call_list("dwn.list-protocols", keys=("protocol",))
    todo, kept = dp.plan(wanted, registered)
    before = dict((e["protocol"], e.get("definition")) for e in registered)
    if not module.check_mode:
        for definition, _reason in todo:
            answer = client.call_dict("dwn.register-protocol", {"definition": definition}, keys=("protocol",))
            if answer.get("protocol") != definition["protocol"]:
                raise RpcError("dwn.register-protocol answered for %.100r, not for %s"
                               % (answer.get("protocol"), definition["protocol"]), kind="protocol")
        if todo:
            registered = client.call_list("dwn.list-protocols", keys=("protocol",))
            missing = [d["protocol"] for d, dummy in todo if not dp.plan([d], registered)[1]]
            if missing:
                raise RpcError("the node does not list %s with the definition registered" % ", ".join(missing),
                               kind="protocol")
    result = {"changed": bool(todo), "registered": [{"protocol": d["protocol"], "reason": r} for d, r in todo],
              "kept": kept, "protocols": sorted(set([e["protocol"] for e in registered]
                                                    + ([d["protocol"] for d, dummy in todo] if module.check_mode else [])))}
    if module._diff:
        after = dict(before, **dict((d["protocol"], d) for d, dummy in todo))
        result["diff"] = {"before_header": "dwn.list-protocols", "after_header": "dwn.list-protocols (wanted)",
                          "before": as_text([v for v in before.values() if isinstance(v, dict)]),
                          "after": as_text([v for v in after.values() if isinstance(v, dict)])}
    return result


def main():
    spec = rpc_argument_spec()
    spec.update(definitions=dict(type="list", elements="dict"),
                extra_definitions=dict(type="list", elements="dict", default=[]))
    module = NodeModule(argument_spec=spec, supports_check_mode=True)
    run(module, work)


if __name__ == "__main__":
    main()
