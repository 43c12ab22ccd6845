"""The collection as a user installs it: the built tarball, installed into an empty path beside only
the collections of requirements.yml (no repository, no ansible.cfg, no roles path), lists every role
and documents every plugin (the `installed` fixture is in conftest.py; test_stabilize.py runs the
installed collection's `archipelago.node.stabilize --check --diff` against the lab from an empty
directory)."""
import json
import subprocess

from labhosts import COLLECTION


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
