#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: backup_info
short_description: List an Archipelago node's encrypted backups and verify one
version_added: 0.2.0
description:
  - Returns the node's backups (C(backup.list)). With O(verify), asks the backend to decrypt
    O(id) (or the newest backup) with O(passphrase) (C(backup.verify)) and returns the result; a
    backup that does not authenticate fails the task with the backend's message.
  - Only reads; nothing is created or deleted (M(archipelago.node.backup) does that).
extends_documentation_fragment:
  - archipelago.node.rpc
options:
  verify:
    description: Verify O(id), or the newest backup, with O(passphrase).
    type: bool
    default: false
  id:
    description: The backup to verify.
    type: str
  passphrase:
    description: The backup passphrase. Required with O(verify).
    type: str
attributes:
  check_mode:
    support: full
    description: Reads only, in check mode as in a run.
  diff_mode:
    support: none
    description: Changes nothing, so there is nothing to show.
author:
  - archipelago.node founders (@archipelago-node)
"""

EXAMPLES = r"""
- name: The node's backups
  archipelago.node.backup_info:
    password_file: /etc/archipelago/admin-password
  register: backups

- name: The newest backup decrypts with the passphrase
  archipelago.node.backup_info:
    password_file: /etc/archipelago/admin-password
    verify: true
    passphrase: "{{ vault_backup_passphrase }}"
  register: check
"""

RETURN = r"""
backups:
  description: The node's backups (id, label, size, created_at, sha256).
  returned: success
  type: list
  elements: dict
verified:
  description: The backend's verification of the backup (C(valid), C(id)).
  returned: when O(verify) is true
  type: dict
rpc_calls:
  description: The RPC methods called and their HTTP status.
  returned: always
  type: list
  elements: dict
"""

from ansible_collections.archipelago.node.plugins.module_utils.node_module import NodeModule
from ansible_collections.archipelago.node.plugins.module_utils.backup import BackupError, read_backups
from ansible_collections.archipelago.node.plugins.module_utils.common import run
from ansible_collections.archipelago.node.plugins.module_utils.rpc import rpc_argument_spec


def work(module, client):
    p = module.params
    try:
        return read_backups(client, p["verify"], p["id"], p["passphrase"])
    except BackupError as exc:
        module.fail_json(msg=str(exc), rpc_calls=client.calls)


def main():
    spec = rpc_argument_spec()
    spec.update(verify=dict(type="bool", default=False), id=dict(type="str"),
                passphrase=dict(type="str", no_log=True))
    module = NodeModule(argument_spec=spec, supports_check_mode=True,
                        required_if=[("verify", True, ["passphrase"])])
    run(module, work)


if __name__ == "__main__":
    main()
