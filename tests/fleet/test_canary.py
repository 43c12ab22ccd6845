"""playbooks/canary.yml on the stabilized lab (arch2 is the canary): a good release reaches both
nodes, a second run changes nothing; a release that crashes at start is rolled back on the
canary, which is healthy again on the previous release, and arch1 is never touched; bad input and
the dry run change nothing. The other two faults (hang without watchdog pings, health answering an
error) are the same rollback path waiting longer: the Molecule scenario molecule/canary rolls out
all three on fresh nodes, so this suite on the full lab takes the quick one."""
import json
import re
import subprocess
import sys
import time
import pathlib

import pytest

from labhosts import ROOT, changed, controller, node_host

BIN = pathlib.Path(sys.executable).parent
GOOD = "1.9.1-lab.%d" % time.time()    # new each session, so the lab never runs it yet
BROKEN = {"crash": "1.9.2-crash"}
STAGED = "/opt/archipelago/releases"


@pytest.fixture(scope="module")
def releases(tmp_path_factory):
    out = tmp_path_factory.mktemp("releases")
    built = {}
    for version, fault in [(GOOD, None)] + [(v, f) for f, v in BROKEN.items()]:
        cmd = [sys.executable, str(ROOT / "lab" / "release" / "build.py"), str(out), version]
        line = subprocess.run(cmd + (["--fault", fault] if fault else []), check=True, capture_output=True,
                              text=True).stdout.split()
        built[version] = {"artifact": line[0], "checksum": line[1], "version": version}
    return built


def canary(release, *args):
    extra = {"release_artifact": release["artifact"], "release_checksum": release["checksum"],
             "release_version": release["version"]}
    t0 = time.monotonic()
    res = controller([str(BIN / "ansible-playbook"), "playbooks/canary.yml", "-e", json.dumps(extra), *args],
                     check=False, timeout=1200)
    # messages are folded over lines by the callback: compare with whitespace collapsed
    return res.returncode, " ".join((res.stdout + res.stderr).split()), time.monotonic() - t0


def state(name):
    """(binary sha256, health version, frontend VERSION or None) of a node."""
    host = node_host(name)
    binary = host.check_output("sha256sum /usr/local/bin/archipelago | cut -d' ' -f1")
    health = json.loads(host.check_output(
        "curl -s -X POST -H 'Content-Type: application/json' -d '{\"method\":\"health\"}' http://127.0.0.1:5678/rpc/v1"))
    version = host.run("cat /opt/archipelago/web-ui/VERSION")
    return binary, health["result"]["status"], health["result"]["version"], version.stdout.strip() or None


def staged_versions(host):
    """{version: newest mtime} of the releases staged on a node (folders and tarballs)."""
    out = host.check_output(f"find {STAGED} -mindepth 1 -maxdepth 1 -printf '%T@ %f\\n' 2>/dev/null || true")
    versions = {}
    for line in out.splitlines():
        mtime, name = line.split(" ", 1)
        version = re.sub(r"^archipelago-(.*)\.tar\.gz$", r"\1", name)
        versions[version] = max(versions.get(version, 0.0), float(mtime))
    return versions


def stage_old_releases(host):
    """Two staged releases from days ago (a folder and a tarball each), as earlier rollouts leave."""
    for version, age in (("0.0.1-old", "3 days ago"), ("0.0.2-old", "2 days ago")):
        host.check_output(f"install -d -m 0700 {STAGED}/{version} && : > {STAGED}/archipelago-{version}.tar.gz"
                          f" && touch -d '{age}' {STAGED}/{version} {STAGED}/archipelago-{version}.tar.gz")


def test_bad_checksum_changes_nothing(releases):
    before = {n: state(n) for n in ("arch1", "arch2")}
    bad = dict(releases[GOOD], checksum="sha256:" + "0" * 64)
    rc, out, _ = canary(bad)
    assert rc != 0 and "is not sha256:" + "0" * 64 in out and "Nothing was changed" in out, out[-3000:]
    missing = dict(releases[GOOD], artifact="/nonexistent/archipelago.tar.gz")
    rc, out, _ = canary(missing)
    assert rc != 0 and "no such file" in out, out[-3000:]
    assert {n: state(n) for n in ("arch1", "arch2")} == before


def test_dry_run_lists_the_change_and_changes_nothing(releases):
    before = {n: state(n) for n in ("arch1", "arch2")}
    rc, out, _ = canary(releases[GOOD], "--check", "--diff")
    assert rc == 0, out[-3000:]
    for node in ("arch1", "arch2"):
        assert f"{node}: deploy {GOOD} ({releases[GOOD]['checksum']}) replacing" in out
    assert {n: state(n) for n in ("arch1", "arch2")} == before


def test_good_release_reaches_every_node_canary_first_then_idempotent(releases):
    """The canary arch2 first, then arch1; each keeps its previous binary and the staged files of
    its newest 2 releases only (release_staged_keep); a second run changes nothing."""
    before = {n: state(n) for n in ("arch1", "arch2")}
    keep = {}
    for node in ("arch1", "arch2"):
        stage_old_releases(node_host(node))
        staged = staged_versions(node_host(node))
        keep[node] = {GOOD, max(staged, key=staged.get)}
    rc, out, took = canary(releases[GOOD])
    assert rc == 0, out[-4000:]
    after = {n: state(n) for n in ("arch1", "arch2")}
    for node in ("arch1", "arch2"):
        assert after[node][1:] == ("ok", GOOD, GOOD), after
        rollback = node_host(node).check_output("sha256sum /opt/archipelago/rollback/archipelago | cut -d' ' -f1")
        assert rollback == before[node][0]                     # the previous binary was kept
        assert set(staged_versions(node_host(node))) == keep[node]   # 0.0.1-old at least is gone
    assert out.index("PLAY [Canary]") < out.index("arch2: deploy") < out.index("PLAY [The other nodes")
    assert out.index("PLAY [The other nodes") < out.index("arch1: deploy")
    rc, out, _ = canary(releases[GOOD])
    assert rc == 0 and changed(out) == {"arch1": 0, "arch2": 0}, out[-3000:]
    print(f"good release on 2 nodes: {took:.0f} s")


@pytest.mark.parametrize("fault", ["crash"])
def test_broken_release_is_rolled_back_on_the_canary_and_the_rest_untouched(releases, fault):
    arch1_before, arch2_before = state("arch1"), state("arch2")
    assert arch2_before[2] == GOOD, "the good release must run first"
    rc, out, took = canary(releases[BROKEN[fault]])
    assert rc != 0, out[-3000:]
    assert f"release {BROKEN[fault]} failed on arch2" in out and f"Rolled back to {GOOD}" in out, out[-4000:]
    back = float(re.search(r"healthy again ([0-9.]+) s after the switch", out).group(1))
    assert back < 90, back
    assert state("arch2") == arch2_before                      # back on the previous release, healthy
    assert state("arch1") == arch1_before                      # never touched
    assert not node_host("arch1").file(f"/opt/archipelago/releases/{BROKEN[fault]}").exists
    assert "PLAY [The other nodes" not in out or "arch1: deploy" not in out
    print(f"{fault}: healthy on the previous release {back:.0f} s after the switch ({took:.0f} s run)")
