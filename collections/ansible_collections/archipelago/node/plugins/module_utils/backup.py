# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""The backup modules' logic: whether a new backup is due, which ones to prune, and the read that
backup_info (and backup's deprecated read states) do."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type


def newest(backups):
    return max(backups, key=lambda b: (b.get("created_at") or 0, b.get("id") or "")) if backups else None


def backup_due(backups, max_age, now):
    """A new backup is due when there is none, or the newest is older than max_age seconds
    (max_age 0: always)."""
    last = newest(backups)
    return last is None or max_age <= 0 or now - (last.get("created_at") or 0) >= max_age


def to_prune(backups, keep):
    """The backups beyond the newest `keep` (keep 0: keep all)."""
    if keep <= 0:
        return []
    ordered = sorted(backups, key=lambda b: (b.get("created_at") or 0, b.get("id") or ""), reverse=True)
    return ordered[keep:]


class BackupError(Exception):
    """A request the backups on the node cannot answer; the message says what to do."""


def read_backups(client, verify=False, backup_id=None, passphrase=None):
    """The node's backups, and with verify the verification of backup_id (default the newest)."""
    backups = client.call_list("backup.list", keys=("id",), numbers=("created_at",))
    result = {"backups": backups}
    if verify:
        target = backup_id or (newest(backups) or {}).get("id")
        if not target:
            raise BackupError("there is no backup to verify")
        if target not in [b["id"] for b in backups]:
            raise BackupError("backup %s is not on the node (it has: %s)" % (
                target, ", ".join(b["id"] for b in backups) or "none"))
        result["verified"] = client.call("backup.verify", {"id": target, "passphrase": passphrase})
    return result
