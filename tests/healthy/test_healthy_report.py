"""SEC-04's non-root check on a stabilized node: the node_report role names the running containers
whose main process is root, as /proc says on the node; a container started as root for the test is
among them, an app that runs as its image's user is not."""
import json
import sys
import pathlib

from labhosts import controller, node_host

BIN = pathlib.Path(sys.executable).parent
NODE = "arch1"
ROOT_CTR = "lab-as-root"


def reported_as_root(tmp_path):
    play = tmp_path / "report.yml"
    play.write_text(json.dumps([{
        "hosts": NODE, "gather_facts": False,
        "tasks": [{"ansible.builtin.include_role": {"name": "archipelago.node.node_report"}},
                  {"ansible.builtin.debug": {"msg": "AS_ROOT={{ node_report_result.root_containers | to_json }}"}}]}]))
    res = controller([str(BIN / "ansible-playbook"), str(play)], check=False)
    assert res.returncode == 0, res.stdout[-3000:]
    line = next(x for x in res.stdout.splitlines() if "AS_ROOT=" in x)
    return json.loads(line.split("AS_ROOT=", 1)[1].strip().strip("'\""))


def root_on_the_node(host):
    """The running containers whose main process has effective uid 0, read here from /proc."""
    names = set()
    for line in host.check_output("podman ps -q | xargs -r podman inspect --format '{{.Name}} {{.State.Pid}}'").splitlines():
        name, pid = line.split()
        uid = host.check_output(f"awk '/^Uid:/ {{print $3}}' /proc/{pid}/status")
        if uid == "0":
            names.add(name)
    return names


def test_containers_running_as_root_are_named(tmp_path):
    host = node_host(NODE)
    image = host.check_output("podman inspect --format '{{.ImageName}}' bitcoin-knots")
    host.check_output(f"podman run -d --rm --name {ROOT_CTR} --user 0 --network none --entrypoint sleep {image} 600")
    try:
        got = reported_as_root(tmp_path)
        assert ROOT_CTR in got and "bitcoin-knots" not in got, got
        assert set(got) == root_on_the_node(host)
    finally:
        host.run(f"podman rm -f -t 0 {ROOT_CTR}")
