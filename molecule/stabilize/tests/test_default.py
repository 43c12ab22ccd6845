"""After converge, idempotence and a reboot: every app is back, healthy, started tier by tier."""
import json
import os

import testinfra.utils.ansible_runner
import yaml

MODEL = yaml.safe_load(open(os.path.join(os.environ["MOLECULE_PROJECT_DIRECTORY"],
                                         "inventories/lab/group_vars/archipelago/apps.yml")))
TIERS = ["db", "core", "dependent", "app", "ui"]
# Over SSH as the deploy user with sudo, from Molecule's inventory (its connection options).
testinfra_hosts = ["ansible://" + h for h in testinfra.utils.ansible_runner.AnsibleRunner(
    os.environ["MOLECULE_INVENTORY_FILE"]).get_hosts("all")]


def test_node_was_rebooted(host):
    """PID 1 started after converge wrote the apps' target (idempotence does not rewrite it): the
    side effect's reboot happened. Without a reboot PID 1 is older than that file."""
    booted = int(host.check_output("date -d \"$(ps -o lstart= -p 1)\" +%s"))
    converged = int(host.check_output("stat -c %Y /etc/systemd/system/archipelago-apps.target"))
    assert booted > converged, f"PID 1 started at {booted}, before converge wrote the target at {converged}"
    assert host.service("archipelago-apps.target").is_running


def test_every_app_is_back_healthy(host):
    for app in MODEL["archipelago_apps"]:
        state = json.loads(host.check_output(f"podman inspect {app['id']}"))[0]["State"]
        assert state["Status"] == "running" and state["Health"]["Status"] == "healthy", app["id"]
    assert host.check_output("podman ps -a --filter status=exited -q") == ""


def test_apps_started_tier_by_tier(host):
    """Each tier's units became active before any unit of the next tier started."""
    def ts(unit, prop):
        return int(host.check_output(f"systemctl show -p {prop} --value {unit}"))
    by_tier = {t: [f"archy-app-{a['id']}.service" for a in MODEL["archipelago_apps"] if a["startup_tier"] == t]
               for t in TIERS}
    previous_active = 0
    for tier in TIERS:
        units = by_tier[tier]
        starts = [ts(u, "ExecMainStartTimestampMonotonic") for u in units]
        assert min(starts) >= previous_active, f"tier {tier} started before the previous tier was healthy"
        previous_active = max(ts(u, "ActiveEnterTimestampMonotonic") for u in units)


def test_orphan_gone_and_tor_upgraded(host):
    assert host.run("podman container exists ollama").rc == 1
    assert "0.4.9" in host.check_output("podman exec archy-tor tor --version")


def test_swap_file_survives(host):
    f = host.file("/swapfile")
    assert f.mode == 0o600 and f.size == 2048 * 1024 * 1024
    assert "/swapfile" in host.file("/etc/fstab").content_string
