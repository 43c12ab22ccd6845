"""archy-node-metrics (roles/node_exporter/files): its pure functions, with good, bad and huge input."""
import json

import pytest

from rolefile import load_role_file

m = load_role_file("node_exporter", "archy-node-metrics")
A, B = "a" * 64, "b" * 64


def test_containers_from_ps_reads_state_and_health():
    ps = [{"Id": A, "Names": ["lnd"], "State": "running", "Status": "Up 2 minutes (healthy)"},
          {"Id": B, "Names": ["ollama"], "State": "created", "Status": "Created"}]
    assert m.containers_from_ps(json.dumps(ps)) == [
        {"id": A, "name": "lnd", "running": True, "health": "healthy"},
        {"id": B, "name": "ollama", "running": False, "health": "none"}]
    assert m.health_of("Up 3 seconds (unhealthy)") == "unhealthy"
    assert m.health_of("Up 1 second (starting)") == "starting"


@pytest.mark.parametrize("text", ['{"Id": 1}', '[1]', '[{"Id": "x", "Names": ["a"]}]',
                                  '[{"Id": "%s", "Names": ["a b\\"c"]}]' % A, "not json"])
def test_containers_from_ps_refuses_malformed_replies(text):
    with pytest.raises(ValueError):
        m.containers_from_ps(text)


def test_inspect_fields_tolerates_odd_values():
    data = [{"Id": A, "RestartCount": 3, "HostConfig": {"Memory": 536870912}, "State": {"CgroupPath": "/x"}},
            {"Id": B, "RestartCount": "many", "HostConfig": None, "State": []}, "junk"]
    assert m.inspect_fields(json.dumps(data)) == {
        A: {"restarts": 3, "limit": 536870912, "cgroup": "/x"},
        B: {"restarts": 0, "limit": 0, "cgroup": ""}}


def test_memory_from_files_subtracts_inactive_file_cache(tmp_path):
    v2 = tmp_path / "machine.slice" / f"libpod-{A}.scope"
    v2.mkdir(parents=True)
    (v2 / "memory.current").write_text("1000000\n")
    (v2 / "memory.stat").write_text("anon 600000\ninactive_file 300000\n")
    assert m.memory_from_files(A, "", root=str(tmp_path)) == 700000
    v1 = tmp_path / "memory" / "libpod_parent" / f"libpod-{B}.scope"
    v1.mkdir(parents=True)
    (v1 / "memory.usage_in_bytes").write_text("5000\n")
    (v1 / "memory.stat").write_text("total_inactive_file 9000\n")
    assert m.memory_from_files(B, "", root=str(tmp_path)) == 0          # never negative
    assert m.memory_from_files("c" * 64, "/../../etc", root=str(tmp_path)) is None


def kernel_line(cid, cursor, usec="1796228000000000"):
    msg = ("oom-kill:constraint=CONSTRAINT_MEMCG,nodemask=(null),cpuset=/,mems_allowed=0,"
           f"oom_memcg=/libpod_parent/libpod-{'e' * 64}/machine.slice/libpod-{cid}.scope,"
           f"task_memcg=/machine.slice/libpod-{cid}.scope,task=python3,pid=42,uid=0")
    return json.dumps({"__CURSOR": cursor, "__REALTIME_TIMESTAMP": usec, "MESSAGE": msg})


def test_oom_kills_take_the_innermost_container_and_the_last_cursor():
    lines = [kernel_line(A, "c1"), json.dumps({"__CURSOR": "c2", "MESSAGE": "eth0: link up"}),
             "garbage", json.dumps([1]), kernel_line(B, "c3", usec="x")]
    kills, cursor = m.oom_kills(lines)
    assert kills == [(A, 1796228000.0)] and cursor == "c3"


def test_count_ooms_counts_only_this_nodes_containers():
    state = {}
    assert m.count_ooms(state, [(A, 10.0), (B, 11.0), (A, 12.0)], {A: "electrs"}) == 2
    assert state == {"oom": {"electrs": 2}, "oom_last": {"electrs": 12.0}}


def test_peer_ages_read_epoch_and_iso_times_and_refuse_bad_peers():
    now = 1796228000.0
    peers = [{"did": "did:dht:x", "last_seen": now - 30}, {"did": "did:key:y", "last_seen": "2026-12-02T10:00:00Z"},
             {"did": "did:dht:z", "last_seen": "yesterday"}, {"did": "did:dht:w", "last_seen": True}]
    ages = m.peer_ages(peers, now)
    assert ages[0] == ("did:dht:x", 30.0) and ages[1][1] > 0 and ages[2] == ("did:dht:z", None)
    assert ages[3] == ("did:dht:w", None)
    for bad in ({"did": "x"}, [{"name": "no did"}], [{"did": "not-a-did"}]):
        with pytest.raises(ValueError):
            m.peer_ages(bad if isinstance(bad, list) else [bad], now)


def test_bootstrap_percent_takes_the_last_line():
    log = "Bootstrapped 10% (conn)\nnoise\nBootstrapped 100% (done): Done\nBootstrapped 999% bogus"
    assert m.bootstrap_percent(log) == 100
    assert m.bootstrap_percent("") is None


def test_render_escapes_labels_and_declares_each_metric_once():
    out = m.render([("archy_container_running", {"name": 'a"b\\c\nd'}, 1),
                    ("archy_container_running", {"name": "e"}, 0), ("archy_backend_up", {}, 1)])
    assert out.count("# TYPE archy_container_running gauge") == 1
    assert 'archy_container_running{name="a\\"b\\\\c\\nd"} 1.0' in out
    assert out.endswith("archy_backend_up 1.0\n")


@pytest.mark.parametrize("cfg", ['[]', '{"output": "relative", "state": "/s"}', '{"output": "/o", "state": "/s", "x": 1}',
                                 '{"output": "/o", "state": "/s", "deadline_sec": 0}',
                                 '{"output": "/o", "state": "/s", "deadline_sec": true}'])
def test_load_config_refuses_bad_configs(cfg):
    with pytest.raises(ValueError):
        m.load_config(cfg)


def test_bad_config_exits_2_and_check_config_passes_a_good_one(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"output": 1}')
    assert m.main(["x", "--check-config", str(bad)]) == 2
    assert "bad config" in capsys.readouterr().err
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"output": "/o.prom", "state": "/s.json", "deadline_sec": 5}))
    assert m.main(["x", "--check-config", str(good)]) == 0


def test_a_run_with_every_source_failing_still_writes_metrics_and_a_0600_state(tmp_path):
    """No podman, no journal, no backend: each source says 0 and the files are written."""
    cfg = {"output": str(tmp_path / "out" / "archipelago.prom"), "state": str(tmp_path / "st" / "state.json"),
           "deadline_sec": 5, "rpc_url": "http://127.0.0.1:9/rpc/v1", "password_file": str(tmp_path / "none"),
           "tor_container": "archy-tor", "podman": str(tmp_path / "no-podman")}
    (tmp_path / "c.json").write_text(json.dumps(cfg))
    assert m.main(["x", str(tmp_path / "c.json")]) == 0
    out = (tmp_path / "out" / "archipelago.prom").read_text()
    for source in ("containers", "backend", "federation", "tor"):
        assert f'archy_metrics_source_ok{{source="{source}"}} 0.0' in out
    assert "archy_backend_up 0.0" in out
    assert (tmp_path / "st" / "state.json").stat().st_mode & 0o777 == 0o600


def test_a_huge_command_output_is_refused():
    with pytest.raises(m.SourceError, match="more than"):
        m.run(["/bin/sh", "-c", "head -c 3000 /dev/zero"], m.Deadline(5), limit=1000)


def test_a_slow_command_stops_at_the_deadline():
    with pytest.raises(m.SourceError):
        m.run(["/bin/sleep", "30"], m.Deadline(1.5))


def test_a_password_file_readable_by_others_is_refused(tmp_path):
    f = tmp_path / "pw"
    f.write_text("secret\n")
    f.chmod(0o644)
    with pytest.raises(m.SourceError, match="chmod 0600"):
        m.read_password(str(f))
    f.chmod(0o600)
    assert m.read_password(str(f)) == "secret"


def test_boot_time_is_the_kernel_boot_plus_pid1_start():
    stat = "cpu  1 2 3\nbtime 1796200000\nprocesses 5\n"
    pid1 = "1 (systemd) S 0 1 1 0 -1 4194560 1 2 3 4 5 6 7 8 20 0 1 0 12345 1000 10"
    assert m.boot_time(stat, pid1, 100) == 1796200000 + 123.45
    with pytest.raises(ValueError):
        m.boot_time("cpu 1\n", pid1, 100)
    with pytest.raises(ValueError):
        m.boot_time(stat, "1 (a) S", 100)
