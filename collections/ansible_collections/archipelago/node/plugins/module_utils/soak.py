# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""The soak report (MEM-05, SOAK-01..04) from Prometheus: plain functions over the series of
query_range replies, each reply validated before use, and the queries they need.

A series is (labels, [(t, value)]) with t in seconds since the epoch; a missing sample is simply
absent (Prometheus leaves gaps), which is why uptime counts the samples a node *should* have had.
"""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import math
import re

MAX_SERIES = 2000
MAX_POINTS = 20000
DURATION_RE = re.compile(r"^([0-9]+)(s|m|h|d|w)$")
UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


class SoakError(Exception):
    """A reply or an argument that cannot be used; the message says which and why."""


def seconds(duration):
    """Seconds of a Prometheus duration such as 90s, 30m, 7d; SoakError otherwise."""
    m = DURATION_RE.match(str(duration))
    if not m or int(m.group(1)) <= 0:
        raise SoakError("%r is not a duration such as 90s, 30m, 24h or 7d" % (duration,))
    return int(m.group(1)) * UNITS[m.group(2)]


def step_for(window_s, points=300, floor=1):
    """A query step giving about `points` samples over the window (whole seconds, at least floor)."""
    return max(int(floor), int(math.ceil(window_s / float(points))))


def parse_matrix(text, what):
    """[(labels, [(t, v)])] of a query_range reply; SoakError naming `what` if it is not one."""
    try:
        reply = json.loads(text)
    except ValueError:
        raise SoakError("Prometheus' reply to %s is not JSON" % what)
    if not isinstance(reply, dict) or reply.get("status") != "success":
        err = reply.get("error") if isinstance(reply, dict) else None
        raise SoakError("Prometheus refused %s: %s" % (what, str(err or reply)[:200]))
    data = reply.get("data")
    if not isinstance(data, dict) or data.get("resultType") != "matrix" or not isinstance(data.get("result"), list):
        raise SoakError("Prometheus' reply to %s is not a range of series" % what)
    if len(data["result"]) > MAX_SERIES:
        raise SoakError("%s returned more than %d series" % (what, MAX_SERIES))
    out = []
    for item in data["result"]:
        if not isinstance(item, dict) or not isinstance(item.get("metric"), dict) or not isinstance(item.get("values"), list):
            raise SoakError("Prometheus' reply to %s holds a malformed series" % what)
        if len(item["values"]) > MAX_POINTS:
            raise SoakError("%s returned more than %d samples in one series" % (what, MAX_POINTS))
        labels = dict((str(k), str(v)) for k, v in item["metric"].items())
        points = []
        for pair in item["values"]:
            try:
                t, v = float(pair[0]), float(pair[1])
            except (TypeError, ValueError, IndexError):
                raise SoakError("Prometheus' reply to %s holds a malformed sample" % what)
            if math.isfinite(t) and math.isfinite(v):
                points.append((t, v))
        out.append((labels, sorted(points)))
    return out


def by(series, *keys):
    """{(label values of keys): points} (series with the same keys are merged by time)."""
    out = {}
    for labels, points in series:
        key = tuple(labels.get(k, "") for k in keys)
        out.setdefault(key, []).extend(points)
    return dict((k, sorted(v)) for k, v in out.items())


def uptime_percent(points, start, end, step):
    """Share of the window the target was scraped up: samples of up == 1 over the samples the
    window should hold (a node that was not scraped at all was not up)."""
    expected = int((end - start) // step) + 1
    up = sum(1 for dummy, v in points if v >= 1)
    return round(100.0 * min(up, expected) / expected, 2) if expected > 0 else 0.0


def trend(points):
    """{first, last, min, max, per_hour (least-squares slope), ratio (last/first)} of a gauge."""
    if not points:
        return None
    ts, vs = [p[0] for p in points], [p[1] for p in points]
    n, mt, mv = len(points), sum(ts) / len(ts), sum(vs) / len(vs)
    var = sum((t - mt) ** 2 for t in ts)
    slope = sum((t - mt) * (v - mv) for t, v in points) / var if var > 0 else 0.0
    return {"first": vs[0], "last": vs[-1], "min": min(vs), "max": max(vs), "samples": n,
            "per_hour": round(slope * 3600, 3), "ratio": round(vs[-1] / vs[0], 4) if vs[0] else None}


def increase(points, start=None, step=None):
    """How much a counter rose over the points, resets counted as a fresh start. A series that
    first appears inside the window (after start + 2 steps) started from 0 there: a container's
    first OOM kill may be the first sample of its counter."""
    total = 0.0
    if points and start is not None and step and points[0][0] > start + 2 * step:
        total += points[0][1]
    for (dummy, a), (dummy2, b) in zip(points, points[1:]):
        total += b - a if b >= a else b
    return total


def success_rate(points, max_age):
    """Share (%) of the samples of a peer's last-seen age within max_age; None without samples."""
    if not points:
        return None
    return round(100.0 * sum(1 for dummy, v in points if v <= max_age) / len(points), 2)


def recovery_times(boot_points, up_points):
    """Seconds from each boot inside the window (node_boot_time_seconds changing) to the first
    sample after it with the backend up; None for a boot it never recovered from."""
    boots, last = [], None
    for dummy, v in boot_points:
        if last is not None and v > last + 1:
            boots.append(v)
        last = v
    out = []
    for boot in boots:
        ups = [t for t, v in up_points if t >= boot and v >= 1]
        out.append(round(min(ups) - boot, 1) if ups else None)
    return out


# The report's queries: name -> PromQL (disk_selector filled in), each a query_range.
def queries(disk_selector):
    sel = "{%s}" % disk_selector if disk_selector else ""
    return {
        "up": 'up{job="node"}',
        "memory": "archy_container_memory_bytes",
        "disk": "node_filesystem_size_bytes%s - node_filesystem_avail_bytes%s" % (sel, sel),
        "unit_restarts": 'node_systemd_service_restart_total',
        "container_restarts": "archy_container_restarts",
        "oom_kills": "archy_container_oom_kills_total",
        "peer_age": "archy_federation_peer_last_seen_age_seconds",
        # PID 1's start (archy-node-metrics): a boot on real nodes and on the lab's container nodes.
        "boot": "archy_node_boot_time_seconds",
        "backend": "archy_backend_up",
    }


def build_report(data, start, end, step, max_age, chart_points=120):
    """The report from the parsed series of each query (`data`: name -> series): per node
    (instance), and the trends' points thinned to `chart_points` for charts."""
    nodes = sorted(set(k[0] for k in by(data.get("up", []), "instance")) | set(
        labels.get("instance", "") for series in data.values() for labels, dummy in series) - {""})
    up, mem = by(data.get("up", []), "instance"), by(data.get("memory", []), "instance", "name")
    disk = by(data.get("disk", []), "instance", "mountpoint")
    units, ctrs = by(data.get("unit_restarts", []), "instance", "name"), by(data.get("container_restarts", []), "instance", "name")
    ooms, ages = by(data.get("oom_kills", []), "instance", "name"), by(data.get("peer_age", []), "instance", "peer")
    boot, backend = by(data.get("boot", []), "instance"), by(data.get("backend", []), "instance")
    report = {"window": {"start": start, "end": end, "step": step}, "nodes": {}}
    charts = {}
    for node in nodes:
        def of(table):
            return dict((k[1], v) for k, v in table.items() if k[0] == node)
        rates = dict((peer, success_rate(p, max_age)) for peer, p in of(ages).items())
        report["nodes"][node] = {
            "uptime_percent": uptime_percent(up.get((node,), []), start, end, step),
            "memory": dict((name, trend(p)) for name, p in sorted(of(mem).items())),
            "disk": dict((mp, trend(p)) for mp, p in sorted(of(disk).items())),
            "unit_restarts": counted(of(units), start, step),
            "container_restarts": counted(of(ctrs), start, step),
            "oom_kills": counted(of(ooms), start, step),
            "federation_sync_success_percent": rates,
            "reboot_recovery_seconds": recovery_times(boot.get((node,), []), backend.get((node,), [])),
        }
        charts[node] = {"memory": dict((n, thin(p, chart_points)) for n, p in sorted(of(mem).items())),
                        "disk": dict((mp, thin(p, chart_points)) for mp, p in sorted(of(disk).items()))}
    return report, charts


def counted(table, start, step):
    """{name: increase} of the counters that rose."""
    out = dict((name, int(increase(p, start, step))) for name, p in sorted(table.items()))
    return dict((k, v) for k, v in out.items() if v)


def thin(points, n):
    """At most n points, evenly picked (first and last kept)."""
    if len(points) <= n:
        return [list(p) for p in points]
    idx = sorted(set(int(round(i * (len(points) - 1) / float(n - 1))) for i in range(n)))
    return [list(points[i]) for i in idx]


def human_bytes(value):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return ("%.0f %s" if unit == "B" else "%.1f %s") % (value, unit)
        value /= 1024.0


def table(report):
    """The report as text a person reads: one block per node."""
    w = report["window"]
    lines = ["Soak report, %d s window (step %d s)" % (w["end"] - w["start"], w["step"]), ""]
    for node, r in sorted(report["nodes"].items()):
        lines.append("== %s: up %.2f %%" % (node, r["uptime_percent"]))
        rec = r["reboot_recovery_seconds"]
        lines.append("   reboots: %d%s" % (len(rec), (", recovered in " + ", ".join(
            "never" if s is None else "%.0f s" % s for s in rec)) if rec else ""))
        rates = r["federation_sync_success_percent"]
        lines.append("   federation sync: %s" % (", ".join("%s %s %%" % (p[:24], v) for p, v in sorted(rates.items()))
                                                 if rates else "no peers"))
        for title, key in (("restarts (units)", "unit_restarts"), ("restarts (containers)", "container_restarts"),
                           ("OOM kills", "oom_kills")):
            lines.append("   %s: %s" % (title, ", ".join("%s %d" % kv for kv in sorted(r[key].items())) or "none"))
        lines.append("   %-28s %12s %12s %12s %12s" % ("memory", "first", "last", "max", "per hour"))
        for name, t in sorted(r["memory"].items()):
            if t:
                lines.append("   %-28s %12s %12s %12s %12s" % (name[:28], human_bytes(t["first"]), human_bytes(t["last"]),
                                                               human_bytes(t["max"]), human_bytes(t["per_hour"])))
        for mp, t in sorted(r["disk"].items()):
            if t:
                lines.append("   disk %-23s %12s %12s %12s %12s" % (mp[:23], human_bytes(t["first"]), human_bytes(t["last"]),
                                                                    human_bytes(t["max"]), human_bytes(t["per_hour"])))
        lines.append("")
    return "\n".join(lines)
