#!/usr/bin/env python3
"""Writes the collection's docs/catalogue.md from the app catalogue (roles/base/vars/main.yml): one
row per app, and the memory budget per selection tier (SCALE-01/02) that the containers role's
limits add up to.

  scripts/catalogue_docs.py          rewrite docs/catalogue.md
  scripts/catalogue_docs.py --check  exit 1 when docs/catalogue.md differs from the catalogue
"""
import pathlib
import sys

import yaml

COLLECTION = pathlib.Path(__file__).resolve().parents[1] / "collections" / "ansible_collections" / "archipelago" / "node"
sys.path.insert(0, str(COLLECTION.parents[2]))
from ansible_collections.archipelago.node.plugins.plugin_utils import apps  # noqa: E402

DOC = COLLECTION / "docs" / "catalogue.md"
GIB = 1024 ** 3


def gib(nbytes):
    return "%.2f GB" % (nbytes / GIB)


def render():
    data = yaml.safe_load((COLLECTION / "roles" / "base" / "vars" / "main.yml").read_text())
    catalogue = data["archipelago_catalogue"]
    plan = apps.plan(catalogue, apps.SELECTION_TIERS, [])
    by_id = {a["id"]: a for a in plan["apps"]}
    lines = ["# The app catalogue", "",
             "<!-- generated from roles/base/vars/main.yml by scripts/catalogue_docs.py; do not edit -->", "",
             "The apps the collection knows, in the app model's shape (`roles/containers/README.md`). Pick them",
             "by id in `archipelago_catalogue_apps`, change any key per app in `archipelago_app_overrides`;",
             "`playbooks/adopt.yml` matches a node's containers and manifests against them by id.", "",
             "| App | Name | Tier | Starts in | Image | Memory | Health check | Network | Published | User |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for raw in catalogue:
        a = by_id[raw["id"]]
        hc = raw["health_check"]
        check = {"exec": "`%s`" % hc.get("command"), "http": "HTTP %s%s" % (hc.get("port"), hc.get("path", "/")),
                 "tcp": "TCP %s" % hc.get("port")}[hc.get("type", "exec")]
        ports = ", ".join("%s:%d" % (p["bind"], p["host"]) for p in a["ports"]) or "-"
        lines.append("| `%s` | %s | %s | %s | `%s` | %s | %s | %s | %s | %s |" % (
            a["id"], a["name"], a["tier"], a["startup_tier"], a["image"], a["memory_limit"], check,
            ", ".join(a["networks"]), ports, a["user"] or "image's"))
    budget = apps.budget(plan["apps"])
    lines += ["", "## Memory budget (SCALE-01/02)", "",
              "The memory limits of each selection tier, and what a node needs for the apps of each selection",
              "(limits are ceilings: apps use less most of the time; add the host, the backend and Tor).", "",
              "| Selection | Apps | Memory limits |", "|---|---|---|"]
    count = 0
    for i, tier in enumerate(apps.SELECTION_TIERS):
        count += budget["tiers"][tier]["apps"]
        name = "+".join(apps.SELECTION_TIERS[:i + 1])
        lines.append("| %s | %d | %s |" % (name, count, gib(budget["selections"][name])))
    owned = data.get("archipelago_catalogue_owned") or {}
    if owned:
        lines += ["", "Run by their own roles, never as apps: " + ", ".join(
            "`%s` (%s role)" % (k, v) for k, v in sorted(owned.items())) + "."]
    return "\n".join(lines) + "\n"


def main(argv):
    text = render()
    if "--check" in argv:
        if not DOC.exists() or DOC.read_text() != text:
            print("%s differs from the catalogue: run scripts/catalogue_docs.py" % DOC)
            return 1
        return 0
    DOC.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
