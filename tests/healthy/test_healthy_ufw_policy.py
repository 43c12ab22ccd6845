"""CRASH-01's narrower fix on a stabilized node: `ufw_podman_policy: dns` lets a container resolve
its neighbours through aardvark on its network's gateway and reach nothing else of the host; back
on `subnet`, the node's rules are what they were. A listener of the test's own on the gateway
address stands for any host service a container should not reach."""
import json
import shlex
import sys
import pathlib

from labhosts import changed, controller, node_host, wait_until

BIN = pathlib.Path(sys.executable).parent
NODE = "arch2"
NETWORK = "archy-net"
NEIGHBOUR = "bitcoin-knots"        # an app on archy-net, resolved by name
PORT = 8999
PROBE = ("import socket, sys\n"
         "print('resolved', socket.gethostbyname(sys.argv[1]))\n"
         "try:\n"
         "    socket.create_connection((sys.argv[2], int(sys.argv[3])), timeout=3).close()\n"
         "    print('reached')\n"
         "except OSError as e:\n"
         "    print('not reached', type(e).__name__)\n")


def run_role(policy):
    res = controller([str(BIN / "ansible-playbook"), "playbooks/stabilize.yml", "--limit", NODE,
                      "--tags", "ufw_podman", "-e", json.dumps({"ufw_podman_policy": policy})], check=False)
    assert res.returncode == 0, res.stdout[-4000:] + res.stderr[-2000:]
    return changed(res.stdout)[NODE]


def rules(host):
    return sorted(host.check_output("ufw show added").splitlines()[1:])


def probe(host, image, gateway):
    """What a throwaway container on archy-net gets: its neighbour's address, and whether the
    listener on the gateway answers."""
    res = host.run(f"podman run --rm --network {NETWORK} --entrypoint python3 {image} -c {shlex.quote(PROBE)}"
                   f" {NEIGHBOUR} {gateway} {PORT}")
    assert res.rc == 0, res.stdout + res.stderr
    return res.stdout


def test_dns_policy_lets_container_dns_through_and_nothing_else():
    host = node_host(NODE)
    image = host.check_output(f"podman inspect --format '{{{{.ImageName}}}}' {NEIGHBOUR}")
    gateway = json.loads(host.check_output(f"podman network inspect {NETWORK}"))[0]["subnets"][0]["gateway"]
    before = rules(host)
    host.check_output(f"systemd-run --unit lab-ufw-listener python3 -m http.server {PORT} --bind {gateway}")
    try:
        wait_until(lambda: host.run(f"bash -c 'exec 3<>/dev/tcp/{gateway}/{PORT}'").rc == 0, 30, "the listener")
        # the plan's fix (the lab's policy): the whole subnet reaches the host
        out = probe(host, image, gateway)
        assert "resolved 10." in out and "reached" in out and "not reached" not in out, out
        assert run_role("dns") > 0
        assert run_role("dns") == 0                                  # idempotent
        now = rules(host)
        assert not [r for r in now if r.startswith("ufw allow from ") and " port 53 " not in r
                    and "(archipelago.node)" in r], now           # no subnet-wide rule is left
        out = probe(host, image, gateway)
        assert "resolved 10." in out and "not reached" in out, out
    finally:
        host.run("systemctl stop lab-ufw-listener")
        assert run_role("subnet") > 0
    assert rules(host) == before
