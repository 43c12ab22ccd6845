# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""Waiting for the backend's health: one implementation for the release gate, the reboot drills
and the backend role's restart handler.

`health` is the one JSON-RPC method the backend answers without a session; it is healthy when
the result's status is "ok" (and, when a version is expected, the result's version is that one).
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import time

from ansible_collections.archipelago.node.plugins.module_utils.rpc import RpcError, parse_envelope

BODY = json.dumps({"method": "health"}).encode()
HEADERS = {"Content-Type": "application/json", "X-Requested-With": "XMLHttpRequest"}


def judge(status, body, version=None):
    """(healthy, result or None, reason) for one answer of `health`."""
    try:
        result, error = parse_envelope(status, body)
    except RpcError as exc:
        return False, None, exc.message
    if error is not None:
        return False, None, "health answered an error: %s" % error.get("message")
    if status != 200:
        return False, result, "health answered HTTP %s (a healthy backend answers 200)" % status
    if not isinstance(result, dict) or result.get("status") != "ok":
        return False, result, "health answered status %r" % (result.get("status") if isinstance(result, dict) else result)
    if version and result.get("version") != version:
        return False, result, "health reports version %r, not %r" % (result.get("version"), version)
    return True, result, "healthy"


def wait_healthy(post, timeout, version=None, interval=1.0, clock=None, sleep=None):
    """Ask health with post() -> (status, body) until it is healthy or `timeout` seconds have
    passed (timeout 0: ask once). Network errors count as "not yet". Returns a dict: healthy,
    health (the last result), last (why the last answer was not healthy), attempts, waited."""
    clock, sleep = clock or time.monotonic, sleep or time.sleep
    start = clock()
    attempts = 0
    result, reason = None, "no answer"
    while True:
        attempts += 1
        try:
            status, body = post()
            healthy, result, reason = judge(status, body, version)
        except Exception as exc:  # connection refused, reset, timeout: the backend is not up yet
            healthy, reason = False, "no answer: %s" % exc
        if healthy or clock() - start >= timeout:
            return {"healthy": healthy, "health": result, "last": reason, "attempts": attempts,
                    "waited": round(clock() - start, 1)}
        sleep(max(0.0, min(interval, timeout - (clock() - start))))
