"""Role expressions worked out by Ansible's own templating, with the facts they read given here: the
set_fact values that decide which app units restart (containers) and which apps nginx_headers
routes, each read from the role's task file as written."""
import pathlib

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLES = ROOT / "collections" / "ansible_collections" / "archipelago" / "node" / "roles"


def set_fact_value(task_file, name):
    """The expression a set_fact task of task_file gives `name`, and that task's own vars."""
    for task in yaml.safe_load((ROLES / task_file).read_text()):
        facts = task.get("ansible.builtin.set_fact", {})
        if name in facts:
            return facts[name], task.get("vars", {})
    raise AssertionError(f"no set_fact of {name} in {task_file}")


_LOADER = []


def render(expression, variables):
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader
    from ansible.template import Templar, trust_as_template
    if not _LOADER:
        init_plugin_loader([str(ROOT / "collections")])
        _LOADER.append(True)
    trusted = {k: trust_as_template(v) if isinstance(v, str) else v for k, v in variables.items()}
    return Templar(loader=DataLoader(), variables=trusted).template(trust_as_template(expression))


PLAN = {"apps": [{"id": "lnd", "unit": "archy-app-lnd.service"}, {"id": "mempool", "unit": "archy-app-mempool.service"}]}


@pytest.mark.parametrize("changed,restarted", [
    (["/var/lib/archipelago/secrets/apps/lnd.env"], ["archy-app-lnd.service"]),        # its environment only
    (["/etc/systemd/system/archy-app-mempool.service"], ["archy-app-mempool.service"]),
    (["/var/lib/archipelago/secrets/apps/lnd.env.old", "/etc/archipelago/apps/lnd.app.json"], []),
])
def test_an_app_restarts_when_its_unit_or_its_environment_changed(changed, restarted):
    expression, _ = set_fact_value("containers/tasks/apps.yml", "containers_changed_units")
    got = render(expression, {"containers_files": {"content_changed": changed}, "archipelago_app_plan": PLAN,
                              "archipelago_systemd_dir": "/etc/systemd/system",
                              "containers_env_dir": "/var/lib/archipelago/secrets/apps"})
    assert got == restarted


def test_an_app_the_site_routes_itself_is_left_to_the_site():
    expression, _ = set_fact_value("nginx_headers/tasks/validate.yml", "nginx_headers_routes")
    apps = [{"id": "lnd", "port": 8080}, {"id": "mempool", "port": 8999}]
    got = render(expression, {"nginx_headers_apps": apps, "archipelago_app_plan": {"apps": []},
                              "nginx_headers_site_hardened": {"locations": ["/", "/app/lnd/", "/rpc/v1"]}})
    assert got == [{"id": "mempool", "port": 8999}]
