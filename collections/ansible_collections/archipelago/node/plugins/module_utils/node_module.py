# -*- coding: utf-8 -*-
# Copyright: archipelago.node contributors
# MIT License
"""AnsibleModule for the modules that take URLs: a password written into a URL option
(http://user:password@host/) is masked in everything the module returns, including the echo of
its arguments when ansible-core itself refuses them, before any of the module's own code runs."""
from __future__ import absolute_import, division, print_function

__metaclass__ = type

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.archipelago.node.plugins.module_utils.rpc import mask_url_passwords

URL_OPTIONS = ("url", "relays")
NESTED_URL_OPTIONS = (("presence", "relays"),)


class NodeModule(AnsibleModule):
    def _mask_url_passwords(self):
        params = getattr(self, "params", None) or {}
        for name in URL_OPTIONS:
            mask_url_passwords(self, params.get(name))
        for outer, name in NESTED_URL_OPTIONS:
            if isinstance(params.get(outer), dict):
                mask_url_passwords(self, params[outer].get(name))

    def exit_json(self, **kwargs):
        self._mask_url_passwords()
        super(NodeModule, self).exit_json(**kwargs)

    def fail_json(self, msg, **kwargs):
        self._mask_url_passwords()
        super(NodeModule, self).fail_json(msg, **kwargs)
