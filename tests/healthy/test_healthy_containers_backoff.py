"""CONT-04 on a stabilized node: a permanently broken app is restarted with growing delays,
then left failed. The unit comes from the containers role (its template and scripts), with
short delays (2/4/8 s) so the test is quick; the role's default is 10/30/90 s."""
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


def test_broken_app_backs_off_then_stays_failed(tmp_path):
    host = node_host("arch1")
    play = tmp_path / "broken.yml"
    play.write_text(json.dumps([{
        "hosts": "arch1", "gather_facts": False,
        "tasks": [{"ansible.builtin.include_role": {"name": "archipelago.node.containers", "tasks_from": "unit"},
                   "vars": {"containers_unit_app": BROKEN, "containers_restart_delays": [2, 4, 8]}}]}]))
    since = host.check_output("date +%s")     # the journal keeps earlier runs' lines
    try:
        res = controller([str(BIN / "ansible-playbook"), str(play)], check=False)
        assert res.returncode != 0, "the broken app's start should fail"

        def given_up():
            log = host.check_output(f"journalctl -u {UNIT} --since @{since} --no-pager -o cat")
            state = host.check_output(f"systemctl show -p ActiveState --value {UNIT}")
            return log if state == "failed" and "Start request repeated too quickly" in log else None
        # the 4th restart is refused by the unit's start limit: it stays failed
        log = wait_until(given_up, 180, "the broken app to be given up on")
        waits = [int(w) for w in re.findall(r"restart \d+, waiting (\d+)s after the failure", log)]
        assert waits == [2, 4, 8], log[-3000:]
        assert host.run("podman container exists lab-broken").rc == 1     # nothing left running
    finally:
        # disable first: the role enabled it into archipelago-apps.target, whose .wants link would
        # otherwise keep a not-found unit listed among the apps
        host.run(f"systemctl stop {UNIT}; systemctl disable {UNIT}; systemctl reset-failed {UNIT}; "
                 f"rm -f /etc/systemd/system/{UNIT} /etc/systemd/system/*.wants/{UNIT} "
                 "/etc/archipelago/apps/lab-broken.env; systemctl daemon-reload; podman rm -f lab-broken")
