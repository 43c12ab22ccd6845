"""playbooks/reboot_survival.yml on the stabilized lab: SIGKILL of the backend is recovered by
systemd on both nodes, twice; an app that does not come back fails the drill naming it; a bad drill
name changes nothing; both nodes rebooted at once bring every app back healthy with no restart and
federation syncs (REBOOT-03). One node rebooted alone is molecule/stabilize's side effect and
tests/acceptance's reboot round."""
import json
import re
import sys
import pathlib

from labhosts import controller, node_host, wait_until

BIN = pathlib.Path(sys.executable).parent
APP = "archy-app-archy-mempool-web.service"   # the UI tier: nothing depends on it


def drill(*args):
    res = controller([str(BIN / "ansible-playbook"), "playbooks/reboot_survival.yml", *args], check=False, timeout=1800)
    return res.returncode, " ".join((res.stdout + res.stderr).split())


def results(out):
    """The rounds reported by the playbook's "Recovery times" (JSON objects, one per round)."""
    return [json.loads(m) for m in re.findall(r'\{"round": \d+, [^}]*\}', out)]


def pid1_start(name):
    return node_host(name).check_output("cut -d' ' -f22 /proc/1/stat")


def test_sigkill_of_the_backend_is_recovered_by_systemd_on_both_nodes_twice():
    rc, out = drill("-e", "reboot_drill=sigkill", "-e", "reboot_iterations=2")
    assert rc == 0, out[-4000:]
    rounds = results(out)
    assert len(rounds) == 4 and all(r["drill"] == "sigkill" and r["backend_healthy_s"] < 90 for r in rounds), rounds
    print("sigkill recoveries:", [r["backend_healthy_s"] for r in rounds])


def test_an_app_that_does_not_come_back_fails_the_drill():
    host = node_host("arch1")
    host.check_output(f"systemctl disable {APP}")          # no longer pulled in at boot
    try:
        rc, out = drill("--limit", "arch1", "-e", "reboot_recovery_timeout=30")
        assert rc != 0, out[-3000:]
        assert "arch1 round 1 (reboot):" in out and "archy-mempool-web" in out, out[-3000:]
    finally:
        host.check_output(f"systemctl enable --now {APP}")
        wait_until(lambda: host.run(f"systemctl is-active {APP}").stdout.strip() == "active", 180,
                   "mempool-web back after the drill")


def test_a_bad_drill_name_changes_nothing():
    boot = {n: pid1_start(n) for n in ("arch1", "arch2")}
    rc, out = drill("-e", "reboot_drill=explode")
    assert rc != 0 and "reboot_drill is reboot or sigkill" in out and "nothing was changed" in out
    assert {n: pid1_start(n) for n in ("arch1", "arch2")} == boot


def test_simultaneous_reboot_of_all_nodes_then_federation_syncs():
    boot = {n: pid1_start(n) for n in ("arch1", "arch2")}
    rc, out = drill("-e", "reboot_serial=100%")
    assert rc == 0, out[-4000:]
    assert all(pid1_start(n) != boot[n] for n in boot)                  # both really rebooted
    rounds = results(out)
    assert len(rounds) == 2 and all(r["drill"] == "reboot" and r["backend_healthy_s"] < 90
                                    and r["apps_healthy_s"] < 180 for r in rounds), rounds
    assert "arch1: synced with arch2" in out and "arch2: synced with arch1" in out, out[-3000:]
    print("simultaneous reboot:", rounds)
