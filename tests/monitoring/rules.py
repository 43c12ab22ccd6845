"""The monitoring role's alert rules rendered on the controller, as the role renders them, from
its defaults and vars (and overrides), for promtool on the lab's monitoring host."""
import pathlib

ROOT = pathlib.Path(__file__).resolve().parents[2]
ROLE = ROOT / "collections/ansible_collections/archipelago/node/roles/monitoring"


_LOADER_READY = False


def _trusted(value):
    """Role files are trusted templates, as Ansible treats them when it loads a role."""
    from ansible.template import trust_as_template
    if isinstance(value, str):
        return trust_as_template(value)
    if isinstance(value, list):
        return [_trusted(v) for v in value]
    if isinstance(value, dict):
        return {k: _trusted(v) for k, v in value.items()}
    return value


def render_rules(**overrides):
    """The text of archipelago.rules.yml with the role's defaults, its vars and `overrides`."""
    from ansible.parsing.dataloader import DataLoader
    from ansible.plugins.loader import init_plugin_loader
    from ansible.template import Templar, trust_as_template
    global _LOADER_READY
    if not _LOADER_READY:
        init_plugin_loader([str(ROOT / "collections")])
        _LOADER_READY = True
    loader = DataLoader()
    variables = {"ansible_managed": "rendered by tests/monitoring/rules.py", "groups": {"archipelago": []}}
    variables.update(_trusted(loader.load_from_file(str(ROLE / "defaults/main.yml"))))
    variables.update(overrides)
    variables.update(_trusted(loader.load_from_file(str(ROLE / "vars/main.yml"))))
    templar = Templar(loader=loader, variables=variables)
    return templar.template(trust_as_template((ROLE / "templates/archipelago.rules.yml.j2").read_text()))


if __name__ == "__main__":
    print(render_rules())
