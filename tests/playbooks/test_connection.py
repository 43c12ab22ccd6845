"""The path every operator takes to a node, on the lab: SSH as the deploy user `archipelago` with
the deploy key, host keys checked, then sudo. Each test runs ansible-playbook with the lab
inventory against arch1; the failure cases change the key, the host key or the user once, each
with a fresh SSH control folder so that no open connection hides the change."""
import json
import pathlib
import re
import subprocess
import sys

import pytest
import yaml

from labhosts import SSH_DIR, controller, node_address, node_host

BIN = pathlib.Path(sys.executable).parent
NODE = "arch1"
PROBE = "/etc/archipelago-connection-probe"


def playbook(tmp_path, tasks, *extra):
    """ansible-playbook with the lab inventory on arch1 (become comes from the inventory, as in
    production; a task opts out with the variable ansible_become), its own SSH control folder."""
    book = tmp_path / "play.yml"
    book.write_text(yaml.safe_dump([{"name": "connection probe", "hosts": NODE, "gather_facts": False,
                                     "tasks": tasks}], sort_keys=False))
    control = tmp_path / "cp"
    control.mkdir(exist_ok=True)
    return controller([str(BIN / "ansible-playbook"), str(book), *extra], check=False, timeout=300,
                      env_extra={"ANSIBLE_SSH_CONTROL_PATH_DIR": str(control)})


@pytest.fixture
def clean_probe():
    host = node_host(NODE)
    host.run(f"rm -f {PROBE}")
    yield host
    host.run(f"rm -f {PROBE}")


def test_tasks_run_as_the_deploy_user_and_sudo_makes_them_root(tmp_path, clean_probe):
    """Without become a task is `archipelago` and cannot write /etc; with become it is root and can,
    with a module that needs its temporary folder (copy) and the RPC session cache under sudo."""
    res = playbook(tmp_path, [
        {"name": "Who", "ansible.builtin.command": "id -un", "register": "plain", "changed_when": False,
         "vars": {"ansible_become": False}},
        {"name": "Who with become", "ansible.builtin.command": "id -un", "register": "root", "changed_when": False},
        {"name": "Report", "ansible.builtin.debug": {"msg": "USERS={{ plain.stdout }},{{ root.stdout }}"}},
        {"name": "Write /etc without become", "ansible.builtin.copy": {"dest": PROBE, "content": "x\n", "mode": "0644"},
         "vars": {"ansible_become": False}, "register": "denied", "ignore_errors": True},
        {"name": "Write /etc with become", "ansible.builtin.copy": {"dest": PROBE, "content": "x\n", "mode": "0644"}},
        {"name": "The backend through a session cached under sudo",
         "archipelago.node.node_identity_info": {"password_file": "/etc/archipelago/admin-password"}},
    ])
    assert res.returncode == 0, res.stdout[-3000:]
    assert "USERS=archipelago,root" in res.stdout
    assert re.search(r"Permission denied|not writable", res.stdout), res.stdout[-3000:]
    host = clean_probe
    probe = host.file(PROBE)
    assert probe.exists and probe.user == "root"
    cache = host.file("/run/archipelago-ansible")
    assert cache.is_directory and cache.user == "root" and cache.mode == 0o700
    sessions = host.check_output("find /run/archipelago-ansible -type f -printf '%u %m\\n'").split("\n")
    assert sessions and all(line == "root 600" for line in sessions), sessions


def test_a_changed_host_key_is_refused_and_nothing_changes(tmp_path, clean_probe):
    """The controller's known_hosts holds another key for the node's address: unreachable, with
    ssh's own words, and the task never ran."""
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "other")], check=True)
    other = (tmp_path / "other.pub").read_text().split()
    (tmp_path / "known_hosts").write_text(f"{node_address(NODE)} {other[0]} {other[1]}\n")
    args = json.dumps({"ansible_ssh_common_args": f"-o UserKnownHostsFile={tmp_path / 'known_hosts'} "
                                                  "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"})
    res = playbook(tmp_path, [{"name": "Write", "ansible.builtin.copy": {"dest": PROBE, "content": "x\n"}}],
                   "-e", args)
    assert res.returncode != 0
    assert "UNREACHABLE" in res.stdout and "REMOTE HOST IDENTIFICATION HAS CHANGED" in res.stdout, res.stdout[-3000:]
    assert not clean_probe.file(PROBE).exists


def test_an_unknown_node_is_refused(tmp_path, clean_probe):
    """A node whose host key was never recorded is not trusted on first use."""
    (tmp_path / "known_hosts").write_text("")
    args = json.dumps({"ansible_ssh_common_args": f"-o UserKnownHostsFile={tmp_path / 'known_hosts'} "
                                                  "-o StrictHostKeyChecking=yes -o IdentitiesOnly=yes"})
    res = playbook(tmp_path, [{"name": "Write", "ansible.builtin.copy": {"dest": PROBE, "content": "x\n"}}],
                   "-e", args)
    assert res.returncode != 0 and "UNREACHABLE" in res.stdout
    assert "Host key verification failed" in res.stdout, res.stdout[-3000:]
    assert not clean_probe.file(PROBE).exists


def test_a_wrong_ssh_key_is_unreachable(tmp_path, clean_probe):
    subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(tmp_path / "wrong")], check=True)
    res = playbook(tmp_path, [{"name": "Write", "ansible.builtin.copy": {"dest": PROBE, "content": "x\n"}}],
                   "-e", f"ansible_ssh_private_key_file={tmp_path / 'wrong'}")
    assert res.returncode != 0 and "UNREACHABLE" in res.stdout
    assert "Permission denied (publickey)" in res.stdout, res.stdout[-3000:]
    assert not clean_probe.file(PROBE).exists


def test_a_user_without_sudo_rights_fails_naming_sudo(tmp_path, clean_probe):
    """A user who may log in with the deploy key but has no sudo rule: the task fails and says sudo."""
    host = clean_probe
    host.check_output("id nosudo >/dev/null 2>&1 || useradd -m -s /bin/bash nosudo; "
                      "install -d -m 0700 -o nosudo -g nosudo /home/nosudo/.ssh; "
                      "install -m 0600 -o nosudo -g nosudo /home/archipelago/.ssh/authorized_keys "
                      "/home/nosudo/.ssh/authorized_keys")
    try:
        res = playbook(tmp_path, [{"name": "Write", "ansible.builtin.copy": {"dest": PROBE, "content": "x\n"}}],
                       "-e", "ansible_user=nosudo")
    finally:
        host.run("userdel -r nosudo")
    assert res.returncode != 0
    assert re.search(r"[Ss]udo", res.stdout) and re.search(r"password", res.stdout), res.stdout[-3000:]
    assert not host.file(PROBE).exists


def test_the_lab_key_and_known_hosts_are_private():
    """The deploy key is 0600, in a 0700 folder; known_hosts lists each node's address."""
    assert (SSH_DIR / "id_ed25519").stat().st_mode & 0o777 == 0o600
    assert SSH_DIR.stat().st_mode & 0o777 == 0o700
    known = (SSH_DIR / "known_hosts").read_text()
    assert re.search(rf"^{re.escape(node_address(NODE))} ssh-ed25519 ", known, re.M)
