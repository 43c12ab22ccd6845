# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""nginx_site_harden: the node's own nginx site with the role's include lines added
(plugin_utils/nginx_site.py)."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.errors import AnsibleFilterError

from ansible_collections.archipelago.node.plugins.plugin_utils import nginx_site


def nginx_site_harden(text, server_includes, rpc_include, rpc_path="/rpc/v1"):
    try:
        return nginx_site.harden(str(text), list(server_includes), str(rpc_include), str(rpc_path))
    except nginx_site.SiteError as exc:
        raise AnsibleFilterError("nginx site: %s; nothing was changed" % exc)


class FilterModule(object):
    def filters(self):
        return {"nginx_site_harden": nginx_site_harden}
