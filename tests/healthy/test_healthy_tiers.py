"""SCALE-03 on a stabilized node (its own file: it restarts apps, which the `node` fixture's CRASH-05
check of the other files would count)."""
import pathlib
import re
import sys

from healthy_nodes import APPS
from labhosts import controller, node_host


def test_selecting_the_core_tier_runs_only_the_core_apps():
    """SCALE-03 on lab nodes: with archipelago_app_tiers [core], --check says it would stop and
    disable exactly the units of the apps outside the core tier (and remove their units and
    records), and it changes nothing; the real run leaves only the core apps (archy-tor, the tor
    role's, is core too) running; the inventory's selection brings every app back."""
    host = node_host("arch2")

    def active():
        return host.check_output("systemctl list-units --state=active --no-legend --plain 'archy-app-*' | sort")

    def containers(extra, check=False):
        res = controller([str(pathlib.Path(sys.executable).parent / "ansible-playbook"), "playbooks/stabilize.yml",
                          *(["--check"] if check else []), "--limit", "arch2", "--tags", "containers", *extra],
                         check=False)
        assert res.returncode == 0, res.stdout[-3000:]
        return res.stdout

    core = ["-e", '{"archipelago_app_tiers": ["core"]}']
    before = active()
    out = containers(core, check=True)
    stopped = set(re.findall(r"changed: \[arch2\] => \(item=(archy-app-[a-z0-9_.-]+\.service)\)",
                             out.split("Stop and disable apps that are not selected", 1)[1].split("TASK [", 1)[0]))
    assert stopped == {f"archy-app-{i}.service" for i, a in APPS.items() if a.get("tier", "core") != "core"}
    assert active() == before
    try:
        containers(core)
        running = {line.split()[0] for line in active().splitlines()}
        assert running == {f"archy-app-{i}.service" for i, a in APPS.items() if a.get("tier", "core") == "core"} \
            | {"archy-app-archy-tor.service"}, running
        names = set(host.check_output("podman ps --format '{{.Names}}'").split())
        assert not names & {i for i, a in APPS.items() if a.get("tier", "core") != "core"}, names
    finally:
        containers([])
    assert active() == before
