# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""What every RPC module of the collection does around its one call: build the client, bound
the run by one deadline, turn RpcError into fail_json, report the RPC audit trail."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible_collections.archipelago.node.plugins.module_utils import deadline as deadlines
from ansible_collections.archipelago.node.plugins.module_utils.rpc import (
    RpcError, check_limits, client_from_module, mask_url_passwords)


def run(module, work):
    """Call work(module, client) -> result dict, then exit; any RpcError becomes fail_json, and
    a run still going past its deadline (timeout x (retries + 3) + 120 s) is cut and reported."""
    client = None
    p = module.params
    mask_url_passwords(module, p["url"])
    try:
        check_limits(p["timeout"], p["retries"])
        limit = deadlines.budget_for(p["timeout"], p["retries"]) + deadlines.BACKSTOP_S
        with deadlines.hard_deadline(limit):
            client = client_from_module(module)
            result = work(module, client)
    except RpcError as exc:
        module.fail_json(msg=exc.message, error_kind=exc.kind,
                         rpc_calls=client.calls if client else [])
    except deadlines.DeadlinePassed:
        module.fail_json(msg="the backend at %s did not finish answering within this run's %d s (timeout x "
                             "(retries + 3) + 120): it accepts connections but answers too slowly; check "
                             "archipelago.service and the node's load" % (p["url"], limit),
                         error_kind="unreachable", rpc_calls=client.calls if client else [])
    result.setdefault("changed", False)
    result["rpc_calls"] = client.calls
    module.exit_json(**result)
