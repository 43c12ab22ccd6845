#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup
short_description: Create, verify, list and prune an Archipelago node's encrypted backups
version_added: 0.1.0
description:
  - Drives C(backup.create), C(backup.list), C(backup.verify) and C(backup.delete) on the node's
    backend (US-10). Backups are encrypted by the backend with a key derived from O(passphrase).
  - O(state=present) creates a backup when none is newer than O(max_age), verifies it, then
    deletes the oldest ones beyond O(keep).
  - O(state=absent) deletes O(id).
  - O(state=verified) and O(state=listed) are deprecated; use M(archipelago.node.backup_info), which only reads.
extends_documentation_fragment:
  - archipelago.node.rpc
options:
  state:
    description: What to do (V(verified) and V(listed) are deprecated).
    type: str
    choices: [present, verified, absent, listed]
    default: present
  passphrase:
    description: The backup passphrase (at least 8 characters). Required for O(state=present) and O(state=verified).
    type: str
  label:
    description: A label stored with a new backup.
    type: str
  max_age:
    description: With O(state=present), seconds a previous backup stays fresh enough; 0 always creates one.
    type: int
    default: 0
  keep:
    description: With O(state=present), how many backups to keep (newest first); 0 keeps all.
    type: int
    default: 0
  id:
    description: The backup for O(state=verified) or O(state=absent).
    type: str
attributes:
  check_mode:
    support: full
    description: Lists the backups and reports what would be created or deleted; writes nothing.
  diff_mode:
    support: full
    description: Shows the backup ids before and after.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: Daily backup, keep a week
  archipelago.node.backup:
    password_file: /etc/archipelago/admin-password
    passphrase: "{{ vault_backup_passphrase }}"
    max_age: 86000
    keep: 7

- name: Delete one backup
  archipelago.node.backup:
    password_file: /etc/archipelago/admin-password
    state: absent
    id: "{{ old_backup_id }}"
"""

RETURN = r"""
backups:
  description: The node's backups after the run (id, label, size, created_at, sha256).
  returned: success
  type: list
  elements: dict
created:
  description: The backup created by this run.
  returned: when a backup was created
  type: dict
deleted:
  description: Ids deleted by this run (or that would be, in check mode).
  returned: success
  type: list
  elements: str
verified:
  description: The verification of the created or named backup.
  returned: when a backup was verified
  type: dict
rpc_calls:
  description: The RPC methods called and their HTTP status.
  returned: always
  type: list
  elements: dict
"""

import time

from ansible_collections.archipelago.node.plugins.module_utils.node_module import NodeModule
from ansible_collections.archipelago.node.plugins.module_utils.backup import BackupError, backup_due, read_backups, to_prune
from ansible_collections.archipelago.node.plugins.module_utils.common import run
from ansible_collections.archipelago.node.plugins.module_utils.rpc import list_reply, rpc_argument_spec


def work(module, client):
    p = module.params
    state = p["state"]
    if state in ("listed", "verified"):
        module.deprecate("backup state=%s is deprecated: use archipelago.node.backup_info, which only reads" % state,
                         version="1.0.0", collection_name="archipelago.node")
        try:
            return dict(read_backups(client, state == "verified", p["id"], p["passphrase"]), deleted=[])
        except BackupError as exc:
            module.fail_json(msg=str(exc), rpc_calls=client.calls)
    before = client.call_list("backup.list", keys=("id",), numbers=("created_at",))
    ids_before = [b["id"] for b in before]
    result = {"deleted": []}
    backups = before
    if state == "absent":
        if p["id"] not in ids_before:
            return dict(result, backups=before)
        result.update(changed=True, deleted=[p["id"]])
        if not module.check_mode:
            client.call("backup.delete", {"id": p["id"]})
    else:
        backups = list(before)
        if backup_due(before, p["max_age"], time.time()):
            result["changed"] = True
            if module.check_mode:
                backups.append({"id": "(new)", "created_at": int(time.time())})
            else:
                created = client.call_dict("backup.create", {"passphrase": p["passphrase"], "label": p["label"]},
                                           keys=("id",))
                list_reply([created], "backup.create", client.url, numbers=("created_at",))
                result["created"] = created
                result["verified"] = client.call("backup.verify", {"id": created["id"], "passphrase": p["passphrase"]})
                backups.append(created)
        prune = [b["id"] for b in to_prune(backups, p["keep"])]
        if prune:
            result.update(changed=True, deleted=prune)
            if not module.check_mode:
                for backup_id in prune:
                    client.call("backup.delete", {"id": backup_id})
    after = before if module.check_mode else client.call_list("backup.list", keys=("id",), numbers=("created_at",))
    result["backups"] = after
    if module._diff:
        planned = [b["id"] for b in backups if b["id"] not in result["deleted"]] if state == "present" \
            else [i for i in ids_before if i not in result["deleted"]]
        result["diff"] = {"before": {"backups": ids_before},
                          "after": {"backups": planned if module.check_mode else [b["id"] for b in after]}}
    return result


def main():
    spec = rpc_argument_spec()
    spec.update(state=dict(type="str", default="present", choices=["present", "verified", "absent", "listed"]),
                passphrase=dict(type="str", no_log=True), label=dict(type="str"),
                max_age=dict(type="int", default=0), keep=dict(type="int", default=0), id=dict(type="str"))
    module = NodeModule(argument_spec=spec, supports_check_mode=True,
                        required_if=[("state", "present", ["passphrase"]), ("state", "verified", ["passphrase"]),
                                     ("state", "absent", ["id"])])
    if module.params["passphrase"] is not None and len(module.params["passphrase"]) < 8:
        module.fail_json(msg="passphrase must be at least 8 characters")
    if module.params["keep"] < 0 or module.params["max_age"] < 0:
        module.fail_json(msg="keep and max_age must not be negative")
    run(module, work)


if __name__ == "__main__":
    main()
