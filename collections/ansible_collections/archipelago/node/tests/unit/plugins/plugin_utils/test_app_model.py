"""The app model (plugin_utils/apps.py): validation, tier order, the podman run line, backoff."""
import shlex

import pytest

from ansible_collections.archipelago.node.plugins.plugin_utils import apps


def app(app_id, tier="core", startup="core", deps=(), **extra):
    base = {"id": app_id, "tier": tier, "startup_tier": startup,
            "container": {"image": "docker.io/example/%s:1.0" % app_id, "network": "archy-net"},
            "dependencies": [{"app_id": d} for d in deps],
            "resources": {"memory_limit": "256m"},
            "health_check": {"type": "exec", "command": "true"}}
    base.update(extra)
    return base


@pytest.mark.parametrize("image, pinned", [
    ("docker.io/library/postgres:15-bookworm", True),
    ("postgres:15", True),
    ("localhost:5000/x/y:1.2", True),
    ("docker.io/x/y@sha256:" + "a" * 64, True),
    ("docker.io/library/postgres:latest", False),
    ("docker.io/library/postgres", False),
    ("localhost:5000/x/y", False),
    ("docker.io/x/y@sha256:abc", False),
])
def test_image_pinned(image, pinned):
    assert apps.image_pinned(image) is pinned


@pytest.mark.parametrize("model, message", [
    ([app("a", container={"image": "docker.io/x/a:latest"})], "not pinned"),
    ([app("a", container={"image": "docker.io/x/a"})], "not pinned"),
    ([app("a", deps=["ghost"])], "unknown app ghost"),
    ([app("a", deps=["b"]), app("b", deps=["c"]), app("c", deps=["a"])], "dependency cycle: a -> b -> c -> a"),
    ([app("a", deps=["a"])], "depends on itself"),
    ([app("a", deps=["b"]), app("b", container={"image": "docker.io/x/b:1", "network": "immich-net"})],
     "a depends on b, but they share no network"),
    ([app("a", startup="db", deps=["b"]), app("b", startup="ui")], "same or an earlier tier"),
    ([app("a", resources={})], "memory_limit is required"),
    ([app("a", health_check=None)], "health_check is required"),
    ([app("a", health_check={"type": "http"})], "needs port"),
    ([app("a", startup="boot")], "startup_tier 'boot'"),
    ([app("A b")], "must be lower case"),
    ([app("a"), app("a")], "defined twice"),
    ([app("a", ports=[{"host": 80, "container": 8080}]), app("b", ports=[{"host": 80, "container": 80}])],
     "both publish host port 80"),
    ([app("a", security={"capabilities": ["ALL"]})], "never ALL"),
    ([app("a", environment={"BAD NAME": "x"})], "not an environment variable name"),
    ([app("a", volumes=[{"type": "bind", "source": "rel", "target": "/d"}])], "not absolute"),
])
def test_bad_models_fail_with_a_message_naming_the_fix(model, message):
    with pytest.raises(apps.AppModelError, match=message.replace("(", r"\(")):
        apps.plan(model)


def test_unknown_network_is_refused_but_host_is_allowed():
    with pytest.raises(apps.AppModelError, match="network archy-net"):
        apps.plan([app("a")], networks=["other"])
    a = app("a", container={"image": "docker.io/x/a:1", "network": "host"})
    assert apps.plan([a], networks=["other"])["apps"][0]["networks"] == ["host"]


def test_run_line_hardening_and_quoting():
    a = apps.plan([app("a", security={"capabilities": ["chown"], "tmpfs": ["/run/x"]},
                       environment={"K": "v"},
                       ports=[{"host": 4080, "container": 8080}],
                       health_check={"type": "exec", "command": "curl -f http://x/%s $HOME"})])["apps"][0]
    args = apps.run_args(a, "/etc/env/a.env", "/var/log/a.log")
    line = apps.exec_line(args)
    for flag in ("--cap-drop ALL", "--cap-add CAP_CHOWN", "--security-opt no-new-privileges", "--read-only",
                 "--memory 256m", "--health-on-failure kill", "--publish 127.0.0.1:4080:8080/tcp",
                 "--env-file /etc/env/a.env", "--tmpfs /run/x"):
        assert flag in line
    # systemd specifiers and variables are escaped; the command stays one argument.
    assert '"curl -f http://x/%%s $$HOME"' in line
    assert shlex.split(line.replace("%%", "%").replace("$$", "$"))[-1] == "docker.io/example/a:1.0"
    assert args[-1] == "docker.io/example/a:1.0"


def test_health_timeout_covers_start_period_and_retries():
    a = apps.plan([app("a", health_check={"command": "true", "interval": "15s", "timeout": "5s",
                                          "start_period": "20s", "retries": 3})])["apps"][0]
    assert apps.health_timeout(a, slack=0) == 20 + 3 * 20


def test_a_selected_app_cannot_depend_on_one_left_out():
    with pytest.raises(apps.AppModelError, match="not selected"):
        apps.plan([app("db", tier="optional", startup="db"), app("web", deps=["db"])], ["core"])
