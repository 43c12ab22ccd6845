"""The one contract of every role in the collection, checked on the files (no lab needed):

- tasks/main.yml validates (tasks/validate.yml, reads and checks only) and then converges
  (tasks/converge.yml), under <role>_enabled and the tag <role>;
- the argument_specs entry points are exactly main, validate and the entry points other roles are
  documented to use, and each has its task file;
- stabilize.yml validates every role of its play, from the play's own roles list, before any role runs;
- a role uses another role only through a declared entry point (by FQCN) and the options of that
  entry point, and never another role's variables or files;
- a node path or URL is written in one role only (the base role owns the shared ones).

Each rule is also run against a broken copy below, so a rule that cannot fail is noticed.
"""
import pathlib
import re
import shutil

import pytest
import yaml

ROOT = pathlib.Path(__file__).resolve().parents[2]
COLLECTION = ROOT / "collections" / "ansible_collections" / "archipelago" / "node"
ROLES_DIR = COLLECTION / "roles"
ROLE_NAMES = sorted(p.name for p in ROLES_DIR.iterdir() if p.is_dir())
# Entry points a role offers to other roles besides main and validate.
EXTRA_ENTRY_POINTS = {"containers": {"unit"}, "pull": {"runtime"}}


def entry_points(role_dir):
    spec = yaml.safe_load((role_dir / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return spec


def contract_errors(roles_dir):
    """Every way a role breaks the main/validate/converge contract, as text."""
    errors = []
    for role_dir in sorted(p for p in roles_dir.iterdir() if p.is_dir()):
        name = role_dir.name
        tasks = role_dir / "tasks"
        eps = entry_points(role_dir)
        want = {"main", "validate"} | EXTRA_ENTRY_POINTS.get(name, set())
        if set(eps) != want:
            errors.append(f"{name}: entry points {sorted(eps)}, want {sorted(want)}")
        for ep in eps:
            if not (tasks / f"{ep}.yml").is_file():
                errors.append(f"{name}: entry point {ep} has no tasks/{ep}.yml")
        for f in ("main.yml", "validate.yml", "converge.yml"):
            if not (tasks / f).is_file():
                errors.append(f"{name}: no tasks/{f}")
        if errors and errors[-1].startswith(f"{name}: no tasks/"):
            continue
        if name == "base":
            continue  # every role's dependency: validates each time, converges once (its own main.yml)
        main = yaml.safe_load((tasks / "main.yml").read_text())
        if len(main) != 1 or "block" not in main[0]:
            errors.append(f"{name}: tasks/main.yml is not one block")
            continue
        block = main[0]
        if block.get("when") != f"{name}_enabled | bool":
            errors.append(f"{name}: main.yml is not under {name}_enabled")
        if block.get("tags") != [name]:
            errors.append(f"{name}: main.yml is not tagged {name}")
        steps = [(t.get("ansible.builtin.include_tasks") or t.get("ansible.builtin.import_tasks") or {})
                 for t in block["block"]]
        files = [s.get("file") if isinstance(s, dict) else s for s in steps]
        if files != ["validate.yml", "converge.yml"]:
            errors.append(f"{name}: main.yml runs {files}, want validate.yml then converge.yml")
        validate = (tasks / "validate.yml").read_text()
        for module in ("node_files", "ansible.builtin.copy", "ansible.builtin.template", "ansible.builtin.file:",
                       "systemd_service", "lineinfile", "community.general.ufw", "podman_container:"):
            if module in validate:
                errors.append(f"{name}: validate.yml uses {module}, which changes the node")
        deps = yaml.safe_load((role_dir / "meta" / "main.yml").read_text()).get("dependencies") or []
        if {"role": "archipelago.node.base"} not in deps:
            errors.append(f"{name}: does not depend on archipelago.node.base")
    return errors


def test_every_role_keeps_the_contract():
    assert contract_errors(ROLES_DIR) == []


def broken_copy(tmp_path, edit):
    dst = tmp_path / "roles"
    shutil.copytree(ROLES_DIR, dst)
    edit(dst)
    return dst


@pytest.mark.parametrize("edit, expected", [
    (lambda d: (d / "logrotate" / "tasks" / "validate.yml").unlink(), "logrotate: entry point validate has no"),
    (lambda d: (d / "swap" / "meta" / "argument_specs.yml").write_text(
        "argument_specs:\n  main:\n    options: {}\n"), "swap: entry points ['main']"),
    (lambda d: (d / "tor" / "tasks" / "main.yml").write_text(
        "- name: x\n  when: tor_enabled | bool\n  tags: [tor]\n  block:\n"
        "    - ansible.builtin.import_tasks: converge.yml\n"), "tor: main.yml runs ['converge.yml']"),
    (lambda d: (d / "backend" / "tasks" / "validate.yml").write_text(
        "- ansible.builtin.lineinfile: {path: /x, line: y}\n"), "backend: validate.yml uses lineinfile"),
], ids=["missing-validate-file", "missing-validate-entry-point", "no-validation", "validate-writes"])
def test_contract_check_can_fail(tmp_path, edit, expected):
    errors = contract_errors(broken_copy(tmp_path, edit))
    assert any(e.startswith(expected) for e in errors), errors


def stabilize_errors(playbook_text, roles_dir):
    """stabilize.yml validates each role of its first play before any role of it runs."""
    play = yaml.safe_load(playbook_text)[0]
    errors = []
    pre = play.get("pre_tasks") or []
    loops = [t for t in pre if "ansible.builtin.include_role" in t]
    ok = [t for t in loops if t["ansible.builtin.include_role"].get("tasks_from") == "validate.yml"
          and t.get("loop") == "{{ ansible_play_role_names }}"]
    if not ok:
        errors.append("no pre_task validates every role of the play (include_role validate.yml over "
                      "ansible_play_role_names)")
    if play.get("tasks"):
        errors.append("the play has tasks besides its roles")
    for entry in play.get("roles") or []:
        fqcn = entry["role"] if isinstance(entry, dict) else entry
        if not fqcn.startswith("archipelago.node."):
            errors.append(f"{fqcn} is not named by FQCN")
            continue
        short = fqcn.split(".")[-1]
        if not (roles_dir / short / "tasks" / "validate.yml").is_file() or \
                "validate" not in entry_points(roles_dir / short):
            errors.append(f"{short} is run but has no validate entry point")
    return errors


STABILIZE = COLLECTION / "playbooks" / "stabilize.yml"


def test_stabilize_validates_every_role_it_runs_first():
    assert stabilize_errors(STABILIZE.read_text(), ROLES_DIR) == []


def test_stabilize_check_can_fail(tmp_path):
    text = STABILIZE.read_text()
    no_loop = text.replace("loop: \"{{ ansible_play_role_names }}\"", "loop: [archipelago.node.swap]")
    assert any("no pre_task validates" in e for e in stabilize_errors(no_loop, ROLES_DIR))
    roles = broken_copy(tmp_path, lambda d: (d / "node_report" / "tasks" / "validate.yml").unlink())
    extra = text.replace("    - role: archipelago.node.nginx_headers\n",
                         "    - role: archipelago.node.nginx_headers\n    - role: archipelago.node.node_report\n")
    assert "node_report is run but has no validate entry point" in stabilize_errors(extra, roles)


# A name followed by ':' is a mapping key and one after '.' an attribute (e.g. a report's field), not a use.
YAML_KEY = r"(?!\s*:)"


def coupling_errors(roles_dir):
    """A role that reaches into another: its variables, internal task files, files or templates."""
    names = sorted(p.name for p in roles_dir.iterdir() if p.is_dir())
    errors = []
    for role_dir in sorted(roles_dir / n for n in names):
        me = role_dir.name
        allowed = set()
        for f in role_dir.rglob("*.yml"):
            data = f.read_text()
            for target, tasks_from in re.findall(
                    r"name:\s*(\S+)\s*\n\s*tasks_from:\s*(\S+)", data):
                other = target.split(".")[-1]
                if target != f"archipelago.node.{other}" or other not in names:
                    errors.append(f"{me}: includes role {target} not by its FQCN")
                    continue
                ep = tasks_from.removesuffix(".yml")
                eps = entry_points(roles_dir / other)
                if ep not in eps:
                    errors.append(f"{me}: uses {other}'s internal {tasks_from}")
                else:
                    allowed |= set(eps[ep].get("options") or {})
                    allowed.add(f"{other}_{ep}_result")     # what the entry point registers
            if f.parent.name != "meta" and re.search(r"\.\./|roles/", re.sub(r"(?m)^\s*#.*$", "", data)):
                errors.append(f"{me}: {f.relative_to(role_dir)} names a path into another role")
        for f in role_dir.rglob("*"):
            if not f.is_file() or f.name in ("README.md",) or f.parts[-2] == "files":
                continue
            text = re.sub(r"(?m)^\s*#.*$", "", f.read_text())
            for other in names:
                if other in (me, "base"):
                    continue
                for var in re.findall(r"(?<![.\w'])(%s_[a-z0-9_]+)\b%s" % (other, YAML_KEY), text):
                    if var not in allowed:
                        errors.append(f"{me}: uses {other}'s variable {var} ({f.relative_to(role_dir)})")
    return sorted(set(errors))


def test_roles_use_each_other_only_through_entry_points():
    assert coupling_errors(ROLES_DIR) == []


@pytest.mark.parametrize("edit, expected", [
    (lambda d: (d / "backend" / "tasks" / "converge.yml").write_text(
        "- ansible.builtin.include_role:\n    name: archipelago.node.containers\n    tasks_from: helpers.yml\n"),
     "backend: uses containers's internal helpers.yml"),
    (lambda d: (d / "nginx_headers" / "tasks" / "validate.yml").write_text(
        "- ansible.builtin.debug:\n    msg: \"{{ containers_keep }}\"\n"),
     "nginx_headers: uses containers's variable containers_keep (tasks/validate.yml)"),
    (lambda d: (d / "tor" / "tasks" / "converge.yml").write_text(
        "- ansible.builtin.include_role:\n    name: containers\n    tasks_from: unit\n"),
     "tor: includes role containers not by its FQCN"),
], ids=["internal-file", "other-variable", "short-name"])
def test_coupling_check_can_fail(tmp_path, edit, expected):
    assert expected in coupling_errors(broken_copy(tmp_path, edit))


LITERAL = re.compile(r"https?://[^\s'\"{}]+|(?<![\w.{}/-])/(?:usr|etc|var|opt|run|srv)/[^\s'\"{}:,\]]+")
# The base role's facts, as literals no other role may write.
BASE_DEFAULTS = yaml.safe_load((ROLES_DIR / "base" / "defaults" / "main.yml").read_text())


def literal_errors(roles_dir):
    owners = {}
    errors = []
    # Paths, units and addresses (a word such as "inventory", a value of a choice, is no fact)
    base = [v for k, v in BASE_DEFAULTS.items() if isinstance(v, str) and "{{" not in v
            and any(c in v for c in "/.:")]
    for role_dir in sorted(p for p in roles_dir.iterdir() if p.is_dir()):
        for f in role_dir.rglob("*"):
            if not f.is_file() or f.name in ("README.md", "argument_specs.yml") or f.parts[-2] == "files":
                continue
            text = re.sub(r"(?m)^\s*#.*$", "", f.read_text())
            for lit in set(LITERAL.findall(text)):
                owners.setdefault(lit.rstrip("/."), set()).add(role_dir.name)
            if role_dir.name != "base":
                for value in base:
                    if value in text:
                        errors.append(f"{role_dir.name}: writes the base role's {value} ({f.name})")
    errors += [f"{lit} is written in {sorted(roles)}" for lit, roles in owners.items() if len(roles) > 1]
    return sorted(errors)


def test_no_node_path_or_url_repeated_across_roles():
    assert literal_errors(ROLES_DIR) == []


def test_literal_check_can_fail(tmp_path):
    def edit(d):
        p = d / "release" / "defaults" / "main.yml"
        p.write_text(p.read_text() + "release_x: /usr/local/libexec/archipelago/x\nrelease_y: /opt/archipelago/web-ui\n")
        p = d / "tor" / "defaults" / "main.yml"
        p.write_text(p.read_text() + "tor_x: /srv/same/path\n")
        p = d / "swap" / "defaults" / "main.yml"
        p.write_text(p.read_text() + "swap_x: /srv/same/path\n")
    errors = literal_errors(broken_copy(tmp_path, edit))
    assert "release: writes the base role's /usr/local/libexec/archipelago (main.yml)" in errors
    assert "release: writes the base role's /opt/archipelago/web-ui (main.yml)" in errors
    assert "/srv/same/path is written in ['swap', 'tor']" in errors


def role_docs_check(roles_dir):
    import subprocess
    import sys
    return subprocess.run([sys.executable, str(ROOT / "scripts" / "role_docs.py"), "--check", "--roles", str(roles_dir)],
                          capture_output=True, text=True)


def test_every_role_readme_is_generated_from_its_spec():
    out = role_docs_check(ROLES_DIR)
    assert out.returncode == 0, out.stdout + out.stderr


def test_role_readme_check_can_fail(tmp_path):
    def edit(d):
        p = d / "logrotate" / "meta" / "argument_specs.yml"
        p.write_text(p.read_text().replace("Rotated logs kept.", "How many rotated logs are kept."))
    out = role_docs_check(broken_copy(tmp_path, edit))
    assert out.returncode == 1 and "logrotate/README.md" in out.stdout, out.stdout + out.stderr
