# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""What every module of the collection does around its one call: build the client, turn
RpcError into fail_json, report the RPC audit trail."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.archipelago.node.plugins.module_utils.rpc import RpcError, client_from_module


def run(module, work):
    """Call work(module, client) -> result dict, then exit; any RpcError becomes fail_json."""
    client = None
    try:
        client = client_from_module(module)
        result = work(module, client)
    except RpcError as exc:
        module.fail_json(msg=exc.message, error_kind=exc.kind,
                         rpc_calls=client.calls if client else [])
    result.setdefault("changed", False)
    result["rpc_calls"] = client.calls
    module.exit_json(**result)
