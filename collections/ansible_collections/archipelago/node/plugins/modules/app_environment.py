#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: app_environment
short_description: Keep a running app's environment in a file on the node, for its adopted unit
version_added: 0.2.0
description:
  - For each app without its file yet, writes the environment its container runs with (not its image's
    own) to the app's file (mode 0600, its folder 0700 when created), the C(environment_file) that
    M(archipelago.node.app_model_info) gives adopted apps. The containers role passes it to Podman, so an
    adopted app keeps its passwords and settings while none of them enters the inventory, a log or a diff.
  - A file that exists is the node's own and is never rewritten (an operator may have changed a value the
    running container does not have yet); only its mode is set to 0600. An app with neither a file nor a
    container fails, naming it.
  - Values never leave the node; the diff and the result name the variables only.
options:
  files:
    description: App id (its container's name) to the absolute path of its environment file.
    type: dict
    required: true
extends_documentation_fragment:
  - archipelago.node.podman
attributes:
  check_mode:
    support: full
    description: Reads the containers and the files and says what it would write; writes nothing.
  diff_mode:
    support: full
    description: Names the variables added and removed per file; values are never shown.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: Keep the adopted apps' environments on the node
  archipelago.node.app_environment:
    files: "{{ adopted.apps | selectattr('environment_file', 'defined')
               | items2dict(key_name='id', value_name='environment_file') }}"
  become: true
"""

RETURN = r"""
files:
  description: App id to its environment file.
  returned: success
  type: dict
written:
  description: Ids of the apps whose file was written or whose mode was set (or would be, in check mode).
  returned: success
  type: list
  elements: str
names:
  description: App id to the names of the variables in its file.
  returned: success
  type: dict
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.archipelago.node.plugins.module_utils import adopt


def current_lines(path):
    """The file's lines, or None when there is no file."""
    try:
        with open(path, "rb") as handle:
            raw = handle.read(1024 * 1024 + 1)
    except (IOError, OSError):
        return None
    return [line for line in raw.decode("utf-8", "replace").splitlines() if line and not line.startswith("#")]


def names_of(lines):
    return sorted(set(line.split("=", 1)[0] for line in lines or []))


def write_file(path, lines):
    folder = os.path.dirname(path)
    if not os.path.isdir(folder):
        os.makedirs(folder, 0o700)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".env-")
    try:
        with os.fdopen(fd, "w") as handle:
            handle.write("# Kept by archipelago.node.app_environment from the running container; 0600.\n")
            handle.write("".join(line + "\n" for line in lines))
        os.chmod(tmp, 0o600)
        # rename, not atomic_move: that gives a new file the umask's mode, not 0600
        os.rename(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main():
    module = AnsibleModule(
        argument_spec=dict(
            files=dict(type="dict", required=True),
            **adopt.PODMAN_ARGS
        ),
        supports_check_mode=True,
    )
    p = module.params
    if adopt.podman_args_error(p):
        module.fail_json(msg=adopt.podman_args_error(p))
    files = p["files"]
    bad = ["%s: %r" % (k, v) for k, v in sorted(files.items())
           if not adopt.ID_RE.match(str(k)) or not isinstance(v, str) or not os.path.isabs(v) or v.endswith("/")]
    if bad:
        module.fail_json(msg="files maps app ids to absolute file paths; not so: %s" % ", ".join(bad))
    apps = sorted(files)
    missing = [a for a in apps if current_lines(files[a]) is None]
    exists = set()
    if missing:
        rc, out, err = module.run_command(["timeout", str(p["timeout"]), p["podman"], "ps", "-a",
                                           "--format", "{{.Names}}"])
        if rc == 124:
            module.fail_json(msg="podman ps did not finish within %d s (the timeout option); is Podman stuck?"
                             % p["timeout"])
        if rc != 0:
            module.fail_json(msg="podman ps failed (rc %s): %s" % (rc, (err or out).strip()[:300]))
        exists = set(out.split())
    running = [a for a in missing if a in exists]
    try:
        read = adopt.read_containers(module.run_command, p["podman"], p["timeout"], running) if running else []
        wanted = dict((str(i.get("Name")).lstrip("/"), adopt.environment_lines(i, img)) for i, img in read)
    except adopt.AdoptError as exc:
        module.fail_json(msg=str(exc))
    names, written, before, after = {}, [], [], []
    for app_id in apps:
        path = files[app_id]
        have = current_lines(path)
        if have is None:
            if app_id not in wanted:
                module.fail_json(msg="app %s has no container and no environment file %s: nothing to keep "
                                 "its environment from; write the file (NAME=value lines, 0600)" % (app_id, path))
            lines = wanted[app_id]
            names[app_id] = names_of(lines)
            written.append(app_id)
            before.append("%s: (none)" % path)
            after.append("%s: %s" % (path, ", ".join(names[app_id])))
            if not module.check_mode:
                write_file(path, lines)
            continue
        names[app_id] = names_of(have)
        if os.stat(path).st_mode & 0o777 != 0o600:
            written.append(app_id)
            before.append("%s: mode %o" % (path, os.stat(path).st_mode & 0o777))
            after.append("%s: mode 600" % path)
            if not module.check_mode:
                os.chmod(path, 0o600)
    result = dict(changed=bool(written), files=files, names=names, written=written)
    if module._diff and written:
        result["diff"] = {"before": "\n".join(before) + "\n", "after": "\n".join(after) + "\n",
                          "before_header": "environment names (values are never shown)",
                          "after_header": "environment names (values are never shown)"}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
