# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""release_prune: the staged release files a node can remove (plugin_utils/release.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.archipelago.node.plugins.plugin_utils import release


def release_prune(staged, current, keep=2):
    try:
        return release.prune(staged or [], current, keep)
    except (ValueError, KeyError, TypeError) as exc:
        raise AnsibleFilterError("release_prune: %s" % exc)


class FilterModule(object):
    def filters(self):
        return {"release_prune": release_prune}
