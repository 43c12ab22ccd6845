"""CONT-04 on a stabilized node: a permanently broken app is restarted with growing delays,
then left failed; an app that ran long enough since its last failure starts the delays again.
The units come from the containers role (its template and scripts), with short delays (2/4/8 s)
and a short stability period so the tests are quick; the role's defaults are 10/30/90 s and an
hour."""
import json
import re
import sys
import pathlib

from labhosts import controller, node_host, wait_until

BIN = pathlib.Path(sys.executable).parent
UNIT = "archy-app-lab-broken.service"
BROKEN = {
    "id": "lab-broken", "tier": "optional", "startup_tier": "app",
    "container": {"image": "docker.io/archylab/standin:1.0", "network": "archy-net"},
    "resources": {"memory_limit": "64m"},
    # needs a service that does not exist: exits 1 after a second, like a real app without its database
    "environment": {"STANDIN_NAME": "broken", "STANDIN_PORT": "9999", "STANDIN_DEPENDS": "nowhere:1",
                    "STANDIN_DEP_WAIT": "1"},
    "health_check": {"type": "exec", "command": "/usr/local/bin/standin --probe", "interval": "5s",
                     "timeout": "2s", "start_period": "2s", "retries": 1},
}


FLAKY = dict(BROKEN, id="lab-flaky", environment={"STANDIN_NAME": "flaky", "STANDIN_PORT": "9998"})
RESET = 6    # containers_restart_reset_sec for the flaky app


def unit_play(tmp_path, app, **extra):
    """A playbook that runs the containers role's unit tasks for one app on arch1."""
    play = tmp_path / f"{app['id']}.yml"
    play.write_text(json.dumps([{
        "hosts": "arch1", "gather_facts": False,
        "tasks": [{"ansible.builtin.include_role": {"name": "archipelago.node.containers", "tasks_from": "unit"},
                   "vars": {"containers_unit_app": app, "containers_restart_delays": [2, 4, 8], **extra}}]}]))
    return str(play)


def remove_unit(host, app_id):
    # disable first: the role enabled it into archipelago-apps.target, whose .wants link would
    # otherwise keep a not-found unit listed among the apps
    unit = f"archy-app-{app_id}.service"
    host.run(f"systemctl stop {unit}; systemctl disable {unit}; systemctl reset-failed {unit}; "
             f"rm -f /etc/systemd/system/{unit} /etc/systemd/system/*.wants/{unit} "
             f"/etc/archipelago/apps/{app_id}.env; systemctl daemon-reload; podman rm -f {app_id}")


def backoff_waits(host, unit, since):
    log = host.check_output(f"journalctl -u {unit} --since @{since} --no-pager -o cat")
    return [int(w) for w in re.findall(r"restart \d+, waiting (\d+)s after the failure", log)], log


def test_broken_app_backs_off_then_stays_failed(tmp_path):
    host = node_host("arch1")
    play = unit_play(tmp_path, BROKEN)
    since = host.check_output("date +%s")     # the journal keeps earlier runs' lines
    try:
        res = controller([str(BIN / "ansible-playbook"), play], check=False)
        assert res.returncode != 0, "the broken app's start should fail"

        def given_up():
            log = host.check_output(f"journalctl -u {UNIT} --since @{since} --no-pager -o cat")
            state = host.check_output(f"systemctl show -p ActiveState --value {UNIT}")
            return log if state == "failed" and "Start request repeated too quickly" in log else None
        # the 4th restart is refused by the unit's start limit: it stays failed
        wait_until(given_up, 180, "the broken app to be given up on")
        waits, log = backoff_waits(host, UNIT, since)
        assert waits == [2, 4, 8], log[-3000:]
        assert host.run("podman container exists lab-broken").rc == 1     # nothing left running
    finally:
        remove_unit(host, "lab-broken")


def test_a_run_as_long_as_the_stability_period_starts_the_delays_again(tmp_path):
    """Killed twice at once (restarts 1 and 2: 2 s, 4 s), then up RESET seconds and killed again:
    restart 1 again (2 s), not restart 3 (8 s)."""
    host = node_host("arch1")
    unit = "archy-app-lab-flaky.service"
    play = unit_play(tmp_path, FLAKY, containers_restart_reset_sec=RESET)

    def restarts():
        return int(host.check_output(f"systemctl show -p NRestarts --value {unit}"))

    def up_since():
        """Seconds the unit has been active (healthy), or None."""
        if host.run(f"systemctl is-active {unit}").stdout.strip() != "active":
            return None
        entered = int(host.check_output(f"systemctl show -p ActiveEnterTimestampMonotonic --value {unit}"))
        now = float(host.check_output("cut -d' ' -f1 /proc/uptime"))
        return now - entered / 1e6

    def kill_and_wait_back(n):
        host.check_output("podman kill lab-flaky")
        wait_until(lambda: restarts() == n and up_since() is not None, 120, f"restart {n} of the flaky app")

    since = host.check_output("date +%s")
    try:
        res = controller([str(BIN / "ansible-playbook"), play], check=False)
        assert res.returncode == 0, res.stdout[-3000:]
        kill_and_wait_back(1)
        kill_and_wait_back(2)
        wait_until(lambda: (up_since() or 0) > RESET + 1, 60, f"the flaky app up for {RESET + 1} s")
        kill_and_wait_back(3)
        waits, log = backoff_waits(host, unit, since)
        assert waits == [2, 4, 2], log[-3000:]
    finally:
        remove_unit(host, "lab-flaky")
