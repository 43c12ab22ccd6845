"""Role and playbook expressions worked out by Ansible's own templating, with the facts they read given here, each
read from the role's task file as written: the set_fact values that decide which app units restart
(containers) and which apps nginx_headers routes; the swap file's size and which swap steps run
(swapoff, swapon and vm.swappiness, which the lab's container nodes skip); the UFW rules a policy
switch removes; canary.yml's gate before each batch."""
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


def task_named(task_file, name):
    for task in yaml.safe_load((ROLES / task_file).read_text()):
        if task.get("name") == name:
            return task
    raise AssertionError(f"no task {name!r} in {task_file}")


def runs(task, variables):
    """Whether a task's `when` (one condition or a list, all must hold) is true for these facts."""
    when = task.get("when", [])
    return all(render("{{ (%s) | bool }}" % c, variables) for c in (when if isinstance(when, list) else [when]))


SWAP_DEFAULTS = yaml.safe_load((ROLES / "swap" / "defaults" / "main.yml").read_text())


def swap_facts(read, **inventory):
    """The swap role's decisions (validate.yml's "Work out the size") for the lines its read prints."""
    expression, task_vars = set_fact_value("swap/tasks/validate.yml", "swap_want_mb")
    task = task_named("swap/tasks/validate.yml", "Work out the size")
    variables = dict(SWAP_DEFAULTS, **inventory, swap_read={"stdout_lines": read.splitlines()}, **task_vars)
    return {name: render(value, variables) for name, value in task["ansible.builtin.set_fact"].items()}


@pytest.mark.parametrize("mem_mb,size_mb,want", [
    (16000, 0, 8000), (7900, 0, 3950),          # 50 % of the RAM
    (2000, 0, 2048), (64000, 0, 8192),          # clamped to 2-8 GiB
    (16000, 4096, 4096),                        # swap_size_mb wins
])
def test_swap_is_sized_from_the_ram_within_2_to_8_gib_unless_given(mem_mb, size_mb, want):
    facts = swap_facts(f"swaps=\navail_mb=50000\nmem_mb={mem_mb}\ncontainer=none", swap_size_mb=size_mb)
    assert int(facts["swap_want_mb"]) == want


@pytest.mark.parametrize("container,have_mb,active,steps", [
    # a real machine: the old file is turned off, replaced, formatted and turned on; swappiness set
    ("none", 2048, True, {"swapoff", "remove", "allocate", "mkswap", "swapon", "swappiness"}),
    ("none", 4096, True, {"swappiness"}),                       # right size and on: nothing but the sysctl
    ("none", 4096, False, {"swapon", "swappiness"}),            # right size, off (after a swapoff): on again
    ("none", 0, False, {"allocate", "mkswap", "swapon", "swappiness"}),   # no file yet
    # a container (the lab): the file is managed, swapon and the sysctl are not
    ("podman", 2048, False, {"remove", "allocate", "mkswap"}),
    ("podman", 4096, False, set()),
])
def test_swap_steps_run_only_when_needed(container, have_mb, active, steps):
    read = (f"file={have_mb * 1048576} 600 root root\nsignature=swap\n" if have_mb else "") + \
        f"swaps={'/swapfile' if active else ''}\navail_mb=50000\nmem_mb=16000\ncontainer={container}"
    variables = dict(SWAP_DEFAULTS, swap_size_mb=4096, ansible_check_mode=False,
                     **swap_facts(read, swap_size_mb=4096))
    names = {"swapoff": "Turn off a swap file of the wrong size before replacing it",
             "remove": "Remove a swap file of the wrong size",
             "allocate": "Allocate the swap file (fallocate, dd where the filesystem needs it)",
             "mkswap": "Format the swap file", "swapon": "Turn the swap file on", "swappiness": "Set vm.swappiness"}
    got = set()
    for step, name in names.items():
        task = task_named("swap/tasks/converge.yml", name)
        if step in ("mkswap", "swapon"):   # they read whether the allocation ran
            variables["swap_created"] = {"changed": "allocate" in got}
        if runs(task, variables):
            got.add(step)
    assert got == steps


UFW_ADDED = [   # `ufw show added` on a node, as the role reads it
    "ufw allow 22/tcp comment 'ssh (archipelago.node)'",
    "ufw allow from 10.88.0.0/16 comment 'podman 10.88.0.0/16 (archipelago.node)'",
    "ufw allow from 10.89.0.0/24 to 10.89.0.1 port 53 proto udp comment 'podman dns 10.89.0.0/24 (archipelago.node)'",
    "ufw allow from 10.89.0.0/24 to 10.89.0.1 port 53 proto tcp comment 'podman dns 10.89.0.0/24 (archipelago.node)'",
    "ufw allow from 10.5.0.0/16 comment 'the operator'",
    "ufw allow from 10.6.0.0/16",
]


@pytest.mark.parametrize("policy,removed", [
    ("dns", [{"from_ip": "10.88.0.0/16"}]),
    ("subnet", [{"from_ip": "10.89.0.0/24", "to_ip": "10.89.0.1", "port": "53", "proto": "udp"},
                {"from_ip": "10.89.0.0/24", "to_ip": "10.89.0.1", "port": "53", "proto": "tcp"}]),
])
def test_switching_the_ufw_policy_removes_only_the_roles_rules_of_the_other_one(policy, removed):
    task = task_named("ufw_podman/tasks/converge.yml", "Remove this role's rules of the other policy")
    variables = dict(task["vars"], ufw_podman_policy=policy, ufw_podman_now={"stdout_lines": UFW_ADDED})
    from ansible.errors import AnsibleValueOmittedError
    got = []
    for item in render(task["loop"], variables):
        args = {}
        for key in ("from_ip", "to_ip", "port", "proto"):
            try:
                args[key] = render(task["community.general.ufw"][key], dict(variables, item=item))
            except AnsibleValueOmittedError:    # `omit`: the module gets no such argument
                pass
        got.append(args)
    assert got == removed


CANARY = ROOT / "collections" / "ansible_collections" / "archipelago" / "node" / "playbooks" / "canary.yml"


@pytest.mark.parametrize("others,percent,failed,goes_on", [
    (2, 0, 0, True), (2, 0, 1, False),            # the default: the first failed release stops it
    (2, 50, 1, True), (2, 50, 2, False),
    (1000, 2, 20, True), (1000, 2, 21, False),    # 2 % of 1000
    (99, 2, 1, True), (99, 2, 2, False),          # 1.98 rounds down to 1
])
def test_the_rollout_goes_on_while_failed_releases_are_within_the_threshold(others, percent, failed, goes_on):
    gate = next(p for p in yaml.safe_load(CANARY.read_text()) if p["name"] == "The other nodes, in batches")
    task = gate["pre_tasks"][0]
    hosts = [f"n{i}" for i in range(others)]
    hostvars = {h: {"inventory_hostname": h, **({"release_failure": "crash"} if i < failed else {})}
                for i, h in enumerate(hosts)}
    hostvars["c1"] = {"inventory_hostname": "c1", "release_passed": True}
    variables = dict(gate["vars"], **task["vars"], rollout_max_fail_percentage=percent, hostvars=hostvars,
                     ansible_play_hosts_all=hosts, groups={"canary": ["c1"], "archipelago": ["c1", *hosts]},
                     inventory_hostname=hosts[-1])
    assert all(render("{{ (%s) | bool }}" % c, variables) for c in task["ansible.builtin.assert"]["that"]) == goes_on
    if not goes_on:
        msg = render(task["ansible.builtin.assert"]["fail_msg"], variables)
        assert msg.startswith(f"the rollout stopped: {failed} of the {others} other nodes failed their release (n0")
        assert msg.endswith(f"{hosts[-1]} was not touched.")


def test_the_first_boot_inventory_is_this_node_alone_with_the_roles_it_does_not_run_off():
    role_vars = yaml.safe_load((ROLES / "firstboot" / "vars" / "main.yml").read_text())
    defaults = yaml.safe_load((ROLES / "firstboot" / "defaults" / "main.yml").read_text())
    variables = dict(defaults, **role_vars, inventory_hostname="node7", archipelago_node_python="/usr/bin/python3",
                     firstboot_vars={"archipelago_apps_source": "node", "tor_enabled": True})
    got = render(role_vars["firstboot_inventory_data"]["all"]["children"]["archipelago"]["hosts"], variables)
    assert got == {"node7": {"ansible_connection": "local", "ansible_python_interpreter": "/usr/bin/python3",
                             "archipelago_apps_source": "node", "ufw_podman_enabled": False, "tor_enabled": True,
                             "backend_enabled": False, "logrotate_enabled": False, "nginx_headers_enabled": False}}


def test_the_first_boot_knows_every_role_of_stabilize():
    """firstboot_stabilize_roles (the roles it switches off when it does not run them) is the
    first play of stabilize.yml, role for role: a role added there is added here too."""
    play = yaml.safe_load((ROOT / "collections/ansible_collections/archipelago/node/playbooks/stabilize.yml").read_text())[0]
    roles = [(r["role"] if isinstance(r, dict) else r).split(".")[-1] for r in play["roles"]]
    listed = yaml.safe_load((ROLES / "firstboot" / "vars" / "main.yml").read_text())["firstboot_stabilize_roles"]
    assert listed == roles
