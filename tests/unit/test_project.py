"""Project-level rules that need no lab: pins, inventories, role specs, network plan."""
import json
import pathlib
import re
import subprocess
import sys

import netaddr
import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLES = sorted(p for p in (ROOT / "roles").iterdir() if p.is_dir())


def test_ansible_core_pinned_to_2_19():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if line:
            name, _, version = line.partition("==")
            assert version, f"requirements.txt: {line!r} is not pinned with =="
            pins[name.split("[")[0]] = version
    assert pins["ansible-core"].startswith("2.19.")
    import ansible.release
    assert ansible.release.__version__.startswith("2.19.")


def test_requirements_yml_met_by_installed_collections():
    from ansible.galaxy.dependency_resolution.versioning import meets_requirements
    out = subprocess.run([str(pathlib.Path(sys.executable).parent / "ansible-galaxy"), "collection", "list",
                          "--format", "json"], capture_output=True, text=True, check=True, cwd=ROOT).stdout
    installed = {}
    for colls in json.loads(out).values():
        for name, info in colls.items():
            installed.setdefault(name, info["version"])
    for req in yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]:
        assert req["name"] in installed, f"{req['name']} is not installed"
        assert meets_requirements(installed[req["name"]], req["version"]), (req, installed[req["name"]])


def test_production_inventory_is_a_template_without_addresses():
    text = "".join(p.read_text() for p in (ROOT / "inventories" / "production").rglob("*.yml"))
    data = yaml.safe_load((ROOT / "inventories" / "production" / "hosts.yml").read_text())
    managed = data["all"]["children"]["managed"]["children"]
    hosts = managed["archipelago"]["children"]
    assert set(hosts["canary"]["hosts"]) == {"arch2"} and set(hosts["main"]["hosts"]) == {"arch1"}
    assert set(managed["monitoring"]["hosts"]) == {"monitor"}
    assert not re.search(r"\b\d{1,3}(\.\d{1,3}){3}\b", text), "an IP address in the production inventory"
    assert not re.search(r"^\s*ansible_host:", text, re.M), "a live ansible_host in the production template"


def test_lab_subnet_does_not_overlap_the_nodes_inner_networks():
    lab = (ROOT / "lab" / "lab").read_text()
    subnet = netaddr.IPNetwork(re.search(r"^SUBNET=(\S+)", lab, re.M).group(1))
    for inner in ("10.88.0.0/16", "10.89.0.0/16"):
        assert netaddr.IPSet([subnet]).isdisjoint(netaddr.IPSet([inner])), inner


def configured_registry_hosts():
    """Host names of the package mirrors this machine is configured with (apt, pip, npm)."""
    hosts = set()
    files = list(pathlib.Path("/etc/apt").rglob("*.sources")) + list(pathlib.Path("/etc/apt").rglob("*.list"))
    files += [pathlib.Path(p) for p in ("/etc/pip.conf", "/etc/xdg/pip/pip.conf", "/root/.npmrc", "/etc/npmrc")]
    for f in files:
        if f.is_file():
            hosts |= set(re.findall(r"https?://([A-Za-z0-9.-]+\.[A-Za-z]{2,})", f.read_text(errors="ignore")))
    return hosts


def test_no_package_registry_host_named_in_the_tree():
    hosts = configured_registry_hosts()
    tracked = subprocess.run(["git", "ls-files"], capture_output=True, text=True, cwd=ROOT).stdout.split()
    hits = [(f, h) for f in tracked if (ROOT / f).is_file()
            for h in hosts if h in (ROOT / f).read_text(errors="ignore")]
    assert hits == []


@pytest.mark.parametrize("role", ROLES, ids=[r.name for r in ROLES])
def test_role_argument_specs_match_defaults(role):
    spec = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())
    options = spec["argument_specs"]["main"]["options"]
    defaults = yaml.safe_load((role / "defaults" / "main.yml").read_text()) or {}
    assert set(defaults) == set(options), "defaults and argument_specs name different variables"
    for name, value in defaults.items():
        assert options[name].get("default") == value, f"{name}: spec {options[name].get('default')!r} != {value!r}"
    # The base role owns the facts every role shares; they carry the collection's prefix.
    prefixes = (role.name + "_", "archipelago_") if role.name == "base" else (role.name + "_",)
    for name in options:
        assert name.startswith(prefixes), f"{name} is not prefixed with the role name"


CONNECTION_VARS = ("ansible_connection", "ansible_user", "ansible_become", "ansible_python_interpreter")


def test_lab_and_production_reach_nodes_the_same_way():
    """Both inventories: SSH as the deploy user, sudo; the lab differs only in key and known_hosts."""
    lab = yaml.safe_load((ROOT / "inventories" / "lab" / "group_vars" / "managed" / "main.yml").read_text())
    prod = yaml.safe_load((ROOT / "inventories" / "production" / "group_vars" / "managed.yml").read_text())
    for var in CONNECTION_VARS:
        assert lab.get(var) == prod.get(var), f"{var}: lab {lab.get(var)!r}, production {prod.get(var)!r}"
    assert prod["ansible_connection"] == "ssh" and prod["ansible_user"] == "archipelago" and prod["ansible_become"]
    assert "StrictHostKeyChecking=yes" in lab["ansible_ssh_common_args"]
    assert "ansible_podman_extra_args" not in lab


def test_host_key_checking_is_not_turned_off():
    import configparser
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "ansible.cfg")
    assert cfg.get("defaults", "host_key_checking", fallback="True").lower() not in ("false", "no", "0")
    for f in (ROOT / "inventories").rglob("*.yml"):
        assert not re.search(r"StrictHostKeyChecking=no|host_key_checking:\s*false", f.read_text(), re.I), f
    molecule = (ROOT / ".config" / "molecule" / "config.yml").read_text()
    assert "host_key_checking: true" in molecule and "StrictHostKeyChecking=yes" in molecule


def test_no_suite_reaches_a_node_with_podman_exec():
    """The suites under test reach nodes over SSH; the podman connection appears nowhere they run."""
    for suite in ("incident", "healthy", "fleet", "acceptance", "molecule", "playbooks", "lab"):
        for f in (ROOT / "tests" / suite).rglob("*.py"):
            text = f.read_text()
            assert "podman://" not in text and "containers.podman.podman\"" not in text, f
    for f in list((ROOT / "molecule").rglob("*.yml")) + list((ROOT / "molecule").rglob("*.py")):
        assert "containers.podman.podman" not in f.read_text() and "podman://" not in f.read_text(), f


def doubled_backslashes(paths):
    """(file, start of the value) of every templated YAML value ('{{' in it) that still holds two
    backslashes once YAML has read it. Ansible passes a template's string literals to Jinja with
    their backslashes as written, so '\\\\.env$' there is a regex for a backslash, and '\\\\1' a
    literal backslash and 1, not a group; a conditional (when, that) is read the other way. One
    backslash is what such a template means."""
    found = []

    def walk(value, path):
        if isinstance(value, dict):
            for v in value.values():
                walk(v, path)
        elif isinstance(value, list):
            for v in value:
                walk(v, path)
        elif isinstance(value, str) and "{{" in value and "\\\\" in value:
            found.append((str(path.relative_to(ROOT)) if ROOT in path.parents else path.name, value.strip()[:80]))
    for path in paths:
        for doc in yaml.safe_load_all(path.read_text()):
            walk(doc, path)
    return found


def project_yaml():
    tops = [ROOT / "collections" / "ansible_collections" / "archipelago" / "node" / d for d in ("roles", "playbooks")]
    tops += [ROOT / "inventories", ROOT / "molecule", ROOT / "playbooks"]
    return sorted(p for top in tops for p in top.rglob("*.yml") if "templates" not in p.parts)


def test_no_template_regex_with_doubled_backslashes():
    assert doubled_backslashes(project_yaml()) == []


def test_the_doubled_backslash_check_can_fail(tmp_path):
    bad = tmp_path / "doubled-backslash.yml"
    bad.write_text("x: >-\n  {{ ['lnd.env'] | map('regex_replace', '\\\\.env$', '') | list }}\n"
                   "ok: \"{{ 'a' | regex_replace('\\\\.', '') }}\"\n")
    assert doubled_backslashes([bad]) == [("doubled-backslash.yml",
                                           "{{ ['lnd.env'] | map('regex_replace', '\\\\.env$', '') | list }}")]


def test_test_files_have_unique_names():
    """The suites are folders without __init__.py, so pytest imports each test file by its name:
    two files of one name stop the whole session at collection."""
    names = [p.name for p in (ROOT / "tests").rglob("test_*.py")]
    assert sorted({n for n in names if names.count(n) > 1}) == []
