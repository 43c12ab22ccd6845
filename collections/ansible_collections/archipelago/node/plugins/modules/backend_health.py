#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backend_health
short_description: Wait until an Archipelago node's backend reports healthy
version_added: 0.1.0
description:
  - Asks the backend's JSON-RPC C(health) method (it needs no session) until its status is
    C(ok) and, when O(version) is set, it reports that version; or until O(timeout) seconds
    have passed. Connection errors count as not healthy yet.
  - One bounded wait on the node, used by the release role's health gate, the reboot drills and
    the backend role's restart handler.
  - Fails with the last answer when the backend is not healthy in time, unless
    O(fail_when_unhealthy=false).
options:
  url:
    description: The backend's RPC endpoint, as seen from the node.
    type: str
    default: http://127.0.0.1:5678/rpc/v1
  timeout:
    description:
      - Seconds to wait for health, from V(0) (ask once) to V(3600).
      - The run ends by then plus one answer's time (at most 5 s); a backend that is still sending
        its answer then is not healthy.
    type: float
    default: 60
  version:
    description: The version health must report (e.g. right after a release was installed).
    type: str
  interval:
    description: Seconds between two questions, from V(0.1) to V(60).
    type: float
    default: 1
  fail_when_unhealthy:
    description: Fail when the backend is not healthy within O(timeout); with V(false) report
      RV(healthy=false) instead.
    type: bool
    default: true
attributes:
  check_mode:
    support: full
    description: Only reads; it asks in check mode too.
  diff_mode:
    support: none
    description: Changes nothing.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: The backend is healthy again within 90 s
  archipelago.node.backend_health:
    timeout: 90

- name: The new release answers health with its version
  archipelago.node.backend_health:
    version: 1.9.1
    timeout: 60
"""

RETURN = r"""
healthy:
  description: Whether the backend answered healthy within the timeout.
  returned: always
  type: bool
health:
  description: The last result of C(health) (status, version, uptime_seconds, ...).
  returned: always
  type: dict
last:
  description: Why the last answer was not healthy, or C(healthy).
  returned: always
  type: str
  sample: "no answer: [Errno 111] Connection refused"
attempts:
  description: How many times health was asked.
  returned: always
  type: int
waited:
  description: Seconds from the first question to the last answer.
  returned: always
  type: float
"""

import math
import time

from ansible_collections.archipelago.node.plugins.module_utils.node_module import NodeModule
from ansible_collections.archipelago.node.plugins.module_utils import deadline as deadlines
from ansible_collections.archipelago.node.plugins.module_utils.health import BODY, HEADERS, wait_healthy
from ansible_collections.archipelago.node.plugins.module_utils.rpc import RpcError, Transport, check_url, mask_url_passwords

TIMEOUT_MAX = 3600
INTERVAL_MIN = 0.1   # a shorter one would only hammer a backend that is starting
INTERVAL_MAX = 60


def main():
    module = NodeModule(
        argument_spec=dict(
            url=dict(type="str", default="http://127.0.0.1:5678/rpc/v1"),
            timeout=dict(type="float", default=60),
            version=dict(type="str"),
            interval=dict(type="float", default=1),
            fail_when_unhealthy=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    p = module.params
    mask_url_passwords(module, p["url"])
    if not (math.isfinite(p["timeout"]) and 0 <= p["timeout"] <= TIMEOUT_MAX
            and math.isfinite(p["interval"]) and INTERVAL_MIN <= p["interval"] <= INTERVAL_MAX):
        module.fail_json(msg="timeout must be from 0 to %d seconds and interval from %s to %d (got %s and %s)"
                         % (TIMEOUT_MAX, INTERVAL_MIN, INTERVAL_MAX, p["timeout"], p["interval"]))
    try:
        check_url(p["url"])
    except RpcError as exc:
        module.fail_json(msg=exc.message)
    # the collection's HTTP transport (open_url, no proxy, HTTP errors as status and body); no session
    transport = Transport(timeout=max(1.0, min(5.0, p["timeout"] or 5.0)))
    # one deadline: the wait, plus one answer in flight at its end
    transport.deadline = time.monotonic() + p["timeout"] + transport.timeout

    def post():
        return transport.post(p["url"], BODY, HEADERS)

    try:
        with deadlines.hard_deadline(p["timeout"] + transport.timeout + deadlines.BACKSTOP_S):
            result = wait_healthy(post, p["timeout"], version=p["version"], interval=p["interval"])
    except deadlines.DeadlinePassed:
        module.fail_json(msg="the backend at %s accepted the connection but had not answered health %s s later"
                         % (p["url"], p["timeout"] + transport.timeout + deadlines.BACKSTOP_S), healthy=False)
    result["health"] = result["health"] or {}
    if not result["healthy"] and p["fail_when_unhealthy"]:
        want = " with version %s" % p["version"] if p["version"] else ""
        module.fail_json(msg="the backend at %s was not healthy%s within %s s (%d questions); last: %s"
                         % (p["url"], want, p["timeout"], result["attempts"], result["last"]), changed=False, **result)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
