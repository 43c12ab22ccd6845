"""The soak report (module_utils/soak.py): Prometheus replies to figures per node."""
import json

import pytest

from ansible_collections.archipelago.node.plugins.module_utils import soak


def reply(*series):
    return json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
        {"metric": labels, "values": [[t, str(v)] for t, v in points]} for labels, points in series]}})


def test_durations_and_steps():
    assert soak.seconds("90s") == 90 and soak.seconds("7d") == 604800 and soak.seconds("2w") == 1209600
    for bad in ("7", "0m", "-1h", "1y", "1h30m", ""):
        with pytest.raises(soak.SoakError):
            soak.seconds(bad)
    assert soak.step_for(604800) == 2016 and soak.step_for(10) == 1


@pytest.mark.parametrize("text", ["nope", "[]", json.dumps({"status": "error", "error": "bad query"}),
                                  json.dumps({"status": "success", "data": {"resultType": "vector", "result": []}}),
                                  json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [1]}}),
                                  json.dumps({"status": "success", "data": {"resultType": "matrix", "result": [
                                      {"metric": {}, "values": [["x", "1"]]}]}})])
def test_malformed_replies_are_refused_with_the_query_named(text):
    with pytest.raises(soak.SoakError, match="memory"):
        soak.parse_matrix(text, "memory")


def test_too_many_series_are_refused():
    text = reply(*[({"i": str(n)}, [(1, 1)]) for n in range(soak.MAX_SERIES + 1)])
    with pytest.raises(soak.SoakError, match="more than"):
        soak.parse_matrix(text, "up")


def test_non_finite_samples_are_dropped():
    [(labels, points)] = soak.parse_matrix(reply(({"instance": "a"}, [(1, "NaN"), (2, "+Inf"), (3, 5)])), "x")
    assert labels == {"instance": "a"} and points == [(3.0, 5.0)]


def test_uptime_counts_missing_samples_as_down():
    assert soak.uptime_percent([(t, 1) for t in range(0, 100, 10)], 0, 99, 10) == 100.0
    assert soak.uptime_percent([(t, 1) for t in range(0, 50, 10)] + [(t, 0) for t in range(50, 100, 10)], 0, 99, 10) == 50.0
    assert soak.uptime_percent([(t, 1) for t in range(0, 50, 10)], 0, 99, 10) == 50.0    # scrapes missing


def test_trend_slope_and_ratio():
    t = soak.trend([(0, 100.0), (1800, 150.0), (3600, 200.0)])
    assert t["per_hour"] == 100.0 and t["ratio"] == 2.0 and t["max"] == 200.0 and t["samples"] == 3
    assert soak.trend([]) is None and soak.trend([(5, 0.0)])["ratio"] is None


def test_counter_increase_with_resets_and_a_late_first_sample():
    assert soak.increase([(0, 5), (10, 7), (20, 1), (30, 4)]) == 2 + 1 + 3
    assert soak.increase([(100, 1)], start=0, step=10) == 1      # first kill is the first sample
    assert soak.increase([(5, 1)], start=0, step=10) == 0        # there from the start: no rise seen


def test_sync_rate_and_recovery_times():
    assert soak.success_rate([(0, 10), (1, 4000), (2, 20), (3, 30)], 3600) == 75.0
    assert soak.success_rate([], 3600) is None
    boots = [(0, 1000), (10, 1000), (20, 1500), (30, 1500), (40, 2000)]
    ups = [(1000, 1), (1490, 0), (1530, 1), (1990, 1)]
    assert soak.recovery_times(boots, ups) == [30.0, None]


def test_report_per_node_and_table():
    data = {"up": soak.parse_matrix(reply(({"instance": "arch1", "job": "node"}, [(t, 1) for t in range(0, 100, 10)]),
                                          ({"instance": "arch2", "job": "node"}, [(t, 1) for t in range(0, 50, 10)])), "up"),
            "memory": soak.parse_matrix(reply(({"instance": "arch1", "name": "lnd"}, [(0, 1 << 20), (90, 3 << 20)])), "memory"),
            "oom_kills": soak.parse_matrix(reply(({"instance": "arch2", "name": "x"}, [(60, 1), (90, 1)])), "oom")}
    report, charts = soak.build_report(data, 0, 99, 10, 3600, chart_points=2)
    assert report["nodes"]["arch1"]["uptime_percent"] == 100.0 and report["nodes"]["arch2"]["uptime_percent"] == 50.0
    assert report["nodes"]["arch1"]["memory"]["lnd"]["ratio"] == 3.0
    assert report["nodes"]["arch2"]["oom_kills"] == {"x": 1} and report["nodes"]["arch1"]["oom_kills"] == {}
    assert charts["arch1"]["memory"]["lnd"] == [[0.0, 1048576.0], [90.0, 3145728.0]]
    text = soak.table(report)
    assert "== arch1: up 100.00 %" in text and "OOM kills: x 1" in text and "3.0 MiB" in text


def test_thin_keeps_the_ends():
    points = [(t, t) for t in range(1000)]
    thinned = soak.thin(points, 10)
    assert len(thinned) == 10 and thinned[0] == [0, 0] and thinned[-1] == [999, 999]
