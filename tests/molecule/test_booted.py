"""molecule/shared/tasks/booted.yml, the first task of every scenario's prepare after the host keys
are recorded: it waits for a fresh lab node's systemd without putting a file on the node.

Why it matters: during boot systemd-tmpfiles-setup empties /tmp, and a module started before that
loses the payload Ansible copied there (a CI run failed so, on the federation scenario's first
task, when the lab was reached with `podman exec`). Each test starts its own node container the way
Molecule's platforms do, records its host keys as molecule/shared/known_hosts.yml does, reaches it
over SSH as the deploy user with sudo, and removes it.
"""
import json
import pathlib
import re
import sys

import pytest
import yaml

from labhosts import ROOT, controller, lab_ssh_vars, task_sections

PLAYBOOK_BIN = str(pathlib.Path(sys.executable).parent / "ansible-playbook")
NAME = "archy-test-booted"
ADDRESS = "10.203.0.30"
BOOTED = ROOT / "molecule" / "shared" / "tasks" / "booted.yml"
PLATFORM = yaml.safe_load((ROOT / "molecule" / "federation" / "molecule.yml").read_text())["platforms"][0]


def start_node(command, *extra):
    """A node container like the scenario's first platform, but its own name and address."""
    opts = [o for o in PLATFORM["extra_opts"] if not o.startswith("--ip=")] + list(extra)
    controller(["podman", "rm", "-f", "-i", NAME])
    controller(["podman", "run", "-d", "--name", NAME, "--hostname", "booted", "--privileged", "--systemd=false",
                "--ip=" + ADDRESS, "-e", "container=podman", *opts, PLATFORM["image"], *command])
    controller([str(ROOT / "lab" / "lab"), "known-host", NAME, ADDRESS], timeout=200)


@pytest.fixture
def playbook(tmp_path):
    """Run booted.yml, then a module that reports the kernel's uptime, against the test node."""
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {NAME: lab_ssh_vars(ADDRESS)}}}))
    play = tmp_path / "play.yml"
    play.write_text(yaml.safe_dump([{
        "name": "booted, then a module", "hosts": "all", "gather_facts": False,
        "tasks": [
            {"name": "Booted", "ansible.builtin.import_tasks": str(BOOTED)},
            {"name": "Uptime", "ansible.builtin.command": "cat /proc/uptime", "register": "up", "changed_when": False},
            {"name": "Report", "ansible.builtin.debug": {"msg": "UPTIME={{ up.stdout.split()[0] }}"}},
        ]}]))

    def run(env=None):
        return controller([PLAYBOOK_BIN, "-i", str(inventory), str(play)], check=False, timeout=300, env_extra=env)
    yield run
    controller(["podman", "rm", "-f", "-i", NAME])


def tmpfiles_finished_at():
    """Monotonic time (s, the kernel's clock) at which the node's boot finished emptying /tmp."""
    out = controller(["podman", "exec", NAME, "journalctl", "-b", "-o", "json", "--no-pager",
                      "-u", "systemd-tmpfiles-setup.service"]).stdout
    done = [json.loads(line) for line in out.splitlines() if line.strip()]
    done = [e for e in done if str(e.get("MESSAGE", "")).startswith("Finished")]
    assert done, f"no 'Finished' entry of systemd-tmpfiles-setup on {NAME}:\n{out[-1500:]}"
    return int(done[0]["__MONOTONIC_TIMESTAMP"]) / 1e6


def test_booted_waits_for_the_boot_that_empties_tmp(playbook):
    """Started at once after the container: passes, and the next module starts after /tmp was emptied."""
    start_node([PLATFORM["command"]])
    res = playbook()
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-2000:]
    module_started = float(re.search(r"UPTIME=([0-9.]+)", res.stdout).group(1))
    assert tmpfiles_finished_at() < module_started
    state = controller(["podman", "exec", NAME, "systemctl", "is-system-running"], check=False).stdout.strip()
    assert state in ("running", "degraded")


def task_output(stdout, task):
    """The lines Ansible printed for one task."""
    found = [section for name, section in task_sections(stdout) if name.startswith(task)]
    assert found, f"no task {task!r} in:\n{stdout[-3000:]}"
    return found[0]


def test_modules_put_no_file_on_the_node_under_sudo(playbook):
    """With every temporary folder read-only the wait and a module pass: over SSH with pipelining
    under sudo, the module's payload never touches the node's disk, so boot cannot delete it. With
    pipelining off the same module fails (it needs those folders): pipelining is what is tested."""
    start_node([PLATFORM["command"]], "--tmpfs=/root/.ansible:ro", "--tmpfs=/home/archipelago/.ansible:ro",
               "--tmpfs=/tmp:ro", "--tmpfs=/var/tmp:ro")
    res = playbook()
    assert res.returncode == 0, res.stdout[-3000:]
    assert re.search(r"ok: \[archy-test-booted\]", task_output(res.stdout, "Uptime")), res.stdout[-3000:]
    res = playbook({"ANSIBLE_PIPELINING": "False"})
    assert re.search(r"ok: \[archy-test-booted\]", task_output(res.stdout, "Booted")), res.stdout[-3000:]
    assert re.search(r"fatal: \[archy-test-booted\]", task_output(res.stdout, "Uptime")), res.stdout[-3000:]
    assert res.returncode != 0
