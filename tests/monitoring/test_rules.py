"""The monitoring role's alert rules with its default thresholds: `promtool check rules` and
`promtool test rules` on the lab's monitoring host (Debian's promtool), a case that fires and one
that must not for every rule. The cases are data here; their expected summaries come from the
rendered rules with the case's labels filled in, as Prometheus fills them."""
import base64
import re

import pytest
import yaml

from labhosts import lab_hostvars, ssh_host
from rules import render_rules

GIB, MIB = 1 << 30, 1 << 20
I1 = {"instance": "arch1"}
FS = {"instance": "arch1", "device": "/dev/sda1", "fstype": "ext4", "mountpoint": "/"}
TMPFS = {"instance": "arch1", "device": "tmpfs", "fstype": "tmpfs", "mountpoint": "/dev/shm"}


def s(name, labels, values):
    return {"series": name + "{" + ",".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}",
            "values": values}


def flat(value, n):
    return f"{value}+0x{n}"


# (alert, interval, input series, [(eval_time, [labels of each expected alert])])
CASES = [
    ("ArchyContainerOomKilled", "1m",
     [s("archy_container_last_oom_kill_timestamp_seconds", {**I1, "name": "electrs"}, flat(300, 40))],
     [("10m", [{**I1, "name": "electrs"}]), ("30m", [])]),
    ("ArchyContainerMemoryGrowing", "10m",
     [s("archy_container_memory_bytes", {**I1, "name": "electrs"}, f"{flat(100 * MIB, 150)} {flat(200 * MIB, 12)}"),
      s("archy_container_memory_bytes", {**I1, "name": "lnd"}, f"{flat(100 * MIB, 150)} {flat(140 * MIB, 12)}"),
      s("archy_container_memory_bytes", {**I1, "name": "tor"}, f"{flat(10 * MIB, 150)} {flat(30 * MIB, 12)}")],
     [("26h", [{**I1, "name": "electrs"}]), ("20h", [])]),
    ("ArchyDiskGrowing", "1h",
     [s("node_filesystem_size_bytes", FS, flat(100 * GIB, 31)),
      s("node_filesystem_avail_bytes", FS, f"{flat(50 * GIB, 24)} {flat(48 * GIB, 6)}"),
      s("node_filesystem_size_bytes", {**FS, "instance": "arch2"}, flat(100 * GIB, 31)),
      s("node_filesystem_avail_bytes", {**FS, "instance": "arch2"}, f"{flat(50 * GIB, 24)} {flat(49.5 * GIB, 6)}")],
     [("30h", [FS]), ("20h", [])]),
    ("ArchyDiskAbove80Percent", "1m",
     [s("node_filesystem_size_bytes", FS, flat(100 * GIB, 10)), s("node_filesystem_avail_bytes", FS, flat(12 * GIB, 10)),
      s("node_filesystem_size_bytes", TMPFS, flat(GIB, 10)), s("node_filesystem_avail_bytes", TMPFS, flat(MIB, 10))],
     [("5m", [FS]), ("1m", [])]),
    ("ArchyDiskAbove85Percent", "1m",
     [s("node_filesystem_size_bytes", FS, flat(100 * GIB, 10)), s("node_filesystem_avail_bytes", FS, flat(12 * GIB, 10)),
      s("node_filesystem_size_bytes", {**FS, "mountpoint": "/srv"}, flat(100 * GIB, 10)),
      s("node_filesystem_avail_bytes", {**FS, "mountpoint": "/srv"}, flat(16 * GIB, 10))],
     [("5m", [FS])]),
    ("ArchyDiskAbove90Percent", "1m",
     [s("node_filesystem_size_bytes", FS, flat(100 * GIB, 10)), s("node_filesystem_avail_bytes", FS, flat(12 * GIB, 10)),
      s("node_filesystem_size_bytes", {**FS, "mountpoint": "/srv"}, flat(100 * GIB, 10)),
      s("node_filesystem_avail_bytes", {**FS, "mountpoint": "/srv"}, flat(5 * GIB, 10)),
      s("node_filesystem_size_bytes", TMPFS, flat(GIB, 10)), s("node_filesystem_avail_bytes", TMPFS, flat(MIB, 10))],
     [("5m", [{**FS, "mountpoint": "/srv"}]), ("1m", [])]),
    ("ArchyContainersMemoryHigh", "1m",
     [s("node_memory_MemTotal_bytes", I1, flat(16 * GIB, 10)),
      s("archy_container_memory_bytes", {**I1, "name": "a"}, flat(7 * GIB, 10)),
      s("archy_container_memory_bytes", {**I1, "name": "b"}, flat(6 * GIB, 10)),
      s("node_memory_MemTotal_bytes", {"instance": "arch2"}, flat(16 * GIB, 10)),
      s("archy_container_memory_bytes", {"instance": "arch2", "name": "a"}, flat(12 * GIB, 10))],
     [("5m", [I1])]),
    ("ArchyLoadHigh", "1m",
     [s("node_cpu_seconds_total", {**I1, "cpu": "0", "mode": "idle"}, "0+60x20"),
      s("node_cpu_seconds_total", {**I1, "cpu": "1", "mode": "idle"}, "0+60x20"),
      s("node_load5", I1, flat(5, 20)), s("node_load5", {"instance": "arch2"}, flat(3.9, 20)),
      s("node_cpu_seconds_total", {"instance": "arch2", "cpu": "0", "mode": "idle"}, "0+60x20"),
      s("node_cpu_seconds_total", {"instance": "arch2", "cpu": "1", "mode": "idle"}, "0+60x20")],
     [("10m", [I1]), ("3m", [])]),
    ("ArchyUnitFailed", "1m",
     [s("node_systemd_unit_state", {**I1, "name": "archy-app-lnd.service", "state": "failed"}, flat(1, 5)),
      s("node_systemd_unit_state", {**I1, "name": "nginx.service", "state": "failed"}, flat(0, 5)),
      s("node_systemd_unit_state", {**I1, "name": "nginx.service", "state": "active"}, flat(1, 5))],
     [("2m", [{**I1, "name": "archy-app-lnd.service", "state": "failed"}])]),
    ("ArchyContainerUnhealthy", "1m",
     [s("archy_container_healthy", {**I1, "name": "mempool-api"}, flat(0, 10)),
      s("archy_container_healthy", {**I1, "name": "electrs"}, flat(-1, 10)),
      s("archy_container_healthy", {**I1, "name": "lnd"}, flat(1, 10))],
     [("5m", [{**I1, "name": "mempool-api"}]), ("1m", [])]),
    ("ArchyBackendDown", "1m",
     [s("archy_backend_up", I1, flat(0, 10)), s("archy_backend_up", {"instance": "arch2"}, flat(1, 10))],
     [("5m", [I1]), ("1m", [])]),
    ("ArchyFederationStale", "1m",
     [s("archy_federation_peer_last_seen_age_seconds", {**I1, "peer": "did:dht:a"}, flat(4000, 10)),
      s("archy_federation_peer_last_seen_age_seconds", {**I1, "peer": "did:dht:b"}, flat(100, 10))],
     [("5m", [{**I1, "peer": "did:dht:a"}])]),
    ("ArchyFederationUnknown", "1m",
     [s("archy_metrics_source_ok", {**I1, "source": "federation"}, flat(0, 10)),
      s("archy_federation_peers_unknown_age", {"instance": "arch2"}, flat(1, 10)),
      s("archy_metrics_source_ok", {"instance": "arch3", "source": "federation"}, flat(1, 10)),
      s("archy_federation_peers_unknown_age", {"instance": "arch3"}, flat(0, 10))],
     [("5m", [{**I1, "source": "federation"}, {"instance": "arch2"}])]),
    ("ArchyTorNotBootstrapped", "1m",
     [s("archy_tor_bootstrap_percent", I1, flat(50, 20)), s("archy_tor_bootstrap_percent", {"instance": "arch2"}, flat(100, 20))],
     [("15m", [I1]), ("5m", [])]),
    ("ArchyNoSwap", "1m",
     [s("node_memory_SwapTotal_bytes", I1, flat(0, 10)), s("node_memory_SwapTotal_bytes", {"instance": "arch2"}, flat(GIB, 10))],
     [("5m", [I1])]),
    ("ArchyExporterDown", "1m",
     [s("up", {"instance": "arch1", "job": "node"}, flat(0, 10)), s("up", {"instance": "arch2", "job": "node"}, flat(1, 10))],
     [("5m", [{"instance": "arch1", "job": "node"}]), ("1m", [])]),
    ("ArchyMetricsStale", "1m",
     [s("archy_metrics_last_run_timestamp_seconds", I1, flat(0, 20)),
      s("archy_metrics_last_run_timestamp_seconds", {"instance": "arch2"}, "0+60x20"),
      s("up", {"instance": "arch3", "job": "node"}, flat(1, 20)), s("up", {"instance": "arch2", "job": "node"}, flat(1, 20))],
     [("10m", [I1, {"instance": "arch3", "job": "node"}]), ("4m", [{"instance": "arch3", "job": "node"}])]),
    ("ArchyMetricsSourceFailing", "1m",
     [s("archy_metrics_source_ok", {**I1, "source": "containers"}, flat(0, 10)),
      s("archy_metrics_source_ok", {**I1, "source": "tor"}, flat(0, 10)),
      s("archy_metrics_source_ok", {**I1, "source": "backend"}, flat(1, 10))],
     [("5m", [{**I1, "source": "containers"}]), ("1m", [])]),
    ("ArchyPullNotApplied", "5m",
     [s("archipelago_pull_result", {**I1, "result": "kept"}, flat(1, 40)),
      s("archipelago_pull_result", {**I1, "result": "applied"}, flat(0, 40)),
      s("archipelago_pull_result", {"instance": "arch2", "result": "kept"}, flat(0, 40)),
      s("archipelago_pull_result", {"instance": "arch2", "result": "applied"}, flat(1, 40))],
     [("150m", [{**I1, "result": "kept"}]), ("60m", [])]),
]


def fill(summary, labels):
    return re.sub(r"\{\{ \$labels\.(\w+) \}\}", lambda m: labels.get(m.group(1), ""), summary)


def promtool_tests(rules_text, cases=CASES):
    rules = {r["alert"]: r for r in yaml.safe_load(rules_text)["groups"][0]["rules"]}
    tests = []
    for alert, interval, series, evals in cases:
        rule = rules[alert]
        tests.append({"interval": interval, "input_series": series, "alert_rule_test": [
            {"eval_time": at, "alertname": alert, "exp_alerts": [
                {"exp_labels": {**labels, **rule["labels"]},
                 "exp_annotations": {k: fill(v, labels) for k, v in rule["annotations"].items()}}
                for labels in fired]} for at, fired in evals]})
    return yaml.safe_dump({"rule_files": ["archipelago.rules.yml"], "evaluation_interval": "1m", "tests": tests},
                          sort_keys=False, width=1000)


@pytest.fixture(scope="module")
def monitor():
    return ssh_host(lab_hostvars("archmon"))


def promtool(monitor, files, *args):
    d = monitor.check_output("mktemp -d")
    try:
        for name, text in files.items():
            monitor.check_output(f"echo {base64.b64encode(text.encode()).decode()} | base64 -d > {d}/{name}")
        return monitor.run(f"cd {d} && promtool " + " ".join(args))
    finally:
        monitor.run(f"rm -rf {d}")


def test_every_rule_has_a_case_that_fires_and_one_that_must_not():
    """A case must not fire when an evaluation expects no alert, or when some of its series are
    of labels that no evaluation expects to fire."""
    rules = [r["alert"] for r in yaml.safe_load(render_rules())["groups"][0]["rules"]]
    fired, quiet = set(), set()
    for alert, _, series, evals in CASES:
        expected = [labels for _, fired_labels in evals for labels in fired_labels]
        if expected:
            fired.add(alert)
        if any(not f for _, f in evals) or len({x["series"].split("{")[1] for x in series}) > len(expected):
            quiet.add(alert)
    assert not set(rules) - fired, set(rules) - fired
    assert not set(rules) - quiet, set(rules) - quiet
    assert len(CASES) == len(rules)


def test_promtool_checks_and_tests_the_rules_with_the_role_defaults(monitor):
    rules = render_rules()
    check = promtool(monitor, {"archipelago.rules.yml": rules}, "check rules archipelago.rules.yml")
    assert check.rc == 0, check.stdout + check.stderr
    assert f"SUCCESS: {len(yaml.safe_load(rules)['groups'][0]['rules'])} rules found" in check.stdout
    result = promtool(monitor, {"archipelago.rules.yml": rules, "tests.yml": promtool_tests(rules)}, "test rules tests.yml")
    assert result.rc == 0 and "SUCCESS" in result.stdout, result.stdout + result.stderr


def test_promtool_tests_fail_when_a_threshold_moves(monitor):
    """The cases are sharp: the same cases against rules with other thresholds fail."""
    rules = render_rules(monitoring_load_per_core=3, monitoring_oom_alert_sec=60)
    result = promtool(monitor, {"archipelago.rules.yml": rules, "tests.yml": promtool_tests(rules)}, "test rules tests.yml")
    assert result.rc != 0
    out = result.stdout + result.stderr
    for alert in ("ArchyLoadHigh", "ArchyContainerOomKilled"):
        assert alert in out, out[-2000:]
