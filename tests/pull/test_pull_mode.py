"""Pull mode (roles/pull) on the canary arch2: a git remote on the lab network (git daemon on the
lab bridge's address) holds this repository with one commit on top, signed with an operator key
the test makes; playbooks/pull.yml installs the timer; the node then applies stabilize.yml
locally. It converges a broken node, a second pull changes nothing, a tampered revision is
refused with nothing changed, and with the remote gone the node stays on its last good revision
and says so. pull_state=absent takes it all away again.

Not part of scripts/test.sh (it runs stabilize.yml on the node five times, about 6 minutes, and
the CI run is already near its limit): run it on the stabilized lab with bench/pull.sh."""
import json
import subprocess
import sys

import pytest

from labhosts import CACHE, ROOT, controller, free_port, lab_gateway, node_host, recap

BIN = sys.executable.rsplit("/", 1)[0]
NODE = "arch2"
STATE = "/var/lib/archipelago/pull/state.json"
METRICS = "/var/lib/prometheus/node-exporter/archipelago-pull.prom"
# A file stabilize.yml owns (the logrotate role), removed to break the node.
OWNED = "/etc/logrotate.d/archipelago-backend"


def git(*args, cwd=None):
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout.strip()


class Lab:
    """The operator's repository (a bare remote served by git daemon) and their signing key."""

    def __init__(self, tmp):
        self.tmp, self.key = tmp, tmp / "release-key"
        git("clone", "-q", "--bare", str(ROOT), str(tmp / "repo.git"))
        self.work = tmp / "work"
        git("clone", "-q", str(tmp / "repo.git"), str(self.work))
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", "release signing key", "-f", str(self.key)], check=True)
        for k, v in (("user.email", "release@lab"), ("user.name", "release"), ("gpg.format", "ssh"),
                     ("user.signingkey", str(self.key))):
            git("config", k, v, cwd=self.work)
        self.port, self.address = free_port(), lab_gateway()
        self.daemon = None

    def serve(self):
        self.daemon = subprocess.Popen(
            ["git", "daemon", "--reuseaddr", "--export-all", "--informative-errors", "--listen=" + self.address,
             "--port=%d" % self.port, "--base-path=" + str(self.tmp), str(self.tmp)],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def stop(self):
        if self.daemon:
            self.daemon.terminate()
            self.daemon.wait(timeout=30)
            self.daemon = None

    @property
    def url(self):
        return "git://%s:%d/repo.git" % (self.address, self.port)

    def commit(self, path, text, sign=True):
        (self.work / path).write_text(text)
        git("add", path, cwd=self.work)
        git("commit", "-q", "-m", "lab facts for pull mode", *(["-S"] if sign else ["--no-gpg-sign"]), cwd=self.work)
        git("push", "-q", "--force", "origin", "HEAD:refs/heads/main", cwd=self.work)
        return git("rev-parse", "HEAD", cwd=self.work)

    def tamper(self):
        """The tip replaced by a copy with another message and the same signature, pushed."""
        raw = subprocess.run(["git", "cat-file", "commit", "HEAD"], cwd=self.work, check=True, capture_output=True,
                             text=True).stdout
        forged = raw.replace("lab facts for pull mode", "lab facts for pull mode, and more")
        sha = subprocess.run(["git", "hash-object", "-t", "commit", "-w", "--stdin"], cwd=self.work, input=forged,
                             check=True, capture_output=True, text=True).stdout.strip()
        git("push", "-q", "--force", "origin", sha + ":refs/heads/main", cwd=self.work)
        return sha


def facts(extra=""):
    """The lab facts an operator's repository holds for pull mode: what the lab inventory reads from
    the controller's lab cache (the private Tor network's authorities) written out as data."""
    dirauths = [line for line in (CACHE / "tornet" / "dirauths").read_text().splitlines()
                if line.startswith("DirAuthority ")]
    return "---\n" + json.dumps({"lab_tor_dirauths": dirauths}) + "\n" + extra


def pull_playbook(lab, *extra):
    signer = {"principal": "release@lab", "key": (lab.tmp / "release-key.pub").read_text().strip()}
    evars = {"pull_nodes_group": NODE, "pull_url": lab.url, "pull_allowed_signers": [signer],
             "pull_inventory": "inventories/lab/hosts.yml", "pull_playbook": "playbooks/stabilize.yml",
             "pull_interval_sec": 86400, "pull_randomized_delay_sec": 0}
    return controller([BIN + "/ansible-playbook", "playbooks/pull.yml", "-e", json.dumps(evars), *extra],
                      check=False, timeout=900)


def node_recap(res, host=NODE):
    counts = recap(res.stdout).get(host)
    assert counts, res.stdout[-3000:] + res.stderr[-2000:]
    return counts


def pull_now(host):
    """One run of the service (joining the timer's first run if that is still going); its state."""
    run = host.run("systemctl start archipelago-pull.service")
    state = json.loads(host.check_output("cat %s" % STATE))
    return run.rc, state


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    lab = Lab(tmp_path_factory.mktemp("pull"))
    lab.good = lab.commit("inventories/lab/group_vars/archipelago/pull.yml", facts())
    lab.serve()
    yield lab
    lab.stop()
    res = pull_playbook(lab, "-e", "pull_state=absent")
    assert res.returncode == 0, res.stdout[-3000:]
    host = node_host(NODE)
    assert not host.file("/etc/systemd/system/archipelago-pull.timer").exists
    assert not host.file("/var/lib/archipelago/pull").exists and not host.file(METRICS).exists
    assert "archipelago-pull" not in host.check_output("systemctl list-timers --all --no-legend")


def test_pull_mode_converges_the_node_and_a_second_pull_changes_nothing(lab):
    host = node_host(NODE)
    host.run("rm -f %s" % OWNED)
    res = pull_playbook(lab, "-e", '{"pull_allowed_signers": [{"principal": "x", "key": "ssh-ed25519 not-base64!"}]}')
    assert res.returncode != 0 and "pull_allowed_signers must list at least one" in " ".join(res.stdout.split())
    res = pull_playbook(lab, "--check")
    assert res.returncode == 0, res.stdout[-3000:]
    assert not host.file("/etc/systemd/system/archipelago-pull.timer").exists
    assert not host.file("/etc/archipelago/pull.json").exists
    res = pull_playbook(lab)
    assert res.returncode == 0 and node_recap(res)["changed"] > 0, res.stdout[-3000:]
    assert node_recap(pull_playbook(lab))["changed"] == 0                    # the role itself is idempotent
    assert host.service("archipelago-pull.timer").is_enabled and host.service("archipelago-pull.timer").is_running
    rc, state = pull_now(host)
    assert rc == 0 and state["result"] == "applied" and state["last_good"] == lab.good, state["message"]
    assert host.file(OWNED).exists                                     # stabilize.yml put it back, locally
    rc, state = pull_now(host)
    assert rc == 0 and state["result"] == "applied" and state["changed"] == 0, state
    assert 'archipelago_pull_result{result="applied"} 1' in host.check_output("cat %s" % METRICS)
    assert "archipelago-pull: applied: applied %s" % lab.good[:12] in \
        host.check_output("journalctl -u archipelago-pull.service --no-pager -n 20")


def test_a_tampered_revision_is_refused_and_nothing_changes(lab):
    host = node_host(NODE)
    lab.commit("inventories/lab/group_vars/archipelago/pull.yml", facts("logrotate_keep: 2\n"))
    bad = lab.tamper()
    before = host.check_output("sha256sum %s" % OWNED)
    rc, state = pull_now(host)
    assert state["result"] == "kept" and state["target"] == bad and state["last_good"] == lab.good, state
    assert "does not verify" in state["message"] and state["changed"] == 0
    assert host.check_output("sha256sum %s" % OWNED) == before
    assert not host.file("/var/lib/archipelago/pull/revisions/" + bad).exists
    assert 'archipelago_pull_result{result="kept"} 1' in host.check_output("cat %s" % METRICS)


def test_with_the_remote_down_the_node_stays_on_its_last_good_revision_and_says_so(lab):
    host = node_host(NODE)
    lab.stop()
    rc, state = pull_now(host)
    assert rc == 0 and state["result"] == "kept" and state["last_good"] == lab.good, state
    assert "fetching main from %s failed" % lab.url in state["message"]
    assert "kept the last good revision %s" % lab.good[:12] in \
        host.check_output("journalctl -u archipelago-pull.service --no-pager -n 5")
