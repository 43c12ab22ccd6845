"""app_model_info and app_environment as tasks on this machine, against a stand-in podman (a
script that answers as podman would, or hangs): bad, huge and slow input get a clear failure;
check mode writes nothing; secrets appear in no result or diff."""
import json
import os

import pytest

SECRET = "pw-never-shown"
INSPECT = [{"Id": "c1", "Name": "lnd", "Image": "i1", "ImageName": "docker.io/x/lnd:v0.18",
            "Config": {"Env": ["PATH=/bin", "LND_PASSWORD=" + SECRET], "Labels": {}, "Cmd": ["lnd"], "User": ""},
            "HostConfig": {"Memory": 536870912, "NetworkMode": "bridge", "CapDrop": [], "CapAdd": [],
                           "PortBindings": {}, "RestartPolicy": {"Name": "always"}},
            "NetworkSettings": {"Networks": {"archy-net": {}}}, "Mounts": [], "State": {"Status": "running"}}]
IMAGES = [{"Id": "i1", "Config": {"Env": ["PATH=/bin"], "Cmd": ["lnd"], "User": ""}}]
CATALOGUE = [{"id": "lnd", "tier": "core", "startup_tier": "dependent",
              "container": {"image": "docker.io/x/lnd:v0.18", "network": "archy-net"},
              "resources": {"memory_limit": "512m"}, "health_check": {"type": "tcp", "port": 10009}}]


@pytest.fixture
def podman(tmp_path):
    """A podman stand-in: ps, container inspect and image inspect answer from files; HANG=1 sleeps."""
    (tmp_path / "inspect.json").write_text(json.dumps(INSPECT))
    (tmp_path / "images.json").write_text(json.dumps(IMAGES))
    script = tmp_path / "podman"
    script.write_text(f"""#!/bin/sh
[ -e {tmp_path}/hang ] && exec sleep 30
case "$1 $2" in
  "ps -a") case "$*" in *Names*) echo lnd ;; *) echo '[{{"Id": "c1"}}]' ;; esac ;;
  "container inspect") cat {tmp_path}/inspect.json ;;
  "image inspect") cat {tmp_path}/images.json ;;
  *) echo "unexpected: $*" >&2; exit 2 ;;
esac
""")
    script.chmod(0o755)
    return script


def info_task(podman, tmp_path, **args):
    return {"archipelago.node.app_model_info": dict(
        {"podman": str(podman), "catalogue": CATALOGUE, "manifests_dir": str(tmp_path / "apps"),
         "records_dir": str(tmp_path / "records"), "env_dir": str(tmp_path / "secrets")}, **args),
        "ignore_errors": True}


def test_adopts_through_podman_and_never_returns_a_value(play, podman, tmp_path):
    rc, results, text = play([info_task(podman, tmp_path)])
    assert rc == 0 and not results[0].get("failed"), text[-2000:]
    assert [a["id"] for a in results[0]["apps"]] == ["lnd"]
    assert results[0]["environment"] == {"lnd": ["LND_PASSWORD"]}
    assert SECRET not in text


@pytest.mark.parametrize("content, message", ids=["not-yaml", "huge", "not-utf8", "bad-check"], argvalues=[
    ("app: [unclosed", "is not a readable manifest"),
    ("x: " + "y" * 300 * 1024, "is larger than 262144 bytes; is it a manifest?"),
    ("\xff\xfe", "is not a readable manifest"),
    ("app: {id: lnd, health_check: {type: ping}}", "not http, exec or tcp"),
])
def test_a_bad_or_huge_manifest_fails_naming_it(play, podman, tmp_path, content, message):
    folder = tmp_path / "apps" / "lnd"
    folder.mkdir(parents=True)
    (folder / "manifest.yml").write_bytes(content.encode("latin-1") if content.startswith("\xff") else content.encode())
    rc, results, text = play([info_task(podman, tmp_path)])
    assert results[0]["failed"] and message in results[0]["msg"], results[0]["msg"]
    assert str(folder / "manifest.yml") in results[0]["msg"]


def test_a_broken_record_fails_naming_it(play, podman, tmp_path):
    (tmp_path / "records").mkdir()
    (tmp_path / "records" / "lnd.app.json").write_text("{not json")
    rc, results, text = play([info_task(podman, tmp_path)])
    assert results[0]["failed"] and "lnd.app.json is not a readable record" in results[0]["msg"]


def test_a_stuck_podman_ends_at_the_timeout_with_a_message(play, podman, tmp_path):
    (tmp_path / "hang").write_text("")
    rc, results, text = play([info_task(podman, tmp_path, timeout=1),
                              {"archipelago.node.app_environment": {"podman": str(podman), "timeout": 1,
                                                                     "files": {"lnd": str(tmp_path / "lnd.env")}},
                               "ignore_errors": True}])
    assert "podman ps did not finish within 1 s (the timeout option)" in results[0]["msg"]
    assert "podman ps did not finish within 1 s (the timeout option)" in results[1]["msg"]


def test_environment_is_kept_in_a_0600_file_check_mode_writes_nothing_and_diffs_show_names(play, podman, tmp_path):
    env = tmp_path / "secrets" / "lnd.env"
    task = {"archipelago.node.app_environment": {"podman": str(podman), "files": {"lnd": str(env)}}}
    rc, results, text = play([task], check=True, diff=True)
    assert rc == 0 and results[0]["changed"] and not env.exists()
    rc, results, text = play([task], diff=True)
    assert results[0]["changed"] and results[0]["written"] == ["lnd"]
    assert "LND_PASSWORD" in json.dumps(results[0]["diff"]) and SECRET not in text
    assert (os.stat(env).st_mode & 0o777, os.stat(env.parent).st_mode & 0o777) == (0o600, 0o700)
    assert "LND_PASSWORD=" + SECRET in env.read_text().splitlines()
    env.write_text("LND_PASSWORD=changed-by-the-operator\n")
    env.chmod(0o644)
    rc, results, text = play([task])
    assert results[0]["written"] == ["lnd"]                                 # the mode only
    assert env.read_text() == "LND_PASSWORD=changed-by-the-operator\n" and os.stat(env).st_mode & 0o777 == 0o600
    rc, results, text = play([task])
    assert not results[0]["changed"]


@pytest.mark.parametrize("files, message", [
    ({"Bad Id": "/x.env"}, "not so: Bad Id"),
    ({"lnd": "relative.env"}, "not so: lnd"),
    ({"gone": "/nonexistent/gone.env"}, "app gone has no container and no environment file"),
])
def test_app_environment_refuses_what_it_cannot_keep(play, podman, files, message):
    rc, results, text = play([{"archipelago.node.app_environment": {"podman": str(podman), "files": files},
                               "ignore_errors": True}])
    assert results[0]["failed"] and message in results[0]["msg"], results[0]["msg"]
