"""The collection as a user installs it: the built tarball, installed into an empty path beside only
the collections of requirements.yml (no repository, no ansible.cfg, no roles path), lists every role
and documents every plugin, and runs `ansible-playbook archipelago.node.stabilize --check` against
the lab from an empty directory."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "ansible_collections" / "archipelago" / "node"
BIN = pathlib.Path(sys.executable).parent


def bundled_collections():
    """Where the PyPI 'ansible' bundle keeps its collections (this project's Galaxy stand-in)."""
    import ansible_collections
    return pathlib.Path(list(ansible_collections.__path__)[-1])


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    base = tmp_path_factory.mktemp("install")
    build, path, empty = base / "build", base / "collections", base / "empty"
    for d in (build, path / "ansible_collections", empty):
        d.mkdir(parents=True)
    # The dependencies, as `ansible-galaxy collection install -r requirements.yml` would put them.
    for req in yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]:
        ns, name = req["name"].split(".")
        shutil.copytree(bundled_collections() / ns / name, path / "ansible_collections" / ns / name, symlinks=True)
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANSIBLE_")}
    env.update(ANSIBLE_COLLECTIONS_PATH=str(path), ANSIBLE_COLLECTIONS_SCAN_SYS_PATH="false",
               ANSIBLE_HOME=str(base / "home"), PATH="%s:%s" % (BIN, os.environ["PATH"]))

    def run(*cmd, timeout=300):
        return subprocess.run([str(BIN / cmd[0]), *cmd[1:]], cwd=empty, env=env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
    out = run("ansible-galaxy", "collection", "build", str(COLLECTION), "--output-path", str(build))
    assert out.returncode == 0, out.stdout + out.stderr
    tarball = next(build.glob("archipelago-node-*.tar.gz"))
    out = run("ansible-galaxy", "collection", "install", str(tarball), "-p", str(path), "--offline")
    assert out.returncode == 0, out.stdout + out.stderr
    assert (path / "ansible_collections" / "archipelago" / "node" / "MANIFEST.json").is_file()
    return run, tarball


def test_tarball_holds_the_roles_playbooks_license_and_changelog(installed):
    _, tarball = installed
    names = subprocess.run(["tar", "tzf", str(tarball)], capture_output=True, text=True, check=True).stdout.split()
    roles = sorted(p.name for p in (COLLECTION / "roles").iterdir() if p.is_dir())
    for role in roles:
        assert f"roles/{role}/tasks/main.yml" in names and f"roles/{role}/meta/argument_specs.yml" in names
    for playbook in ("stabilize", "federate", "canary", "reboot_survival"):
        assert f"playbooks/{playbook}.yml" in names
    assert {"LICENSE", "CHANGELOG.rst", "meta/runtime.yml", "changelogs/changelog.yaml"} <= set(names)
    assert not [n for n in names if n.startswith("tests/output")]


def test_every_role_and_plugin_is_listed_and_documented(installed):
    run, _ = installed
    roles = sorted(p.name for p in (COLLECTION / "roles").iterdir() if p.is_dir())
    out = run("ansible-doc", "-t", "role", "-l", "archipelago.node", "--json")
    assert out.returncode == 0, out.stderr
    assert sorted(n.split(".")[-1] for n in json.loads(out.stdout)) == roles
    for kind, folder in (("module", "modules"), ("filter", "filter"), ("test", "test")):
        out = run("ansible-doc", "-t", kind, "-l", "archipelago.node", "--json")
        assert out.returncode == 0, out.stderr
        listed = sorted(json.loads(out.stdout))
        assert listed, kind
        doc = run("ansible-doc", "-t", kind, "--json", *listed)
        assert doc.returncode == 0 and "ERROR" not in doc.stderr, (kind, doc.stderr)
        for name, data in json.loads(doc.stdout).items():
            assert data["doc"]["short_description"], (kind, name)
    modules = {p.stem for p in (COLLECTION / "plugins" / "modules").glob("*.py") if p.stem != "__init__"}
    out = run("ansible-doc", "-t", "module", "-l", "archipelago.node", "--json")
    assert {n.split(".")[-1] for n in json.loads(out.stdout)} == modules


def test_stabilize_check_from_an_empty_directory_against_the_lab(installed):
    run, _ = installed
    out = run("ansible-playbook", "-i", str(ROOT / "inventories" / "lab" / "hosts.yml"),
              "archipelago.node.stabilize", "--check", timeout=900)
    assert out.returncode == 0, out.stdout[-4000:] + out.stderr[-2000:]
    recap = {host: (unreachable, failed) for host, unreachable, failed in re.findall(
        r"^(arch\d)\s+: ok=\d+\s+changed=\d+\s+unreachable=(\d+)\s+failed=(\d+)", out.stdout, re.M)}
    assert recap == {"arch1": ("0", "0"), "arch2": ("0", "0")}, out.stdout[-3000:]
