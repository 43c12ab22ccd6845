"""archipelago-pull (roles/pull/files): the pull runner against real git repositories signed with
real SSH keys (ssh-keygen, git verify-commit), and a stand-in ansible-playbook that logs what it
ran, except where the real one runs a small playbook locally."""
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile

import pytest

from rolefile import load_role_file

p = load_role_file("pull", "archipelago-pull")
REAL_PLAYBOOK = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")

STAND_IN = """#!/bin/sh
# Logs its arguments and the tree it ran in; fails when the playbook says so.
printf '%s\\n' "$PWD $*" >> {log}
grep -q FAIL "$(eval echo \\${{$#}})" && {{ echo "fatal: the task failed"; echo "arch1 : ok=1 changed=0 unreachable=0 failed=1"; exit 2; }}
echo "PLAY RECAP"
echo "arch1                      : ok=5    changed=$(cat changes 2>/dev/null || echo 0)    unreachable=0    failed=0    skipped=1"
"""


def sh(*argv, cwd=None, env=None):
    return subprocess.run(argv, cwd=cwd, env=env, check=True, capture_output=True, text=True).stdout.strip()


class Remote:
    """A git repository on disk, its commits signed with the operator's key unless told otherwise."""

    def __init__(self, root):
        self.root, self.dir = root, root / "remote"
        for name in ("operator", "stranger"):
            sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", name, "-f", str(root / name))
        self.signers = root / "allowed_signers"
        self.signers.write_text('ops@example namespaces="git" %s' % (root / "operator.pub").read_text())
        sh("git", "init", "-q", "-b", "main", str(self.dir))
        for key, value in (("user.email", "ops@example"), ("user.name", "ops"), ("gpg.format", "ssh"),
                           ("user.signingkey", str(root / "operator"))):
            sh("git", "-C", str(self.dir), "config", key, value)

    def commit(self, files, key="operator", sign=True):
        for name, text in files.items():
            (self.dir / name).parent.mkdir(parents=True, exist_ok=True)
            (self.dir / name).write_text(text)
        sh("git", "-C", str(self.dir), "add", "-A")
        args = ["git", "-C", str(self.dir), "-c", "user.signingkey=%s" % (self.root / key), "commit", "-q",
                "--allow-empty", "-m", "change"]
        sh(*(args + (["-S"] if sign else ["--no-gpg-sign"])))
        return sh("git", "-C", str(self.dir), "rev-parse", "HEAD")

    def tamper(self):
        """Replaces the tip by a copy of it with a changed message and the same signature."""
        raw = sh("git", "-C", str(self.dir), "cat-file", "commit", "HEAD") + "\n"
        forged = raw.replace("\n\nchange\n", "\n\nchange, and more\n")
        assert forged != raw and "gpgsig" in forged
        sha = subprocess.run(["git", "-C", str(self.dir), "hash-object", "-t", "commit", "-w", "--stdin"],
                             input=forged, capture_output=True, text=True, check=True).stdout.strip()
        sh("git", "-C", str(self.dir), "update-ref", "refs/heads/main", sha)
        return sha


@pytest.fixture
def remote(tmp_path):
    r = Remote(tmp_path)
    r.commit({"stabilize.yml": "- hosts: all\n", "inventory/hosts.yml": "all: {hosts: {arch1: {}}}\n"})
    return r


@pytest.fixture
def node(tmp_path, remote):
    """Writes the runner's config; returns run(**overrides) -> (rc, state, what the stand-in ran)."""
    log = tmp_path / "ran.log"
    stand_in = tmp_path / "ansible-playbook"
    stand_in.write_text(STAND_IN.format(log=log))
    stand_in.chmod(0o755)
    base = {"url": str(remote.dir), "branch": "main", "allowed_signers": str(remote.signers),
            "playbook": "stabilize.yml", "inventory": "inventory/hosts.yml", "limit": "arch1",
            "ansible_playbook": str(stand_in), "state_dir": str(tmp_path / "state"),
            "metrics_file": str(tmp_path / "textfile" / "pull.prom"), "fetch_timeout_sec": 30}

    def run(**overrides):
        cfg = dict(base, **overrides)
        (tmp_path / "pull.json").write_text(json.dumps(cfg))
        log.write_text("")
        rc = p.main(["archipelago-pull", str(tmp_path / "pull.json")])
        state = json.loads((tmp_path / cfg["state_dir"] / "state.json").read_text())
        return rc, state, log.read_text().splitlines()
    run.tmp = tmp_path
    return run


def test_a_signed_revision_is_applied_in_its_own_tree_and_recorded(node, remote):
    sha = sh("git", "-C", str(remote.dir), "rev-parse", "HEAD")
    rc, state, ran = node()
    assert rc == 0 and state["result"] == "applied" and state["last_good"] == sha
    assert state["signer"] == "ops@example" and state["changed"] == 0
    tree = node.tmp / "state" / "revisions" / sha
    assert ran == ['%s -i inventory/hosts.yml -l arch1 -e {"ansible_connection": "local", "ansible_become": false, '
                   '"ansible_python_interpreter": "%s"} stabilize.yml' % (tree, sys.executable)]
    assert (tree / "stabilize.yml").read_text() == "- hosts: all\n"
    prom = (node.tmp / "textfile" / "pull.prom").read_text()
    assert 'archipelago_pull_result{result="applied"} 1' in prom
    assert 'archipelago_pull_result{result="refused"} 0' in prom
    assert 'archipelago_pull_revision_info{revision="%s"} 1' % sha in prom


def test_the_second_pull_of_the_same_revision_reuses_its_tree(node, remote):
    node()
    rc, state, ran = node()
    assert rc == 0 and state["result"] == "applied" and len(ran) == 1


@pytest.mark.parametrize("how,message", [
    ("unsigned", "is not signed"),
    ("stranger", "is signed by a key not in"),
    ("tampered", "does not verify"),
])
def test_a_bad_revision_is_refused_unwritten_and_the_last_good_one_kept(node, remote, how, message):
    node()
    good = sh("git", "-C", str(remote.dir), "rev-parse", "HEAD")
    if how == "tampered":
        remote.commit({"stabilize.yml": "- hosts: all  # new\n"})
        bad = remote.tamper()
    else:
        bad = remote.commit({"stabilize.yml": "- hosts: all  # new\n"}, key="stranger", sign=how == "stranger")
    rc, state, ran = node()
    assert state["result"] == "kept" and rc == 0, state
    assert message in state["message"] and state["last_good"] == good and state["target"] == bad
    assert not (node.tmp / "state" / "revisions" / bad).exists()        # nothing of it written
    assert len(ran) == 1 and ran[0].startswith(str(node.tmp / "state" / "revisions" / good))
    assert 'archipelago_pull_result{result="kept"} 1' in (node.tmp / "textfile" / "pull.prom").read_text()


def test_a_bad_first_revision_is_refused_and_nothing_runs(node, remote):
    remote.commit({"stabilize.yml": "- hosts: all  # unsigned\n"}, sign=False)
    rc, state, ran = node()
    assert rc == 1 and state["result"] == "refused" and ran == [] and not state["last_good"]
    assert "no good revision applied yet" in state["message"]


def test_the_remote_down_keeps_the_last_good_revision_and_says_so(node, remote, capsys):
    node()
    good = sh("git", "-C", str(remote.dir), "rev-parse", "HEAD")
    shutil.move(remote.dir, node.tmp / "elsewhere")
    rc, state, ran = node()
    assert rc == 0 and state["result"] == "kept" and state["last_good"] == good
    assert "fetching main from" in state["message"] and "kept the last good revision" in state["message"]
    assert "does not appear to be a git repository" in state["message"]
    assert len(ran) == 1
    assert "archipelago-pull: kept: fetching main" in capsys.readouterr().out
    rc, state, _ = node(state_dir=str(node.tmp / "fresh"))
    assert rc == 1 and state["result"] == "unreachable"


def test_a_failing_revision_leaves_the_last_good_one(node, remote):
    node()
    good = sh("git", "-C", str(remote.dir), "rev-parse", "HEAD")
    bad = remote.commit({"stabilize.yml": "- hosts: all  # FAIL\n"})
    rc, state, _ = node()
    assert rc == 1 and state["result"] == "failed" and state["last_good"] == good and state["target"] == bad
    assert "the task failed" in state["message"] or "ansible-playbook failed" in state["message"]
    fixed = remote.commit({"stabilize.yml": "- hosts: all  # fixed\n"})
    rc, state, _ = node()
    assert rc == 0 and state["last_good"] == fixed


def test_a_pinned_revision_is_applied_not_the_tip_and_must_be_on_the_branch(node, remote):
    first = sh("git", "-C", str(remote.dir), "rev-parse", "HEAD")
    remote.commit({"stabilize.yml": "- hosts: all  # newer\n"})
    rc, state, ran = node(revision=first)
    assert rc == 0 and state["last_good"] == first
    sh("git", "-C", str(remote.dir), "checkout", "-q", "-b", "side", first)
    side = remote.commit({"x": "side"})
    sh("git", "-C", str(remote.dir), "checkout", "-q", "main")
    rc, state, _ = node(revision=side)
    assert state["result"] == "kept" and "is not on branch main of the remote" in state["message"]
    dropped = remote.commit({"x": "dropped later"})
    node()
    sh("git", "-C", str(remote.dir), "reset", "-q", "--hard", first)       # a force-push drops it
    rc, state, _ = node(revision=dropped)
    assert state["result"] == "kept" and "is no longer on branch main" in state["message"]


def test_a_revision_without_the_playbook_fails_clearly(node, remote):
    remote.commit({"other.yml": "- hosts: all\n"})
    rc, state, _ = node(playbook="missing.yml")
    assert rc == 1 and state["result"] == "failed" and "has no playbook missing.yml" in state["message"]


def test_old_trees_are_pruned_but_never_the_last_good_one(node, remote):
    shas = [sh("git", "-C", str(remote.dir), "rev-parse", "HEAD")]
    node(keep=1)
    for i in range(3):
        shas.append(remote.commit({"n": str(i)}))
        node(keep=1)
    assert sorted(os.listdir(node.tmp / "state" / "revisions")) == [shas[-1]]


def test_the_lock_keeps_a_second_run_out(node, remote, capsys):
    import fcntl
    node()
    with open(node.tmp / "state" / "lock", "w") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        assert p.main(["archipelago-pull", str(node.tmp / "pull.json")]) == 3
    assert "another run holds" in capsys.readouterr().out


@pytest.mark.parametrize("change,message", [
    ({"branch": "../x"}, "branch"), ({"revision": "abc"}, "40 hex digits"), ({"limit": "a b"}, "limit"),
    ({"playbook": "../etc/x.yml"}, "not a path inside the repository"), ({"state_dir": "rel"}, "absolute"),
    ({"url": "--upload-pack=x"}, "not a git remote"), ({"keep": 0}, "keep must be"), ({"keep": True}, "int"),
    ({"fetch_timeout_sec": 1}, "fetch_timeout_sec must be"), ({"extra": 1}, "unknown config key"),
    ({"url": ""}, "missing config keys: url"),
])
def test_bad_config_is_refused_naming_the_key(change, message):
    cfg = {"url": "/srv/x", "branch": "main", "allowed_signers": "/etc/s", "playbook": "p.yml",
           "inventory": "i", "limit": "arch1", "ansible_playbook": "/bin/true", "state_dir": "/var/lib/x"}
    p.load_config(json.dumps(cfg))
    with pytest.raises(p.ConfigError, match=message):
        p.load_config(json.dumps(dict(cfg, **change)))


def test_check_config_and_a_bad_config_change_nothing(tmp_path, capsys):
    bad = tmp_path / "pull.json"
    bad.write_text('{"url": 1}')
    assert p.main(["archipelago-pull", "--check-config", str(bad)]) == 2
    assert p.main(["archipelago-pull", str(bad)]) == 2
    assert "config key 'url' must be a str" in capsys.readouterr().err
    bad.write_text("x" * (p.MAX_CONFIG + 10))
    assert p.main(["archipelago-pull", "--check-config", str(bad)]) == 2
    assert os.listdir(tmp_path) == ["pull.json"]


@pytest.mark.skipif(not os.path.exists(REAL_PLAYBOOK), reason="needs the project's ansible-playbook")
def test_with_ansible_playbook_a_second_pull_changes_nothing(node, remote, tmp_path):
    marker = tmp_path / "marker"
    remote.commit({"stabilize.yml": (
        "- hosts: archipelago\n  gather_facts: false\n  tasks:\n"
        "    - ansible.builtin.copy: {dest: %s, content: pulled, mode: '0644'}\n") % marker,
        "inventory/hosts.yml": "archipelago: {hosts: {arch1: {ansible_connection: ssh, ansible_host: 192.0.2.1,"
                               " ansible_become: true}}}\n"})
    rc, state, _ = node(ansible_playbook=REAL_PLAYBOOK)
    assert rc == 0 and state["result"] == "applied" and state["changed"] == 1, state
    assert marker.read_text() == "pulled"
    rc, state, _ = node(ansible_playbook=REAL_PLAYBOOK)
    assert rc == 0 and state["result"] == "applied" and state["changed"] == 0, state


@pytest.mark.parametrize("name,kind,link,message", [
    ("../escape", tarfile.REGTYPE, "", "not a file inside it"),
    ("/etc/passwd", tarfile.REGTYPE, "", "not a file inside it"),
    ("dev", tarfile.CHRTYPE, "", "not a file inside it"),
    ("ln", tarfile.SYMTYPE, "/etc", "leads outside it"),
    ("a/ln", tarfile.SYMTYPE, "../../etc", "leads outside it"),
])
def test_a_tree_member_that_leaves_the_tree_is_refused(tmp_path, name, kind, link, message):
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        info = tarfile.TarInfo(name)
        info.type, info.linkname = kind, link
        tar.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
    data.seek(0)
    with tarfile.open(fileobj=data) as tar, pytest.raises(OSError, match=message):
        p.extract(tar, str(tmp_path / "out"))
    assert not (tmp_path / "out").exists()


def test_links_inside_the_tree_are_kept_without_the_data_filter(tmp_path, monkeypatch):
    monkeypatch.delattr(tarfile, "data_filter", raising=False)
    data = io.BytesIO()
    with tarfile.open(fileobj=data, mode="w") as tar:
        body = tarfile.TarInfo("dir/file")
        body.size, body.mode = 2, 0o4777
        tar.addfile(body, io.BytesIO(b"hi"))
        link = tarfile.TarInfo("roles")
        link.type, link.linkname = tarfile.SYMTYPE, "dir"
        tar.addfile(link)
    data.seek(0)
    with tarfile.open(fileobj=data) as tar:
        p.extract(tar, str(tmp_path))
    assert (tmp_path / "roles" / "file").read_text() == "hi"
    assert oct((tmp_path / "dir" / "file").stat().st_mode & 0o7777) == "0o755"
