"""The collection as its users and Ansible's own tooling see it: every module's documentation
renders with ansible-doc, and ansible-test sanity passes for the Python installed here."""
import json
import os
import pathlib
import re
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "ansible_collections" / "archipelago" / "node"
BIN = pathlib.Path(sys.executable).parent
MODULES = sorted(p.stem for p in (COLLECTION / "plugins" / "modules").glob("*.py") if p.stem != "__init__")
ENV = {**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(ROOT / "collections")}


def test_every_module_is_found_and_renders_with_ansible_doc():
    listed = subprocess.run([str(BIN / "ansible-doc"), "-l", "archipelago.node", "--json"], env=ENV,
                            capture_output=True, text=True, check=True)
    assert sorted(n.split(".")[-1] for n in json.loads(listed.stdout)) == MODULES
    out = subprocess.run([str(BIN / "ansible-doc"), "--json"] + ["archipelago.node." + m for m in MODULES],
                         env=ENV, capture_output=True, text=True)
    assert out.returncode == 0 and "ERROR" not in out.stderr, out.stderr
    docs = json.loads(out.stdout)
    assert len(docs) == len(MODULES)
    for name, data in docs.items():
        doc = data["doc"]
        assert doc["short_description"] and doc["description"] and doc["options"], name
        assert {"check_mode", "diff_mode"} <= set(doc["attributes"]), name
        assert data["examples"].strip() and data["return"], name
        for opt, spec in doc["options"].items():
            assert spec.get("description") and spec.get("type"), (name, opt)


def test_secret_options_are_no_log():
    """Every option whose name says it holds a secret is no_log in the argument spec."""
    source = "\n".join((COLLECTION / "plugins" / d / f).read_text()
                       for d in ("modules", "module_utils") for f in os.listdir(COLLECTION / "plugins" / d)
                       if f.endswith(".py"))
    for name in ("password", "passphrase", "code", "totp_code"):
        specs = re.findall(r"\b%s=dict\(([^)]*)\)" % name, source)
        assert specs, name
        assert all("no_log=True" in s for s in specs), (name, specs)


def offline_get_pip():
    """ansible-test fetches a get-pip script from its CI host, out of reach here: put our offline
    stand-in (scripts/ansible-test/get_pip.py) where ansible-test caches that script."""
    src = pathlib.Path(sys.executable).parent.parent / "lib"
    reqs = next(src.glob("python3*/site-packages/ansible_test/_internal/python_requirements.py"))
    version = re.search(r"pip='([0-9.]+)'", reqs.read_text())
    assert version, "cannot find the pip version ansible-test pins in %s" % reqs
    cache = pathlib.Path.home() / ".ansible" / "test" / "cache"
    cache.mkdir(parents=True, exist_ok=True)
    target = cache / ("get_pip_%s.py" % version.group(1).replace(".", "_"))
    stub = (ROOT / "scripts" / "ansible-test" / "get_pip.py").read_text()
    if not target.exists() or "ensurepip" in target.read_text():
        target.write_text(stub)


def test_ansible_test_sanity_passes():
    offline_get_pip()
    py = "%d.%d" % sys.version_info[:2]
    out = subprocess.run([str(BIN / "ansible-test"), "sanity", "--local", "--python", py, "--color", "no"],
                         cwd=COLLECTION, env={**ENV, "PATH": "%s:%s" % (BIN, os.environ["PATH"])},
                         capture_output=True, text=True, timeout=1800)
    errors = [line for line in (out.stdout + out.stderr).splitlines() if line.startswith(("ERROR", "FATAL"))]
    assert out.returncode == 0, "\n".join(errors) or out.stdout[-3000:] + out.stderr[-3000:]


def test_ansible_test_units_pass():
    """The collection's own unit tests (tests/unit/plugins/ inside it), as ansible-test runs them."""
    py = "%d.%d" % sys.version_info[:2]
    out = subprocess.run([str(BIN / "ansible-test"), "units", "--local", "--python", py, "--color", "no"],
                         cwd=COLLECTION, env={**ENV, "PATH": "%s:%s" % (BIN, os.environ["PATH"])},
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    counts = [int(n) for n in re.findall(r"=+ (\d+) passed", out.stdout)]
    assert len(counts) == 2 and min(counts) > 0, out.stdout[-2000:]  # module_utils and controller


def test_ansible_lint_production_profile_over_the_whole_repository():
    """.ansible-lint: profile production, every path of the repository but generated files."""
    out = subprocess.run([str(BIN / "ansible-lint")], cwd=ROOT, env={**ENV, "PATH": "%s:%s" % (BIN, os.environ["PATH"])},
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    assert "Profile 'production' was required, and it passed" in out.stderr + out.stdout


def test_every_filter_test_and_role_is_documented():
    plugins = {"filter": ["app_budget", "app_exec_start", "app_health_timeout", "app_model", "app_plan", "app_record",
                          "app_web_route", "nginx_site_harden", "release_prune", "unit_states"],
               "test": ["image_pinned", "unit_up"]}
    for kind, names in plugins.items():
        listed = subprocess.run([str(BIN / "ansible-doc"), "-t", kind, "-l", "archipelago.node", "--json"],
                                env=ENV, capture_output=True, text=True, check=True)
        assert sorted(n.split(".")[-1] for n in json.loads(listed.stdout)) == names, kind
        out = subprocess.run([str(BIN / "ansible-doc"), "-t", kind, "--json"] + ["archipelago.node." + n for n in names],
                             env=ENV, capture_output=True, text=True)
        assert out.returncode == 0 and "ERROR" not in out.stderr, out.stderr
        for name, data in json.loads(out.stdout).items():
            assert data["doc"]["short_description"] and data["examples"].strip() and data["return"], name
    roles = sorted(p.name for p in (COLLECTION / "roles").iterdir() if p.is_dir())
    listed = subprocess.run([str(BIN / "ansible-doc"), "-t", "role", "-l", "archipelago.node", "--json"],
                            env=ENV, capture_output=True, text=True, check=True)
    assert sorted(n.split(".")[-1] for n in json.loads(listed.stdout)) == roles


def test_changelog_fragments_and_changelog_are_valid():
    env = {**ENV, "PATH": "%s:%s" % (BIN, os.environ["PATH"])}
    out = subprocess.run([str(BIN / "antsibull-changelog"), "lint"], cwd=COLLECTION, env=env,
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr
    out = subprocess.run([str(BIN / "antsibull-changelog"), "lint-changelog-yaml", "changelogs/changelog.yaml"],
                         cwd=COLLECTION, env=env, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0 and not out.stdout.strip(), out.stdout + out.stderr
    import yaml
    galaxy = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())
    changes = yaml.safe_load((COLLECTION / "changelogs" / "changelog.yaml").read_text())
    assert galaxy["version"] in changes["releases"], "galaxy.yml's version has no changelog entry"
    assert (COLLECTION / "LICENSE").is_file() and (COLLECTION / "CHANGELOG.rst").is_file()


def test_galaxy_dependencies_are_the_requirements_and_core_is_a_lower_bound():
    import yaml
    galaxy = yaml.safe_load((COLLECTION / "galaxy.yml").read_text())
    reqs = {r["name"]: r["version"] for r in yaml.safe_load((ROOT / "requirements.yml").read_text())["collections"]}
    assert galaxy["dependencies"] == reqs
    runtime = yaml.safe_load((COLLECTION / "meta" / "runtime.yml").read_text())
    assert runtime["requires_ansible"].startswith(">=") and "<" not in runtime["requires_ansible"]


def test_every_test_named_in_bad_inputs_exists():
    """docs/bad-inputs.md is checked against the tests: each test a row names is defined (a row
    whose test was renamed or removed fails here)."""
    doc = (COLLECTION / "docs" / "bad-inputs.md").read_text()
    named = set(re.findall(r"`(test_[a-z0-9_]+)(?:\*)?`", doc))
    assert len(named) > 20
    defined = set()
    for folder in (ROOT / "tests", COLLECTION / "tests" / "unit"):
        for f in folder.rglob("test_*.py"):
            defined |= set(re.findall(r"^def (test_[a-z0-9_]+)", f.read_text(), re.M))
    wildcards = {n for n in named if n.endswith("_")}
    missing = sorted(n for n in named - wildcards if n not in defined)
    assert missing == [], "bad-inputs.md names tests that do not exist: %s" % missing


def test_dwn_protocol_docs_are_generated_from_the_definitions_and_the_schemas_are_json_schemas():
    """SCHEMA-01: docs/dwn-protocols.md is current, every record type has a JSON Schema that is
    one (Draft 2020-12), and sample records pass or fail it as they should."""
    import jsonschema
    sys.path.insert(0, str(ROOT / "collections"))
    from ansible_collections.archipelago.node.plugins.module_utils import dwn_protocols as dp
    out = subprocess.run([sys.executable, str(ROOT / "scripts" / "dwn_docs.py"), "--check"])
    assert out.returncode == 0, "docs/dwn-protocols.md is not current: run scripts/dwn_docs.py"
    assert len(dp.definitions()) == 4
    schemas = dp.schemas()
    for definition in dp.definitions():
        assert dp.check_definition(definition) is None
        for rtype, spec in definition["types"].items():
            jsonschema.Draft202012Validator.check_schema(schemas[spec["schema"]])
    announcement = schemas["https://archipelago.example/dwn/node-identity/v1/schemas/announcement"]
    good = {"did": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK", "name": "arch1",
            "announced": "2026-12-01T00:00:00Z", "onion": "a" * 56 + ".onion"}
    jsonschema.validate(good, announcement)
    for bad in (dict(good, did="someone"), dict(good, extra=1), {"name": "arch1"}):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(bad, announcement)
