#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: app_model_info
short_description: Read the app model of what an Archipelago node already runs
version_added: 0.2.0
description:
  - Reads the node's app manifests (Archipelago v1.8 and later, C(<manifests_dir>/<id>/manifest.yml)) and
    its containers (read with C(podman inspect), their image, networks, user, ports, volumes, memory and CPU
    limits, health check, security options, restart policy, the names of their environment variables), and returns them as
    the app model of the containers role, matched against the app catalogue by id.
  - For each app the catalogue gives what the node does not say (health check, tiers, memory limit,
    hardening); the manifest says what the app should be; the containers role's record says what it ran
    last; the running container wins for what holds its data and identity (a pinned image, networks, user,
    command, published ports, volumes). A port the node published on every address is published on
    loopback in the model, and said so in RV(notes).
  - Environment values never leave the node. An app whose container has an environment of its own gets
    O(env_dir)/<id>.env as its C(environment_file); M(archipelago.node.app_environment) writes it there.
  - Apps the model cannot run without an operator's word (no pinned image, memory limit, health check or
    startup tier) come back in RV(incomplete) with what is missing, never in RV(apps).
  - Changes nothing. Needs root for rootful Podman (become), and PyYAML (Debian's C(python3-yaml)) on
    the node when it has manifests.
options:
  manifests_dir:
    description: Folder of the app manifests, one C(<id>/manifest.yml) per app. Missing is fine.
    type: path
    default: /opt/archipelago/apps
  catalogue:
    description: The app catalogue (the base role's C(archipelago_catalogue)); empty matches nothing.
    type: list
    elements: dict
    default: []
  owned:
    description: App ids that other roles run, to the role (C(archipelago_catalogue_owned)); left out.
    type: dict
    default: {}
  exclude:
    description: Containers to leave out (for example C(containers_keep)).
    type: list
    elements: str
    default: []
  env_dir:
    description: The node folder of the adopted apps' environment files.
    type: path
    default: /var/lib/archipelago/secrets/apps
  records_dir:
    description:
      - The folder of the containers role's records (C(<id>.app.json)) of the apps it runs. An app with a
        record stays in the model when its container is gone (a unit left failed after its backoff).
    type: path
    default: /etc/archipelago/apps
extends_documentation_fragment:
  - archipelago.node.podman
attributes:
  check_mode:
    support: full
    description: Runs normally in check mode; it only reads.
  diff_mode:
    support: none
    description: Reads only.
requirements:
  - PyYAML on the node when it has manifests
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: Read what the node runs, as an app model
  archipelago.node.app_model_info:
    catalogue: "{{ archipelago_catalogue }}"
    owned: "{{ archipelago_catalogue_owned }}"
    exclude: "{{ containers_keep }}"
  become: true
  register: adopted

- name: Say what differs from the catalogue
  ansible.builtin.debug:
    msg: "{{ adopted.differences | map(attribute='key') | list }}"
"""

RETURN = r"""
apps:
  description: Complete apps in the app model's shape (roles/containers/README.md), ready for the containers role.
  returned: success
  type: list
  elements: dict
incomplete:
  description: Apps that need an operator's word before the role can run them, each C({app, missing}).
  returned: success
  type: list
  elements: dict
differences:
  description: Keys where the node or the catalogue differ from the adopted model, each
    C({app, key, node, catalogue, adopted}) (C(key) like C(container.image) or C(resources.memory_limit)).
  returned: success
  type: list
  elements: dict
notes:
  description: What adoption decided that an operator should know (unpinned images, ports on every address,
    Podman restart policies, dependencies left out).
  returned: success
  type: list
  elements: str
sources:
  description: App id to where its model came from (C(catalogue), C(manifest), C(record), C(container)).
  returned: success
  type: dict
environment:
  description: App id to the names of its environment variables (never the values).
  returned: success
  type: dict
catalogue_ids:
  description: Ids of the node's apps that the catalogue knows.
  returned: success
  type: list
  elements: str
manifests:
  description: The manifest files read.
  returned: success
  type: list
  elements: str
records:
  description: The record files read.
  returned: success
  type: list
  elements: str
"""

import json
import os
import traceback

from ansible.module_utils.basic import AnsibleModule, missing_required_lib
from ansible_collections.archipelago.node.plugins.module_utils import adopt

try:
    import yaml
    HAS_YAML = True
    YAML_ERROR = None
except ImportError:
    HAS_YAML = False
    YAML_ERROR = traceback.format_exc()


def read_docs(module, paths, what, parse, errors):
    """[(path, parsed document)] of the files, each at most MANIFEST_MAX_BYTES, at most
    MANIFESTS_MAX of them; a file that cannot be read or parsed fails the run, naming it."""
    if len(paths) > adopt.MANIFESTS_MAX:
        module.fail_json(msg="%d %ss, more than %d: name a smaller folder" % (len(paths), what, adopt.MANIFESTS_MAX))
    docs = []
    for path in paths:
        try:
            with open(path, "rb") as handle:
                raw = handle.read(adopt.MANIFEST_MAX_BYTES + 1)
        except (IOError, OSError) as exc:
            module.fail_json(msg="cannot read %s: %s" % (path, exc))
        if len(raw) > adopt.MANIFEST_MAX_BYTES:
            module.fail_json(msg="%s is larger than %d bytes; is it a %s?" % (path, adopt.MANIFEST_MAX_BYTES, what))
        try:
            docs.append((path, parse(raw.decode("utf-8"))))
        except errors as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            module.fail_json(msg="%s is not a readable %s: %s" % (path, what, first))
    return docs


def read_manifests(module, folder):
    """The manifests <folder>/<id>/manifest.yml (or .yaml), parsed."""
    if not os.path.isdir(folder):
        return []
    found = []
    for name in sorted(os.listdir(folder)):
        for leaf in ("manifest.yml", "manifest.yaml"):
            path = os.path.join(folder, name, leaf)
            if os.path.isfile(path):
                found.append(path)
                break
    if found and not HAS_YAML:
        module.fail_json(msg=missing_required_lib("PyYAML (Debian: apt install python3-yaml)",
                                                  reason="to read the app manifests in %s" % folder),
                         exception=YAML_ERROR)
    if not found:
        return []
    return read_docs(module, found, "manifest", yaml.safe_load, (UnicodeDecodeError, yaml.YAMLError))


def read_records(module, folder):
    """The containers role's records <folder>/*.app.json, parsed (a broken one: remove it, the role
    writes it again)."""
    if not os.path.isdir(folder):
        return []
    found = sorted(os.path.join(folder, n) for n in os.listdir(folder) if n.endswith(".app.json"))
    return read_docs(module, found, "record", json.loads, (UnicodeDecodeError, ValueError))


def main():
    module = AnsibleModule(
        argument_spec=dict(
            manifests_dir=dict(type="path", default="/opt/archipelago/apps"),
            catalogue=dict(type="list", elements="dict", default=[]),
            owned=dict(type="dict", default={}),
            exclude=dict(type="list", elements="str", default=[]),
            env_dir=dict(type="path", default="/var/lib/archipelago/secrets/apps"),
            records_dir=dict(type="path", default="/etc/archipelago/apps"),
            **adopt.PODMAN_ARGS
        ),
        supports_check_mode=True,
    )
    p = module.params
    if adopt.podman_args_error(p):
        module.fail_json(msg=adopt.podman_args_error(p))
    if not os.path.isabs(p["env_dir"]):
        module.fail_json(msg="env_dir must be an absolute path, not %s" % p["env_dir"])
    docs = read_manifests(module, p["manifests_dir"])
    record_docs = read_records(module, p["records_dir"])
    try:
        manifests = [adopt.manifest_app(doc, path) for path, doc in docs]
        seen = {}
        for index, entry in enumerate(manifests):
            app_id, path = entry[0]["id"], docs[index][0]
            if app_id in seen:
                raise adopt.AdoptError("%s and %s both describe app %s" % (seen[app_id], path, app_id))
            seen[app_id] = path
        records = [adopt.record_app(doc, path) for path, doc in record_docs]
        containers = [adopt.container_app(i, img)
                      for i, img in adopt.read_containers(module.run_command, p["podman"], p["timeout"])]
        result = adopt.adopt(containers, manifests, p["catalogue"], p["exclude"], p["env_dir"], p["owned"],
                             records, p["records_dir"])
    except adopt.AdoptError as exc:
        module.fail_json(msg=str(exc))
    module.exit_json(changed=False, manifests=[d[0] for d in docs], records=[d[0] for d in record_docs], **result)


if __name__ == "__main__":
    main()
