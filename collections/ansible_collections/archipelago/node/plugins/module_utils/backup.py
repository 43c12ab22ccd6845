# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""Pure decisions of the backup module: whether a new backup is due, which ones to prune."""
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
