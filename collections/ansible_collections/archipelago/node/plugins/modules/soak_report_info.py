#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: soak_report_info
short_description: The soak report of the nodes from Prometheus (uptime, trends, restarts, sync, recovery)
version_added: 0.2.0
description:
  - Asks the Prometheus of a monitoring host (role archipelago.node.monitoring) for a window of
    the nodes' series and sums them up per node (MEM-05, SOAK-01..04) - the share of the window
    each node was up, each container's memory trend, each filesystem's use trend, restarts of
    units and containers, OOM kills, the share of samples in which each federation peer was seen
    within O(federation_max_age), and how long each node took from a boot to a healthy backend.
  - Every reply is checked before use (JSON, a range of series, at most 2000 series of 20000
    samples); all queries share one deadline, O(timeout).
  - Reads only; check mode runs it the same.
options:
  url:
    description: Prometheus' base URL, as the module sees it on the host it runs on.
    type: str
    default: http://127.0.0.1:9090
  window:
    description: How far back the report looks, a duration such as V(30m), V(24h), V(7d), V(30d).
    type: str
    default: 7d
  end:
    description: The end of the window (seconds since the epoch); now when unset.
    type: float
  step:
    description: Seconds between the samples asked for; about 300 samples over the window when unset.
    type: int
  disk_selector:
    description: The PromQL label selector of the filesystems whose use is reported.
    type: str
    default: fstype!~"tmpfs|ramfs|squashfs|overlay"
  federation_max_age:
    description: A peer seen within this many seconds counts as synced (SOAK-02).
    type: int
    default: 3600
  chart_points:
    description: Points per series in RV(charts).
    type: int
    default: 120
  timeout:
    description: Seconds all the queries may take together.
    type: float
    default: 60
attributes:
  check_mode:
    support: full
    description: Only reads.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: The last 7 days of the fleet
  archipelago.node.soak_report_info:
    window: 7d
  register: soak

- name: Print it
  ansible.builtin.debug:
    msg: "{{ soak.table }}"
"""

RETURN = r"""
report:
  description: Per node (Prometheus instance) the figures of the window.
  returned: success
  type: dict
  contains:
    window:
      description: start, end and step (seconds).
      type: dict
    nodes:
      description: "Per node: uptime_percent, memory and disk (per container or mountpoint: first,
        last, min, max, samples, per_hour, ratio), unit_restarts, container_restarts, oom_kills,
        federation_sync_success_percent (per peer), reboot_recovery_seconds (per boot; null = never)."
      type: dict
charts:
  description: Per node the memory and disk series thinned to O(chart_points) points ([t, value]).
  returned: success
  type: dict
table:
  description: The report as text.
  returned: success
  type: str
"""

import math
import time
from urllib.parse import urlencode

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.urls import open_url
from ansible_collections.archipelago.node.plugins.module_utils import deadline as deadlines
from ansible_collections.archipelago.node.plugins.module_utils.soak import (
    SoakError, build_report, parse_matrix, queries, seconds, step_for, table)

MAX_REPLY = 64 << 20


def fetch(url, query, start, end, step, deadline):
    """The text of one query_range reply, bounded in size and by the run's deadline."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise SoakError("the time for this run (timeout) was up before the query %s" % query)
    full = "%s/api/v1/query_range?%s" % (url.rstrip("/"), urlencode(
        {"query": query, "start": "%.3f" % start, "end": "%.3f" % end, "step": str(step)}))
    try:
        resp = open_url(full, timeout=min(left, 30), validate_certs=True, use_proxy=False)
        chunks, size = [], 0
        while True:
            if time.monotonic() > deadline:
                raise SoakError("Prometheus' reply to %s was still arriving when the time for this run was up" % query)
            piece = resp.read(65536)
            if not piece:
                break
            size += len(piece)
            if size > MAX_REPLY:
                raise SoakError("Prometheus' reply to %s is larger than %d bytes" % (query, MAX_REPLY))
            chunks.append(piece)
    except SoakError:
        raise
    except Exception as exc:  # urllib's and the socket's errors, HTTP errors with Prometheus' body
        body = getattr(exc, "read", None)
        detail = ""
        if body:
            try:
                detail = ": " + body().decode("utf-8", "replace")[:200]
            except Exception:  # noqa: BLE001 - the body of an error reply is a courtesy
                pass
        raise SoakError("cannot ask Prometheus at %s (%s)%s" % (url, getattr(exc, "reason", exc), detail))
    return b"".join(chunks).decode("utf-8", "replace")


def main():
    module = AnsibleModule(
        argument_spec=dict(
            url=dict(type="str", default="http://127.0.0.1:9090"),
            window=dict(type="str", default="7d"),
            end=dict(type="float"),
            step=dict(type="int"),
            disk_selector=dict(type="str", default='fstype!~"tmpfs|ramfs|squashfs|overlay"'),
            federation_max_age=dict(type="int", default=3600),
            chart_points=dict(type="int", default=120),
            timeout=dict(type="float", default=60),
        ),
        supports_check_mode=True,
    )
    p = module.params
    try:
        window = seconds(p["window"])
    except SoakError as exc:
        module.fail_json(msg="window: %s" % exc)
    if not p["url"].startswith(("http://", "https://")):
        module.fail_json(msg="url must be an http(s) URL of Prometheus (got %s)" % p["url"])
    if not (math.isfinite(p["timeout"]) and 1 <= p["timeout"] <= 3600):
        module.fail_json(msg="timeout must be 1 to 3600 seconds (got %s)" % p["timeout"])
    if p["step"] is not None and not 1 <= p["step"] <= window:
        module.fail_json(msg="step must be 1 second to the window's %d (got %s)" % (window, p["step"]))
    if not 2 <= p["chart_points"] <= 5000 or p["federation_max_age"] <= 0:
        module.fail_json(msg="chart_points must be 2 to 5000 and federation_max_age above 0")
    if any(c in p["disk_selector"] for c in "{}\n"):
        module.fail_json(msg="disk_selector is the inside of a label selector, without braces")
    end = p["end"] if p["end"] is not None else time.time()
    if not math.isfinite(end) or end <= window:
        module.fail_json(msg="end must be a time in seconds since the epoch (got %s)" % end)
    start, step = end - window, p["step"] or step_for(window)
    if window / step > 11000:
        module.fail_json(msg="window / step is %d samples; Prometheus answers at most 11000 per series" % (window / step))
    deadline = time.monotonic() + p["timeout"]
    data = {}
    try:
        with deadlines.hard_deadline(p["timeout"] + deadlines.BACKSTOP_S):
            for name, query in queries(p["disk_selector"]).items():
                data[name] = parse_matrix(fetch(p["url"], query, start, end, step, deadline), name)
    except SoakError as exc:
        module.fail_json(msg=str(exc))
    except deadlines.DeadlinePassed:
        module.fail_json(msg="Prometheus at %s had not answered within %s s" % (p["url"], p["timeout"]))
    report, charts = build_report(data, start, end, step, p["federation_max_age"], p["chart_points"])
    module.exit_json(changed=False, report=report, charts=charts, table=table(report))


if __name__ == "__main__":
    main()
