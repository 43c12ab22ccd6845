#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: node_files
short_description: Write many whole files on a node in one run, each validated before it lands
version_added: 0.2.0
description:
  - Compares each file's content, mode, owner and group with what the node has and writes only
    those that differ. A roles' many templates (one unit and one environment file per app) cost
    one module run instead of one per file.
  - A changed file is written to a temporary file beside it, checked with its O(files[].validate)
    command, and only then moved into place; a failed check leaves the node's file as it was and
    fails naming the file and the command's output.
  - Files are handled in the order given, so a helper a later file's validate command needs can be
    listed before it.
  - In check mode nothing is written or validated; the result says which files would change.
options:
  directories:
    description: Folders created when missing, with their mode and ownership fixed, before any
      file is handled.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the folder.
        type: path
        required: true
      mode:
        description: Octal mode, such as V('0755').
        type: raw
        default: '0755'
      owner:
        description: Owner of the folder.
        type: str
        default: root
      group:
        description: Group of the folder.
        type: str
        default: root
  files:
    description: Files whose content may be shown in a diff.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the file on the node.
        type: path
        required: true
      content:
        description: The whole content of the file.
        type: str
        required: true
      mode:
        description: Octal mode, such as V('0644').
        type: raw
        default: '0644'
      owner:
        description: Owner of the file.
        type: str
        default: root
      group:
        description: Group of the file.
        type: str
        default: root
      validate:
        description: Command run on the candidate file before it replaces the node's; V(%s) is
          the candidate's path. Not run in check mode.
        type: str
  secret_files:
    description: Like O(files), for files that hold secrets (an app's environment); their
      content is no_log and never shown in a diff.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the file on the node.
        type: path
        required: true
      content:
        description: The whole content of the file (a secret).
        type: str
        required: true
      mode:
        description: Octal mode, such as V('0600').
        type: raw
        default: '0644'
      owner:
        description: Owner of the file.
        type: str
        default: root
      group:
        description: Group of the file.
        type: str
        default: root
      validate:
        description: Command run on the candidate file; V(%s) is its path.
        type: str
attributes:
  check_mode:
    support: full
    description: Reads every file and reports what would change; writes nothing.
  diff_mode:
    support: full
    description: Shows each changed file of O(files) before and after; for O(secret_files) only
      that it changed.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: Units and environment files of the apps, one run
  archipelago.node.node_files:
    files:
      - path: /etc/systemd/system/archy-app-electrs.service
        content: "{{ lookup('ansible.builtin.template', 'app.service.j2') }}"
        validate: /usr/local/libexec/archipelago/verify-unit %s archy-app-electrs.service
    secret_files:
      - path: /etc/archipelago/apps/electrs.env
        content: "{{ lookup('ansible.builtin.template', 'app.env.j2') }}"
        mode: "0600"
  register: app_files
"""

RETURN = r"""
changed_files:
  description: Paths of the folders and files that were (in check mode, would be) created or
    written or whose mode or ownership was (would be) fixed, in the order given.
  returned: always
  type: list
  elements: str
  sample: [/etc/systemd/system/archy-app-electrs.service]
content_changed:
  description: The subset of RV(changed_files) whose content changed (a unit to restart, not
    just a mode fixed).
  returned: always
  type: list
  elements: str
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.archipelago.node.plugins.module_utils.node_files import (
    FilesError, check_directories, check_files, diff_entry, dir_spec, file_spec, read_current, secret_diff_entry,
    validate_command)


def attributes_changed(module, f, changed):
    args = module.load_file_common_arguments({"path": f["path"], "mode": f["mode"], "owner": f["owner"],
                                              "group": f["group"]})
    return module.set_fs_attributes_if_different(args, changed)


def write(module, f, data):
    """Candidate beside the target, validated, then moved into place with its attributes."""
    directory = os.path.dirname(f["path"])
    if not os.path.isdir(directory):
        module.fail_json(msg="%s: its folder %s does not exist" % (f["path"], directory))
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".%s." % os.path.basename(f["path"]))
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        if f.get("validate"):
            rc, out, err = module.run_command(validate_command(f["validate"], tmp))
            if rc != 0:
                module.fail_json(msg="%s was not written: its check (%s) failed with rc=%d: %s"
                                 % (f["path"], f["validate"], rc, (err or out).strip()[-2000:]),
                                 changed_files=[], content_changed=[])
        if os.path.isdir(f["path"]):
            module.fail_json(msg="%s was not written: it is a folder" % f["path"], changed_files=[], content_changed=[])
        module.atomic_move(tmp, f["path"], unsafe_writes=False)
        attributes_changed(module, f, True)   # atomic_move keeps the old file's, or the umask's
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def main():
    module = AnsibleModule(argument_spec=dict(directories=dir_spec(), files=file_spec(False),
                                              secret_files=file_spec(True)),
                           supports_check_mode=True)
    files = [dict(f, secret=False) for f in module.params["files"]]
    files += [dict(f, secret=True) for f in module.params["secret_files"]]
    try:
        check_directories(module.params["directories"])
        check_files(files, module.params["directories"])
    except FilesError as exc:
        module.fail_json(msg="node_files: %s; nothing was written" % exc, changed_files=[], content_changed=[])

    plan = []
    for f in files:
        current, error = read_current(f["path"])
        if error:
            module.fail_json(msg="node_files: %s; nothing was written" % error, changed_files=[], content_changed=[])
        data = f["content"].encode("utf-8")
        plan.append((f, current, data))

    changed_files, content_changed, diffs = [], [], []
    for d in module.params["directories"]:
        if os.path.lexists(d["path"]) and not os.path.isdir(d["path"]):
            module.fail_json(msg="node_files: %s exists and is not a folder" % d["path"],
                             changed_files=changed_files, content_changed=content_changed)
        if not os.path.isdir(d["path"]):
            changed_files.append(d["path"])
            diffs.append({"before_header": d["path"], "after_header": d["path"],
                          "before": "", "after": "(folder, mode %s)\n" % d["mode"]})
            if module.check_mode:
                continue
            os.makedirs(d["path"])
            attributes_changed(module, d, True)
        elif attributes_changed(module, d, False):
            changed_files.append(d["path"])
    for f, current, data in plan:
        differs = current != data
        if differs:
            content_changed.append(f["path"])
            diffs.append(secret_diff_entry(f["path"], current) if f["secret"]
                         else diff_entry(f["path"], current, f["content"]))
            if not module.check_mode:
                try:
                    write(module, f, data)
                except (OSError, IOError) as exc:
                    module.fail_json(msg="%s could not be written: %s" % (f["path"], to_native(exc)),
                                     changed_files=changed_files, content_changed=content_changed)
        if current is not None and not differs:
            if attributes_changed(module, f, False):
                changed_files.append(f["path"])
                continue
        if differs:
            changed_files.append(f["path"])
    result = dict(changed=bool(changed_files), changed_files=changed_files, content_changed=content_changed)
    if module._diff:
        result["diff"] = diffs
    module.exit_json(**result)


if __name__ == "__main__":
    main()
