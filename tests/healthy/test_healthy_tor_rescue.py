"""STAB-03/04's rescue on a stabilized node: a new Tor image that passes the version gate but whose
container does not start leaves archy-tor on the previous image, with the same hidden-service keys
(so the same onion addresses), answering through Tor again. The broken image is the node's own
Tor image with an entrypoint that exits at once, built on the node."""
import json
import sys
import pathlib

from labhosts import controller, node_host, onion_fetch

BIN = pathlib.Path(sys.executable).parent
NODE = "arch2"
BROKEN = "localhost/archy-lab/tor:0.4.9-broken"


def test_a_new_tor_image_that_fails_leaves_the_previous_one_with_the_same_onions():
    host = node_host(NODE)
    image = host.check_output("podman inspect --format '{{.ImageName}}' archy-tor")
    keys = host.check_output("sha256sum /var/lib/tor/hidden_service_*/hs_ed25519_secret_key")
    onions = host.check_output("cat /var/lib/tor/hidden_service_*/hostname")
    host.check_output(f"d=$(mktemp -d) && printf 'FROM {image}\\nENTRYPOINT [\"/bin/false\"]\\n' > $d/Containerfile"
                      f" && podman build -q -t {BROKEN} $d >/dev/null && rm -r $d")
    try:
        res = controller([str(BIN / "ansible-playbook"), "playbooks/stabilize.yml", "--limit", NODE,
                          "--tags", "tor", "-e", f"tor_image={BROKEN}"], check=False)
        out = " ".join(res.stdout.split())
        assert res.returncode != 0, out[-3000:]
        assert f"Tor on {NODE} with {BROKEN} failed" in out, out[-3000:]
        assert "The hidden-service keys were restored from" in out and f"{image} runs again" in out, out[-3000:]
        assert host.check_output("podman inspect --format '{{.ImageName}}' archy-tor") == image
        assert host.check_output("sha256sum /var/lib/tor/hidden_service_*/hs_ed25519_secret_key") == keys
        assert host.check_output("cat /var/lib/tor/hidden_service_*/hostname") == onions
        assert host.service("archy-app-archy-tor.service").is_running
        seeded = host.file("/etc/archipelago-lab/seeded-onion").content_string.strip()
        health = onion_fetch(host, seeded, "/health", 150)
        assert json.loads(health)["status"] == "ok", health
    finally:
        host.run(f"podman rmi -f {BROKEN}")
