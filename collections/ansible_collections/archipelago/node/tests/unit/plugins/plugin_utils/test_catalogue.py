"""The app catalogue (roles/base/vars/main.yml) and how a model is composed from it."""
import pathlib

import pytest
import yaml

from ansible_collections.archipelago.node.plugins.plugin_utils import apps

VARS = yaml.safe_load((pathlib.Path(__file__).resolve().parents[4] / "roles" / "base" / "vars" / "main.yml").read_text())
CATALOGUE = VARS["archipelago_catalogue"]
OWNED = VARS["archipelago_catalogue_owned"]
BY_ID = {a["id"]: a for a in CATALOGUE}
NETWORKS = ["archy-net", "immich-net"]
STATELESS = {"archy-mempool-web"}   # a static web front end: nothing to keep
GIB = 1024 ** 3

# CONT-05: the plan's memory limits, by app.
PLAN_LIMITS = {"bitcoin-knots": "2g", "lnd": "512m", "mempool-electrs": "1g", "mempool-api": "512m",
               "archy-mempool-web": "256m", "nextcloud": "1g", "immich_server": "1g", "onlyoffice": "2g"}
# The apps the issue and the plan name (the contract's container names).
NAMED = ["bitcoin-knots", "bitcoin-core", "lnd", "mempool-electrs", "electrumx", "mempool-api", "archy-mempool-web",
         "archy-mempool-db", "btcpay-server", "archy-nbxplorer", "archy-btcpay-db", "fedimint", "immich_server",
         "immich_machine_learning", "immich_postgres", "immich_redis", "nextcloud", "onlyoffice", "jellyfin",
         "vaultwarden", "filebrowser", "homeassistant", "nostr-rs-relay"]


def test_every_catalogue_app_is_a_valid_app_and_the_whole_catalogue_plans():
    plan = apps.plan(CATALOGUE, apps.SELECTION_TIERS, NETWORKS)
    assert sorted(plan["defined"]) == sorted(BY_ID)
    assert sorted(NAMED) == sorted(BY_ID)


@pytest.mark.parametrize("app_id", sorted(BY_ID))
def test_catalogue_app_is_pinned_limited_checked_and_keeps_its_data_in_volumes(app_id):
    app = apps.normalize_app(BY_ID[app_id])
    assert apps.image_pinned(app["image"]) and not app["image"].endswith(":latest")
    assert app["health"]["test"] and "standin" not in app["health"]["test"]
    assert app["volumes"] or app_id in STATELESS, "%s keeps data in its container layer" % app_id
    assert all(p["bind"] == "127.0.0.1" for p in app["ports"])
    assert "ALL" not in app["capabilities"]


def test_catalogue_holds_the_plans_memory_limits():
    assert {i: BY_ID[i]["resources"]["memory_limit"] for i in PLAN_LIMITS} == PLAN_LIMITS


def test_core_tier_stays_under_4_gb_and_runs_on_its_own():
    """SCALE-02/03: core is a minimal install: under 4 GB, no dependency outside core."""
    plan = apps.plan(CATALOGUE, ["core"], NETWORKS)
    assert [a["id"] for a in plan["apps"]] == ["bitcoin-knots", "lnd", "mempool-electrs"]
    budget = apps.budget(apps.plan(CATALOGUE, apps.SELECTION_TIERS, NETWORKS)["apps"])
    assert budget["tiers"]["core"] == {"apps": 3, "memory_bytes": int(3.5 * GIB)}
    assert budget["selections"]["core"] < 4 * GIB < budget["selections"]["core+recommended"]


def test_compose_picks_in_catalogue_order_then_own_apps_with_overrides():
    own = {"id": "my-app", "startup_tier": "app", "container": {"image": "docker.io/me/app:1"},
           "resources": {"memory_limit": "64m"}, "health_check": {"type": "tcp", "port": 80}}
    model = apps.compose([own], CATALOGUE, ["lnd", "bitcoin-knots"],
                         {"bitcoin-knots": {"resources": {"memory_limit": "3g"}, "container": {"user": "1000"}},
                          "my-app": {"tier": "optional"}}, OWNED)
    assert [a["id"] for a in model] == ["bitcoin-knots", "lnd", "my-app"]
    knots = model[0]
    assert knots["resources"]["memory_limit"] == "3g"
    # a mapping merges key by key: the image and network stay
    assert knots["container"] == dict(BY_ID["bitcoin-knots"]["container"], user="1000")
    assert model[2]["tier"] == "optional"
    assert BY_ID["bitcoin-knots"]["resources"]["memory_limit"] == "2g", "the catalogue itself changed"
    plan = apps.plan(model, apps.SELECTION_TIERS, NETWORKS)
    assert plan["tiers"][0]["apps"] == ["bitcoin-knots"]


def test_an_override_replaces_lists():
    model = apps.compose([], CATALOGUE, ["lnd"], {"lnd": {"volumes": [{"type": "bind", "source": "/srv/lnd",
                                                                       "target": "/root/.lnd"}]}})
    assert model[0]["volumes"] == [{"type": "bind", "source": "/srv/lnd", "target": "/root/.lnd"}]


@pytest.mark.parametrize("own, picks, overrides, message", [
    ([], ["bitcoin-nots"], {}, "bitcoin-nots is not in the catalogue"),
    ([], ["lnd", "lnd"], {}, "names lnd twice"),
    ([], ["archy-tor"], {}, "archy-tor is run by the tor role"),
    ([{"id": "archy-tor"}], [], {}, "archy-tor is run by the tor role"),
    ([{"id": "lnd"}], ["lnd"], {}, "both picked from the catalogue and defined"),
    ([], ["lnd"], {"bitcoin-knots": {"resources": {"memory_limit": "3g"}}}, "bitcoin-knots is not an app of the model"),
    ([], ["lnd"], {"lnd": "3g"}, "lnd maps to the keys to change"),
    ([], ["lnd"], {"lnd": {"id": "other"}}, "cannot change the app's id"),
    ([], "lnd", {}, "is a list of app ids"),
    ([], [7], {}, "7 is not an app id"),
])
def test_compose_refuses_what_it_cannot_mean(own, picks, overrides, message):
    with pytest.raises(apps.AppModelError, match=message):
        apps.compose(own, CATALOGUE, picks, overrides, OWNED)


def test_a_picked_app_whose_dependency_is_not_picked_names_it():
    with pytest.raises(apps.AppModelError, match="depends on unknown app bitcoin-knots"):
        apps.plan(apps.compose([], CATALOGUE, ["lnd"]), apps.SELECTION_TIERS, NETWORKS)


@pytest.mark.parametrize("size, nbytes", [("512m", 512 * 1024 ** 2), ("2g", 2 * GIB), ("1.5g", int(1.5 * GIB)),
                                          ("64k", 65536), ("1048576", 1048576), ("7b", 7)])
def test_memory_bytes(size, nbytes):
    assert apps.memory_bytes(size) == nbytes


def test_environment_file_is_an_absolute_path_and_is_passed_to_podman():
    app = {"id": "a", "startup_tier": "core", "container": {"image": "docker.io/x/a:1"},
           "resources": {"memory_limit": "1g"}, "health_check": {"command": "true"},
           "environment_file": "/var/lib/archipelago/secrets/apps/a.env"}
    args = apps.run_args(apps.normalize_app(app), "/etc/archipelago/apps/a.env", "/var/log/a.log")
    assert args[args.index("--env-file") + 1] == "/var/lib/archipelago/secrets/apps/a.env"
    for bad in ("relative/a.env", "/x\n--privileged", 5):
        with pytest.raises(apps.AppModelError, match="environment_file"):
            apps.normalize_app(dict(app, environment_file=bad))
