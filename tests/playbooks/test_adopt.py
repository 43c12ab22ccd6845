"""playbooks/adopt.yml on the lab in the incident state (the first file of this suite): arch2 as the
plan's March 2026 node (plain containers only), arch1 with v1.8 manifests and the orphan ollama.
--check writes nothing; a run writes a model the containers role accepts, keeps the environment
values on the node and nowhere else; a second run changes nothing."""
import pathlib
import re
import sys

import pytest
import yaml

from labhosts import changed, controller, node_host

ROOT = pathlib.Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "collections"))
from ansible_collections.archipelago.node.plugins.plugin_utils import apps  # noqa: E402

BIN = pathlib.Path(sys.executable).parent
BOTH = ["arch1", "arch2"]
LAB = yaml.safe_load((ROOT / "inventories/lab/group_vars/archipelago/apps.yml").read_text())
LAB_APPS = {a["id"]: a for a in LAB["archipelago_apps"]}
ENV_DIR = "/var/lib/archipelago/secrets/apps"
# Values of the lab model's environments that are secrets (passwords of the lab databases).
SECRETS = ["lab-btcpay-db", "lab-immich-db"]


def adopt(out, *args):
    res = controller([str(BIN / "ansible-playbook"), "playbooks/adopt.yml", "-e", f"adopt_dir={out}", *args],
                     check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    return res, changed(res.stdout)


@pytest.fixture(scope="module")
def adopted(tmp_path_factory):
    """--check first, then the run (pytest may order the tests of this file as it likes)."""
    out = tmp_path_factory.mktemp("adopted")
    _, check_changed = adopt(out, "--check")
    check = {"files": sorted(p.name for p in out.iterdir()), "changed": check_changed,
             "env_dirs": {n: node_host(n).file(ENV_DIR).exists for n in BOTH}}
    res, changed = adopt(out)
    texts = {n: (out / f"{n}.yml").read_text() for n in BOTH}
    return {"out": out, "stdout": res.stdout + res.stderr, "changed": changed, "texts": texts, "check": check,
            "models": {n: yaml.safe_load(t) for n, t in texts.items()}}


def test_check_mode_writes_nothing_on_the_controller_or_the_nodes(adopted):
    check = adopted["check"]
    assert check["files"] == []
    assert all(check["changed"][n] > 0 for n in BOTH), check      # it says what it would write
    assert check["env_dirs"] == {n: False for n in BOTH}


@pytest.mark.parametrize("node", BOTH)
def test_the_model_names_every_app_the_node_runs_and_the_role_accepts_it(adopted, node):
    model = adopted["models"][node]
    ids = sorted(a["id"] for a in model["archipelago_apps"])
    assert ids == sorted(LAB_APPS)                          # archy-tor is the tor role's; ollama is not complete
    assert sorted(map(tuple, (sorted(n.items()) for n in model["archipelago_networks"]))) == \
        sorted(map(tuple, (sorted(n.items()) for n in LAB["archipelago_networks"])))
    plan = apps.plan(model["archipelago_apps"], apps.SELECTION_TIERS,
                     [n["name"] for n in model["archipelago_networks"]])
    by_id = {a["id"]: a for a in plan["apps"]}
    for app_id, lab in LAB_APPS.items():
        assert by_id[app_id]["image"] == lab["container"]["image"]          # what runs, not the catalogue's
        assert all(p["bind"] == "127.0.0.1" for p in by_id[app_id]["ports"])
    # The March containers have no memory limit and no unit: the catalogue gives the plan's limits.
    assert by_id["bitcoin-knots"]["memory_limit"] == "2g"
    assert by_id["archy-mempool-web"]["memory_limit"] == "256m"
    text = adopted["texts"][node]
    assert "restart=always" in text and "published on every address" in text


def test_manifests_are_read_where_the_node_has_them(adopted):
    arch1 = {a["id"]: a for a in adopted["models"]["arch1"]["archipelago_apps"]}
    arch2 = {a["id"]: a for a in adopted["models"]["arch2"]["archipelago_apps"]}
    # The manifests' checks (the lab model's, every 15 s); without them the stand-in image's own
    # HEALTHCHECK (every 30 s), since the node runs another image than the catalogue's.
    want = {k: v for k, v in LAB_APPS["bitcoin-knots"]["health_check"].items() if k != "start_period"}
    assert arch1["bitcoin-knots"]["health_check"] == dict(want, start_period="10s")   # a manifest has none
    assert arch2["bitcoin-knots"]["health_check"]["command"] == "/usr/local/bin/standin --probe"
    assert arch2["bitcoin-knots"]["health_check"]["interval"] == "30s"
    assert arch1["mempool-api"]["dependencies"] == LAB_APPS["mempool-api"]["dependencies"]


def test_the_orphan_needs_an_operators_word_and_is_left_out(adopted):
    text = adopted["texts"]["arch1"]
    assert re.search(r"^#\s+ollama: missing .*resources.memory_limit.*startup_tier", text, re.M), text[:3000]
    assert "ollama" not in {a["id"] for a in adopted["models"]["arch1"]["archipelago_apps"]}


@pytest.mark.parametrize("node", BOTH)
def test_environment_values_stay_on_the_node_in_0600_files(adopted, node):
    for secret in SECRETS:
        assert secret not in adopted["texts"][node]
        assert secret not in adopted["stdout"]
    db = next(a for a in adopted["models"][node]["archipelago_apps"] if a["id"] == "archy-btcpay-db")
    assert db["environment_file"] == f"{ENV_DIR}/archy-btcpay-db.env" and "environment" not in db
    f = node_host(node).file(db["environment_file"])
    assert (f.mode, f.user) == (0o600, "root")
    assert "POSTGRES_PASSWORD=lab-btcpay-db" in f.content_string.splitlines()
    assert node_host(node).file(ENV_DIR).mode == 0o700


def test_a_second_run_changes_nothing(adopted):
    _, counts = adopt(adopted["out"])
    assert counts == {"arch1": 0, "arch2": 0}
