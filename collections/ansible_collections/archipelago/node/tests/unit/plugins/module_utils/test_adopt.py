"""Adoption (module_utils/adopt.py): manifests and podman inspect output to the app model."""
import json
import random

import pytest

from ansible_collections.archipelago.node.plugins.module_utils import adopt
from ansible_collections.archipelago.node.plugins.plugin_utils import apps

SECRET = "s3cret-value-never-returned"
CATALOGUE = [
    {"id": "bitcoin-knots", "name": "Bitcoin Knots", "tier": "core", "startup_tier": "core",
     "container": {"image": "docker.io/x/knots:28.1", "network": "archy-net", "user": "1000:1000"},
     "resources": {"memory_limit": "2g"},
     "security": {"capabilities": ["CHOWN"], "readonly_root": True, "tmpfs": ["/tmp"]},
     "volumes": [{"type": "volume", "source": "bitcoin-data", "target": "/data"}],
     "environment": {"BITCOIN_DATA": "/data"},
     "health_check": {"type": "exec", "command": "bitcoin-cli getblockchaininfo"}},
    {"id": "lnd", "tier": "core", "startup_tier": "dependent",
     "container": {"image": "docker.io/x/lnd:v0.18", "network": "archy-net"},
     "dependencies": [{"app_id": "bitcoin-knots"}, {"app_id": "not-here"}],
     "resources": {"memory_limit": "512m"}, "health_check": {"type": "tcp", "port": 10009}},
]
IMAGE = {"Id": "img1", "Config": {"User": "", "Cmd": ["run"], "Env": ["PATH=/usr/bin", "LANG=C"]}}


def container(name, image="docker.io/x/knots:27.0", env=(), memory=0, ports=None, mounts=(), restart="always",
              health=None, cap_drop=(), cap_add=(), readonly=False, labels=None, network="archy-net"):
    return {"Id": name + "-id", "Name": name, "Image": "img1", "ImageName": image,
            "Config": {"Image": image, "User": "", "Cmd": ["run"], "Labels": labels or {},
                       "Env": ["PATH=/usr/bin", "LANG=C", "HOSTNAME=abc", "container=podman"] + list(env),
                       "Healthcheck": health},
            "HostConfig": {"NetworkMode": "bridge", "Memory": memory, "CapDrop": list(cap_drop),
                           "CapAdd": list(cap_add), "ReadonlyRootfs": readonly, "SecurityOpt": [],
                           "Tmpfs": {"/run": "", "/tmp": "", "/var/tmp": ""} if readonly else {},
                           "PortBindings": ports or {}, "RestartPolicy": {"Name": restart}},
            "NetworkSettings": {"Networks": {network: {}}},
            "Mounts": list(mounts), "State": {"Status": "running"}}


def adopted(*containers, manifests=(), catalogue=None, **kw):
    found = [adopt.container_app(c, IMAGE) for c in containers]
    return adopt.adopt(found, manifests, CATALOGUE if catalogue is None else catalogue, env_dir="/var/lib/archipelago/secrets/apps", **kw)


def test_a_march_container_takes_the_catalogues_hardening_and_keeps_its_data_image_and_secrets():
    """The plan's March 2026 node: plain restart=always containers, no limits, no health checks,
    ports on every address."""
    knots = container("bitcoin-knots", env=["RPC_PASSWORD=" + SECRET],
                      ports={"8332/tcp": [{"HostIp": "", "HostPort": "8332"}]},
                      mounts=[{"Type": "volume", "Name": "knots-old", "Destination": "/data", "RW": True}])
    result = adopted(knots)
    app, = result["apps"]
    assert app["container"] == {"image": "docker.io/x/knots:27.0", "network": "archy-net"}   # what runs; its user
    assert app["volumes"] == [{"type": "volume", "source": "knots-old", "target": "/data"}]  # where its data is
    assert app["ports"] == [{"host": 8332, "container": 8332, "bind": "127.0.0.1"}]
    assert app["resources"] == {"memory_limit": "2g"}
    assert app["health_check"]["command"] == "bitcoin-cli getblockchaininfo"
    assert app["security"]["capabilities"] == ["CHOWN"]
    assert app["environment_file"] == "/var/lib/archipelago/secrets/apps/bitcoin-knots.env"
    assert "environment" not in app                       # the node's file holds every value
    assert result["environment"] == {"bitcoin-knots": ["RPC_PASSWORD"]}
    assert SECRET not in json.dumps(result)
    notes = " ".join(result["notes"])
    assert "published on every address" in notes and "restart=always" in notes
    keys = {d["key"] for d in result["differences"]}
    assert {"container.image", "volumes", "ports", "container.user"} <= keys
    plan = apps.plan(result["apps"], apps.SELECTION_TIERS, ["archy-net"])
    assert plan["apps"][0]["environment_file"] == app["environment_file"]


def test_what_the_node_already_runs_hardened_wins_and_round_trips():
    health = {"Test": ["CMD-SHELL", "probe"], "Interval": 15 * 10 ** 9, "Timeout": 5 * 10 ** 9,
              "StartPeriod": 5 * 10 ** 9, "Retries": 3}
    knots = container("bitcoin-knots", image="docker.io/lab/knots:1.0", memory=2 * 1024 ** 3, health=health,
                      cap_drop=adopt.DEFAULT_CAPS, readonly=True,
                      labels={"io.archipelago.tier": "core", "io.archipelago.app": "bitcoin-knots"})
    app, = adopted(knots)["apps"]
    assert app["health_check"] == {"type": "exec", "command": "probe", "interval": "15s", "timeout": "5s",
                                   "start_period": "5s", "retries": 3}
    assert app["security"] == {"readonly_root": True, "no_new_privileges": False, "capabilities": [], "tmpfs": ["/tmp"]}
    assert app["container"]["image"] == "docker.io/lab/knots:1.0"


def test_an_unknown_container_is_incomplete_and_says_what_is_missing():
    result = adopted(container("ollama", image="docker.io/ollama/ollama:latest"))
    assert result["apps"] == []
    (entry,) = result["incomplete"]
    assert entry["app"]["id"] == "ollama"
    assert entry["missing"] == ["container.image (pinned)", "resources.memory_limit", "health_check", "startup_tier"]
    assert any("not pinned" in n for n in result["notes"])
    assert any("default capabilities" in n for n in result["notes"])


def test_unpinned_image_of_a_catalogue_app_falls_back_to_the_catalogues():
    result = adopted(container("bitcoin-knots", image="docker.io/x/knots:latest"))
    assert result["apps"][0]["container"]["image"] == "docker.io/x/knots:28.1"


def test_dependencies_not_on_the_node_are_left_out_and_noted():
    result = adopted(container("bitcoin-knots"), container("lnd", image="docker.io/x/lnd:v0.18"))
    lnd = next(a for a in result["apps"] if a["id"] == "lnd")
    assert lnd["dependencies"] == [{"app_id": "bitcoin-knots"}]
    assert any("not-here" in n for n in result["notes"])


def test_excluded_and_owned_containers_are_left_to_their_role():
    result = adopted(container("archy-tor"), container("keepme"), exclude=["keepme"], owned={"archy-tor": "tor"})
    assert result["apps"] == [] and result["incomplete"] == [] and result["sources"] == {}


MANIFEST = {"app": {
    "id": "mempool-api", "name": "Mempool", "version": "3.0",
    "container": {"image": "docker.io/mempool/backend:v3.0.1", "network": "archy-net", "privileged": True},
    "dependencies": [{"app_id": "bitcoin-knots", "version": "28"}],
    "resources": {"memory_limit": "512m", "cpu_limit": 1.0},
    "security": {"capabilities": [], "readonly_root": True, "no_new_privileges": True},
    "ports": [{"host": 8999, "container": 8999, "bind": "127.0.0.1"}],
    "volumes": [{"type": "volume", "source": "mempool-cache", "target": "/cache"}],
    "environment": ["DB_PASSWORD=" + SECRET, {"name": "CORE_RPC_HOST", "value": "bitcoin-knots"}],
    "health_check": {"type": "http", "endpoint": "http://localhost:8999/api/v1/backend-info", "interval": 30,
                     "timeout": "10s", "retries": 3}}}


def test_a_manifest_becomes_an_app_without_its_environment_values():
    app, names = adopt.manifest_app(MANIFEST, "/opt/archipelago/apps/mempool-api/manifest.yml")
    assert names == ["CORE_RPC_HOST", "DB_PASSWORD"]
    assert SECRET not in json.dumps(app)
    assert "privileged" not in app["container"]             # only what the model knows is taken
    assert app["health_check"] == {"type": "http", "port": 8999, "path": "/api/v1/backend-info",
                                   "interval": "30s", "timeout": "10s", "retries": 3}
    assert app["dependencies"] == [{"app_id": "bitcoin-knots"}]


def test_a_manifest_only_app_needs_its_environment_values_and_a_startup_tier():
    manifest = adopt.manifest_app(MANIFEST, "m.yml")
    result = adopt.adopt([], [manifest], CATALOGUE)
    (entry,) = result["incomplete"]
    assert entry["missing"] == ["startup_tier", "environment values (CORE_RPC_HOST, DB_PASSWORD): the app is not "
                                "running, give them in archipelago_apps"]
    assert result["sources"] == {"mempool-api": ["manifest"]}


def test_a_manifest_and_its_running_container_combine():
    manifest = adopt.manifest_app({"app": dict(MANIFEST["app"], id="lnd")}, "m.yml")
    result = adopted(container("lnd", image="docker.io/x/lnd:v0.18", env=["A=1"]), manifests=[manifest])
    app, = result["apps"]
    assert result["sources"] == {"lnd": ["catalogue", "manifest", "container"]}
    assert app["resources"]["memory_limit"] == "512m"       # the manifest's over the catalogue's
    assert app["health_check"]["port"] == 8999
    assert app["container"]["image"] == "docker.io/x/lnd:v0.18"   # what runs


@pytest.mark.parametrize("doc, message", [
    ([], "a mapping with an app: mapping"),
    ({"app": {"id": "Bad Id"}}, "is not an app id"),
    ({"app": {"id": "a", "container": "x"}}, "container is not a mapping"),
    ({"app": {"id": "a", "environment": [3]}}, "neither NAME=value"),
    ({"app": {"id": "a", "environment": ["BAD NAME=1"]}}, "not an environment variable name"),
    ({"app": {"id": "a", "health_check": {"type": "ping"}}}, "not http, exec or tcp"),
    ({"app": {"id": "a", "health_check": {"type": "exec", "command": "x", "interval": "soon"}}}, "not a duration"),
    ({"app": {"id": "a", "health_check": {"type": "http", "endpoint": "http://h:99999/"}}}, "no valid port"),
    ({"app": {"id": "a", "ports": {"host": 1}}}, "ports is not a list"),
    ({"app": {"id": "a", "dependencies": [{"version": 1}]}}, "dependencies are"),
])
def test_bad_manifests_are_refused_naming_the_file(doc, message):
    with pytest.raises(adopt.AdoptError, match=message) as err:
        adopt.manifest_app(doc, "/opt/archipelago/apps/a/manifest.yml")
    assert "/opt/archipelago/apps/a/manifest.yml" in str(err.value)


def test_environment_lines_keep_the_containers_own_values_only():
    c = container("bitcoin-knots", env=["RPC_PASSWORD=" + SECRET, "EMPTY="])
    assert adopt.environment_lines(c, IMAGE) == ["RPC_PASSWORD=" + SECRET, "EMPTY="]
    c["Config"]["Env"].append("BROKEN=a\nb")
    with pytest.raises(adopt.AdoptError, match="line break"):
        adopt.environment_lines(c, IMAGE)


@pytest.mark.parametrize("nbytes, text", [(2 * 1024 ** 3, "2g"), (512 * 1024 ** 2, "512m"), (65536, "64k"),
                                          (1000, "1000")])
def test_size_text(nbytes, text):
    assert adopt.size_text(nbytes) == text
    assert apps.memory_bytes(text) == nbytes


def _garbage(rng, depth=0):
    kinds = [None, True, 0, -1, 2 ** 70, 1.5, "", "x", "a b", "/", "\n", [], {}]
    if depth < 3:
        kinds += [[_garbage(rng, depth + 1) for dummy in range(rng.randint(0, 3))],
                  {rng.choice(["Name", "Config", "HostConfig", "Env", "Test", "Mounts", "PortBindings", "app", "id",
                               "health_check", "environment", "container", "8080/tcp", "Networks", "Memory"]):
                   _garbage(rng, depth + 1) for dummy in range(rng.randint(0, 4))}]
    return rng.choice(kinds)


def _mutate(rng, value):
    """The value with one leaf somewhere replaced by garbage."""
    if isinstance(value, dict) and value and rng.random() < 0.8:
        key = rng.choice(sorted(value, key=str))
        return dict(value, **{key: _mutate(rng, value[key])})
    if isinstance(value, list) and value and rng.random() < 0.8:
        i = rng.randrange(len(value))
        return value[:i] + [_mutate(rng, value[i])] + value[i + 1:]
    return _garbage(rng)


def test_hostile_inspect_output_and_manifests_give_adopt_errors_never_crashes():
    """Whatever podman or a manifest holds: a result or an AdoptError, nothing else."""
    rng = random.Random(17)
    good = container("bitcoin-knots", env=["A=1"], ports={"1/tcp": [{"HostPort": "1"}]},
                     mounts=[{"Type": "volume", "Name": "v", "Destination": "/d"}],
                     health={"Test": ["CMD", "x"], "Interval": 1})
    for dummy in range(3000):
        try:
            found = adopt.container_app(_mutate(rng, good), _mutate(rng, IMAGE) if rng.random() < 0.3 else IMAGE)
            manifest = adopt.manifest_app(_mutate(rng, MANIFEST), "m.yml")
            record = adopt.record_app(_mutate(rng, dict(CATALOGUE[1], environment_names=["A"])), "/r/lnd.app.json")
            adopt.adopt([found], [manifest], CATALOGUE, records=[record], records_dir="/r", env_dir="/e")
            adopt.environment_lines(_mutate(rng, good), IMAGE)
        except adopt.AdoptError:
            pass


@pytest.mark.parametrize("image, want", [
    ("docker.io/x/knots:28.1", "bitcoin-cli getblockchaininfo"),     # the catalogue's image: its check
    ("docker.io/lab/knots:1.0", "image-probe"),                      # another image: that image's own
])
def test_an_images_own_healthcheck_stands_in_only_for_another_image_than_the_catalogues(image, want):
    own = {"Test": ["CMD-SHELL", "image-probe"], "Interval": 30 * 10 ** 9}
    c = container("bitcoin-knots", image=image, health=own)
    image_info = dict(IMAGE, Healthcheck=own)
    found = adopt.container_app(c, image_info)
    assert found["own_health"] is False
    app, = adopt.adopt([found], [], CATALOGUE)["apps"]
    assert app["health_check"]["command"] == want
    # a check set for the container itself always wins
    c["Config"]["Healthcheck"] = {"Test": ["CMD-SHELL", "mine"]}
    app, = adopt.adopt([adopt.container_app(c, image_info)], [], CATALOGUE)["apps"]
    assert app["health_check"]["command"] == "mine"


def test_an_app_whose_container_is_gone_stays_in_the_model_from_its_record():
    """CONT-04: a unit left failed after its backoff has no container (--rm); its record keeps it."""
    record = dict(CATALOGUE[1], environment_names=["LND_PASSWORD"], resources={"memory_limit": "768m"})
    rec = adopt.record_app(record, "/etc/archipelago/apps/lnd.app.json")
    result = adopt.adopt([adopt.container_app(container("bitcoin-knots"), IMAGE)], [], CATALOGUE, records=[rec],
                         records_dir="/etc/archipelago/apps", env_dir="/var/lib/archipelago/secrets/apps")
    lnd = next(a for a in result["apps"] if a["id"] == "lnd")
    assert result["sources"]["lnd"] == ["catalogue", "record"]
    assert lnd["resources"]["memory_limit"] == "768m"                      # the record's, over the catalogue's
    assert lnd["environment_file"] == "/etc/archipelago/apps/lnd.env"     # the role's own file holds the values
    assert "environment_names" not in lnd


@pytest.mark.parametrize("doc, path, message", [
    ({"id": "lnd"}, "/x/other.app.json", "the record is of app lnd"),
    ([], "/x/a.app.json", "a record is an app mapping"),
    ({"id": "lnd", "environment_names": ["BAD NAME"]}, "/x/lnd.app.json", "environment_names"),
    ({"id": "lnd", "container": []}, "/x/lnd.app.json", "container is not a mapping"),
])
def test_bad_records_are_refused_naming_the_file(doc, path, message):
    with pytest.raises(adopt.AdoptError, match=message):
        adopt.record_app(doc, path)
