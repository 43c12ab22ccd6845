"""playbooks/canary.yml on the stabilized lab (arch2 is the canary): a good release reaches both
nodes, canary first, and a second run changes nothing; bad input and the dry run change nothing.
The batches (no canary group, one node per batch, the release from a mirror on the lab network):
a release that crashes at start is rolled back on the first node, which is healthy again on the
previous release, and the rollout stops before the next batch; a mirror whose file does not match
the checksum fails a node before anything is switched, and rollout_max_fail_percentage decides
whether the next batch is tried. A failed canary stopping the rollout, and the other two faults
(hang without watchdog pings, health answering an error), are molecule/canary's, on fresh nodes."""
import json
import re
import subprocess
import sys
import time
import pathlib
import urllib.request

import pytest

from labhosts import ROOT, changed, controller, free_port, lab_gateway, node_host, recap, wait_until

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


@pytest.fixture(scope="module")
def mirror(releases):
    """An HTTP mirror of the built releases on the lab network: {version: URL}."""
    folder = pathlib.Path(next(iter(releases.values()))["artifact"]).parent
    address, port = lab_gateway(), free_port()
    server = subprocess.Popen([sys.executable, "-m", "http.server", "--bind", address, "--directory", str(folder),
                               str(port)], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    try:
        def up():
            try:
                with urllib.request.urlopen(f"http://{address}:{port}/", timeout=5):
                    return True
            except OSError:
                return False
        wait_until(up, 30, "the lab mirror")
        yield {v: f"http://{address}:{port}/{pathlib.Path(r['artifact']).name}" for v, r in releases.items()}
    finally:
        server.terminate()
        server.wait(timeout=30)


def batches(**extra):
    """The batches without a canary: one node per batch, in inventory order."""
    return ["-e", json.dumps({"canary_group": "no_canary", "rollout_batches": [1], **extra})]


def canary(release, *args, mirror_url=None):
    extra = {"release_checksum": release["checksum"], "release_version": release["version"]}
    extra.update({"release_url": mirror_url} if mirror_url else {"release_artifact": release["artifact"]})
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


@pytest.mark.parametrize("threshold,tried", [(0, 1), (50, 2)])
def test_a_mirror_file_that_does_not_match_fails_before_any_switch(releases, mirror, threshold, tried):
    """The checksum is the crash release's, the mirror's file the good one: each node tried fails
    before anything is switched. With rollout_max_fail_percentage 0 the rollout stops after the
    first batch and the second node is never touched; with 50, one failure of two is allowed, the
    second batch is tried too, and the last play fails both."""
    before = {n: state(n) for n in ("arch1", "arch2")}
    bad = dict(releases[BROKEN["crash"]], version=f"1.9.2-mismatch{threshold}")
    rc, out, _ = canary(bad, *batches(rollout_max_fail_percentage=threshold), mirror_url=mirror[GOOD])
    assert rc != 0, out[-3000:]
    failed = re.findall(r"could not be staged on (arch\d) \(Download the release from the mirror: [^)]*checksum", out)
    assert len(set(failed)) == tried and "Nothing was switched" in out, out[-4000:]
    if tried == 1:
        other = ({"arch1", "arch2"} - set(failed)).pop()
        assert (f"the rollout stopped: 1 of the 2 other nodes failed their release ({failed[0]}), more than the 0"
                f" that rollout_max_fail_percentage 0 allows; {other} was not touched") in out, out[-4000:]
        assert not node_host(other).file(f"{STAGED}/{bad['version']}").exists
    else:
        last = out.split("PLAY [Every node of the batches runs the release]", 1)[1]
        assert all(f"could not be staged on {n}" in last for n in ("arch1", "arch2")), last[-3000:]
        assert {h: c["failed"] for h, c in recap(out).items()} == {"arch1": 1, "arch2": 1}, out[-2000:]
    assert {n: state(n) for n in ("arch1", "arch2")} == before


@pytest.mark.parametrize("fault", ["crash"])
def test_broken_release_is_rolled_back_and_the_next_batch_untouched(releases, mirror, fault):
    before = {n: state(n) for n in ("arch1", "arch2")}
    assert before["arch2"][2] == GOOD, "the good release must run first"
    rc, out, took = canary(releases[BROKEN[fault]], *batches(), mirror_url=mirror[BROKEN[fault]])
    assert rc != 0, out[-3000:]
    first = re.search(rf"release {BROKEN[fault]} failed on (arch\d)", out)
    assert first and f"Rolled back to {GOOD}" in out, out[-4000:]
    first = first.group(1)
    other = ({"arch1", "arch2"} - {first}).pop()
    back = float(re.search(r"healthy again ([0-9.]+) s after the switch", out).group(1))
    assert back < 90, back
    assert f"the rollout stopped: 1 of the 2 other nodes failed their release ({first})" in out, out[-4000:]
    assert {n: state(n) for n in ("arch1", "arch2")} == before   # back on the previous release, and untouched
    assert not node_host(other).file(f"{STAGED}/{BROKEN[fault]}").exists
    print(f"{fault}: {first} healthy on the previous release {back:.0f} s after the switch ({took:.0f} s run)")
