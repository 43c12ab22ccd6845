"""After converge and idempotence with archipelago_apps_source node on a March 2026 node: every app
runs as a health-gated unit with the catalogue's limits, loopback ports and its own secrets kept on
the node; the orphan is gone."""
import json
import os

import testinfra.utils.ansible_runner
import yaml

LAB = yaml.safe_load(open(os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"],
                                       "inventories/lab/group_vars/archipelago/apps.yml")))
APPS = {a["id"]: a for a in LAB["archipelago_apps"]}
ENV_DIR = "/var/lib/archipelago/secrets/apps"
testinfra_hosts = ["ansible://" + h for h in testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")]


def inspect(host, name):
    return json.loads(host.check_output(f"podman inspect {name}"))[0]


def test_every_app_runs_as_a_healthy_unit(host):
    for app_id in APPS:
        assert host.service(f"archy-app-{app_id}.service").is_running, app_id
        state = inspect(host, app_id)["State"]
        assert state["Status"] == "running" and state["Health"]["Status"] == "healthy", app_id
    assert host.run("podman container exists ollama").rc == 1


def test_the_catalogue_gave_the_limits_and_the_ports_moved_to_loopback(host):
    assert inspect(host, "bitcoin-knots")["HostConfig"]["Memory"] == 2 * 1024 ** 3
    assert inspect(host, "archy-mempool-web")["HostConfig"]["Memory"] == 256 * 1024 ** 2
    bindings = inspect(host, "archy-mempool-web")["HostConfig"]["PortBindings"]
    assert bindings == {"8080/tcp": [{"HostIp": "127.0.0.1", "HostPort": "4080"}]}


def test_each_app_kept_its_own_environment_on_the_node(host):
    for app_id, app in APPS.items():
        env = app.get("environment") or {}
        if not env:
            continue
        f = host.file(f"{ENV_DIR}/{app_id}.env")
        assert (f.mode, f.user) == (0o600, "root"), app_id
        running = dict(e.split("=", 1) for e in inspect(host, app_id)["Config"]["Env"])
        for name, value in env.items():
            assert running[name] == str(value), (app_id, name)
        # the values never went through the controller into the role's own environment files
        assert not host.file(f"/etc/archipelago/apps/{app_id}.env").exists, app_id
        unit = host.file(f"/etc/systemd/system/archy-app-{app_id}.service").content_string
        assert f"--env-file {ENV_DIR}/{app_id}.env" in unit, app_id


def test_swap_is_sized_from_the_ram(host):
    """STAB-01/02 without swap_size_mb: swap_ram_percent (10) of MemTotal, within 2-8 GiB."""
    mem_mb = int(host.check_output("awk '/^MemTotal:/ {print int($2 / 1024)}' /proc/meminfo"))
    want_mb = min(max(mem_mb * 10 // 100, 2048), 8192)
    f = host.file("/swapfile")
    assert f.mode == 0o600 and f.size == want_mb * 1024 * 1024, (f.size, want_mb)
