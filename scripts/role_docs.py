#!/usr/bin/env python3
"""Writes the part of each role's README.md that its meta/argument_specs.yml says: the entry points
and every variable with its type, default and description, between the markers below. What a
README says outside the markers is the role's own prose and is kept.

  scripts/role_docs.py          rewrite the generated part of every role README
  scripts/role_docs.py --check  exit 1 and name the READMEs that differ from their specs
  --roles DIR                   another roles folder (the tests check a broken copy)
"""
import pathlib
import sys

import yaml

ROLES = pathlib.Path(__file__).resolve().parents[1] / "collections" / "ansible_collections" / "archipelago" / "node" / "roles"
BEGIN = "<!-- BEGIN generated from meta/argument_specs.yml by scripts/role_docs.py; do not edit -->"
END = "<!-- END generated -->"


def cell(value):
    text = value if isinstance(value, str) else yaml.safe_dump(value, default_flow_style=True, width=1000).strip()
    text = text.replace("\n", " ").replace("|", "\\|")
    return text.removesuffix(" ...").strip()


def generated(role):
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    lines = [BEGIN, "", "### Entry points", ""]
    for name, spec in specs.items():
        lines.append(f"- `{name}` (`tasks/{name}.yml`): {spec.get('short_description', '').strip()}")
    lines += ["", "### Variables", "", "| Variable | Type | Default | Description |", "|---|---|---|---|"]
    for name, opt in sorted((specs["main"].get("options") or {}).items()):
        kind = opt.get("type", "str") + (f" of {opt['elements']}" if opt.get("elements") else "")
        default = "(required)" if opt.get("required") else f"`{cell(opt.get('default'))}`" if "default" in opt else ""
        desc = opt.get("description", "")
        desc = " ".join(desc) if isinstance(desc, list) else desc
        if opt.get("choices"):
            desc += " One of: " + ", ".join(f"`{c}`" for c in opt["choices"]) + "."
        lines.append(f"| `{name}` | {kind} | {default} | {cell(desc)} |")
    for name, spec in specs.items():
        extra = set(spec.get("options") or {}) - set(specs["main"].get("options") or {})
        for opt_name in sorted(extra):
            opt = spec["options"][opt_name]
            lines.append(f"| `{opt_name}` ({name}) | {opt.get('type', 'str')} | "
                         f"{'(required)' if opt.get('required') else ''} | {cell(opt.get('description', ''))} |")
    return "\n".join(lines + ["", END])


def readme_text(role):
    path = role / "README.md"
    block = generated(role)
    if path.exists():
        text = path.read_text()
        if BEGIN in text and END in text:
            head, rest = text.split(BEGIN, 1)
            return head + block + rest.split(END, 1)[1]
        return text.rstrip() + "\n\n## Reference\n\n" + block + "\n"
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]["main"]
    intro = [f"# Role `archipelago.node.{role.name}`", "", specs.get("short_description", "").strip() + "."]
    for para in specs.get("description") or []:
        intro += ["", para]
    return "\n".join(intro + ["", "## Reference", "", block, ""])


def main(check, roles=ROLES):
    stale = []
    for role in sorted(p for p in roles.iterdir() if p.is_dir()):
        want = readme_text(role)
        path = role / "README.md"
        if not path.exists() or path.read_text() != want:
            stale.append(f"{role.name}/README.md")
            if not check:
                path.write_text(want)
    if check and stale:
        print("README differs from its role's argument_specs (run scripts/role_docs.py): " + ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    args = sys.argv[1:]
    sys.exit(main("--check" in args, pathlib.Path(args[args.index("--roles") + 1]) if "--roles" in args else ROLES))
